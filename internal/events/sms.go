package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// KindSMS sends one text message. Its payload is an SMS sealed like an email's (a code is a secret).
const KindSMS = "sms"

// SMSRetryFor is how long a text message is retried: a sign-in code is worth nothing after 10 minutes.
const SMSRetryFor = 10 * time.Minute

// smsAAD binds a sealed text message to its tenant.
func smsAAD(tenantID string) []byte { return []byte("umm outbox sms|" + tenantID) }

// EnqueueSMS writes, in tx, the message that texts body to the E.164 number to for userID, sealed with
// seal. The outbox row's id is the message's id at the provider, so a retry is recognisable as one.
func EnqueueSMS(ctx context.Context, tx *store.Tx, seal SealFunc, tenantID, userID, to, body, purpose string, now time.Time) error {
	if seal == nil {
		return errors.New("enqueue sms: no seal function")
	}
	plain, err := json.Marshal(notify.SMS{To: to, Body: body, TenantID: tenantID, Purpose: purpose})
	if err != nil {
		return fmt.Errorf("enqueue sms: %w", err)
	}
	sealed, err := seal(plain, smsAAD(tenantID))
	if err != nil {
		return fmt.Errorf("enqueue sms: %w", err)
	}
	payload, err := json.Marshal(emailPayload{Sealed: sealed})
	if err != nil {
		return fmt.Errorf("enqueue sms: %w", err)
	}
	return tx.EnqueueOutbox(ctx, store.OutboxMessage{TenantID: tenantID, Kind: KindSMS, UserID: userID,
		Payload: payload, CreatedAt: now, NextAttemptAt: now})
}

// DeliverSMS delivers KindSMS messages through s, opening them with open.
func DeliverSMS(s notify.SMSSender, open OpenFunc) Deliverer {
	return func(ctx context.Context, msg store.OutboxMessage) error {
		var p emailPayload
		if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Sealed) == 0 {
			return fmt.Errorf("sms payload is not sealed: %w", ErrUndeliverable)
		}
		plain, err := open(p.Sealed, smsAAD(msg.TenantID))
		if err != nil {
			return fmt.Errorf("sms payload: %w: %w", err, ErrUndeliverable)
		}
		var m notify.SMS
		if err := json.Unmarshal(plain, &m); err != nil {
			return fmt.Errorf("sms payload: %w: %w", err, ErrUndeliverable)
		}
		m.ID = fmt.Sprintf("msg_%s_%d", msg.TenantID, msg.ID)
		err = s.SendSMS(ctx, m)
		if errors.Is(err, notify.ErrPermanent) {
			return fmt.Errorf("%w: %w", err, ErrUndeliverable)
		}
		return err
	}
}
