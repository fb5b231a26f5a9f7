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

// KindEmail sends one email to a person. Its payload is an Email.
const KindEmail = "email"

// Email is the payload of a KindEmail message: a template of notify and its arguments, rendered when the
// message is delivered, so the row holds no more than the notice needs. The arguments wait in the
// database until then and reach the recipient in clear: never put a secret (a token, a code) in them.
type Email struct {
	To       string   `json:"to"`
	Lang     string   `json:"lang,omitempty"` // empty: English
	Template string   `json:"template"`
	Args     []string `json:"args,omitempty"`
}

// EnqueueEmail writes, in tx, the message that sends e to userID (empty for an address without an
// account). Call it in the transaction of the change the email tells of, so that it is sent exactly when
// that change is committed. Deleting the user withdraws the email while it waits.
func EnqueueEmail(ctx context.Context, tx *store.Tx, tenantID, userID string, e Email, now time.Time) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	return tx.EnqueueOutbox(ctx, store.OutboxMessage{TenantID: tenantID, Kind: KindEmail, UserID: userID,
		Payload: payload, CreatedAt: now, NextAttemptAt: now})
}

// EnqueueAccountAttackNotice writes, in tx, the email that tells userID's owner that an attack episode
// started on the account (account.attack_detected). Only a verified address is told: a notice to an
// address nobody confirmed could tell a stranger that the account exists. A user without one, or deleted
// since, gets nothing.
func EnqueueAccountAttackNotice(ctx context.Context, tx *store.Tx, tenantID, userID string, now time.Time) error {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue attack notice: %w", err)
	}
	if u.Email == "" || !u.EmailVerified {
		return nil
	}
	t, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("enqueue attack notice: %w", err)
	}
	name := t.Name
	if name == "" {
		name = t.ID
	}
	return EnqueueEmail(ctx, tx, tenantID, userID, Email{To: u.Email, Template: notify.TemplateAccountAttack,
		Args: []string{name, u.Email}}, now)
}

// errEmailOff is why an email is not sent when no relay is configured.
var errEmailOff = fmt.Errorf("email is off (smtp.host is not set): %w", ErrUndeliverable)

// DeliverEmail returns the Deliverer of KindEmail messages: each is rendered in its language and sent
// through m. With m nil (no smtp.host) every email is given up at once, so that outbox.failed events show
// what could not be told. A relay's refusal for good (notify.ErrPermanent) is given up too; anything
// else is retried.
func DeliverEmail(m *notify.Mailer) Deliverer {
	return func(ctx context.Context, msg store.OutboxMessage) error {
		if m == nil {
			return errEmailOff
		}
		var e Email
		if err := json.Unmarshal(msg.Payload, &e); err != nil {
			return fmt.Errorf("email payload: %w: %w", err, ErrUndeliverable)
		}
		rendered, err := notify.Render(e.Lang, e.Template, e.To, e.Args...)
		if err == nil {
			err = m.Send(ctx, rendered)
		}
		if errors.Is(err, notify.ErrPermanent) {
			return fmt.Errorf("%w: %w", err, ErrUndeliverable)
		}
		return err
	}
}
