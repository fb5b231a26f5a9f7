package events

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// KindEmail sends one email to a person. Its payload is an Email, sealed (emailPayload).
const KindEmail = "email"

// EmailRetryFor is how long a KindEmail message is retried before it is given up with outbox.failed.
const EmailRetryFor = 24 * time.Hour

// Email is what a KindEmail message sends: a notify message type, its language and variables, rendered
// when the message is delivered. Variables may be secrets (a verification link, a code): the whole Email
// is sealed with the keyring's AEAD before it is stored, so the outbox never holds them in clear.
type Email struct {
	To   string            `json:"to"`
	From string            `json:"from,omitempty"` // the tenant's sender (settings.email_from); empty: email.from
	Lang string            `json:"lang,omitempty"` // empty: the tenant's default_locale, else English
	Type string            `json:"type"`
	Vars map[string]string `json:"vars,omitempty"`
	// Brand and Texts are the tenant's branding and its own email texts (tenants[].messages, keys
	// "email.*") as they were when the email was queued, so that it is rendered the way the tenant's
	// pages looked at that moment. EnqueueEmail fills them.
	Brand notify.Brand                 `json:"brand,omitzero"`
	Texts map[string]map[string]string `json:"texts,omitempty"`
}

// SealFunc encrypts plain, bound to aad (keys.Keyring.Seal); OpenFunc reverses it (keys.Keyring.Open).
// events does not import keys: the core passes the seal when it enqueues, and server wires the opener
// into the dispatcher.
type (
	SealFunc func(plain, aad []byte) ([]byte, error)
	OpenFunc func(sealed, aad []byte) ([]byte, error)
)

// emailPayload is the stored form of a KindEmail message.
type emailPayload struct {
	Sealed []byte `json:"sealed"` // the Email's JSON, sealed with emailAAD
}

// emailAAD binds a sealed email to its tenant: a row moved to another tenant does not open.
func emailAAD(tenantID string) []byte { return []byte("umm outbox email|" + tenantID) }

// EnqueueEmail writes, in tx, the message that sends e to userID (empty for an address without an
// account), sealed with seal. Call it in the transaction of the change the email tells of, so that it is
// sent exactly when that change is committed. The tenant's name fills the variable "tenant" when it is
// not set, and the tenant's sender (settings.email_from) e.From. Deleting the user withdraws the email
// while it waits.
func EnqueueEmail(ctx context.Context, tx *store.Tx, seal SealFunc, tenantID, userID string, e Email, now time.Time) error {
	if seal == nil {
		return errors.New("enqueue email: no seal: the outbox must not hold an email in clear")
	}
	t, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	look := t.Settings.Look
	if e.Lang == "" {
		e.Lang = look.DefaultLocale
	}
	b := look.Branding
	e.Brand = notify.Brand{Name: b.DisplayName, LogoURL: b.LogoURL, Color: b.PrimaryColor, SupportEmail: b.SupportEmail}
	e.Texts = emailOverrides(look.MessageTable())
	if _, ok := e.Vars["tenant"]; !ok {
		v := map[string]string{"tenant": cmp.Or(b.DisplayName, t.Name, t.ID)}
		for k, s := range e.Vars {
			v[k] = s
		}
		e.Vars = v
	}
	if e.From == "" {
		e.From = t.Settings.EmailFrom
	}
	plain, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	sealed, err := seal(plain, emailAAD(tenantID))
	if err != nil {
		return fmt.Errorf("enqueue email: seal: %w", err)
	}
	payload, err := json.Marshal(emailPayload{Sealed: sealed})
	if err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	return tx.EnqueueOutbox(ctx, store.OutboxMessage{TenantID: tenantID, Kind: KindEmail, UserID: userID,
		Payload: payload, CreatedAt: now, NextAttemptAt: now})
}

// emailOverrides keeps the tenant's overrides of email texts ("email.*"), the only ones an email uses.
func emailOverrides(all map[string]map[string]string) map[string]map[string]string {
	var out map[string]map[string]string
	for lang, m := range all {
		for k, v := range m {
			if !strings.HasPrefix(k, "email.") {
				continue
			}
			if out == nil {
				out = map[string]map[string]string{}
			}
			if out[lang] == nil {
				out[lang] = map[string]string{}
			}
			out[lang][k] = v
		}
	}
	return out
}

// OpenEmail returns the Email of a KindEmail message. A payload that does not open (tampered, or sealed
// under a master key no longer configured) is ErrUndeliverable.
func OpenEmail(open OpenFunc, m store.OutboxMessage) (Email, error) {
	var p emailPayload
	var e Email
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Sealed) == 0 {
		return e, fmt.Errorf("email payload is not sealed: %w", ErrUndeliverable)
	}
	plain, err := open(p.Sealed, emailAAD(m.TenantID))
	if err != nil {
		return e, fmt.Errorf("email payload: %w: %w", err, ErrUndeliverable)
	}
	if err := json.Unmarshal(plain, &e); err != nil {
		return e, fmt.Errorf("email payload: %w: %w", err, ErrUndeliverable)
	}
	return e, nil
}

// EnqueueAccountAttackNotice writes, in tx, the email that tells userID's owner that an attack episode
// started on the account (account.attack_detected), in lang, else the language of the user's locale,
// else the tenant's default. Only a verified address is told: a notice to an
// address nobody confirmed could tell a stranger that the account exists. A user without one, or deleted
// since, gets nothing.
func EnqueueAccountAttackNotice(ctx context.Context, tx *store.Tx, seal SealFunc, tenantID, userID, lang string, now time.Time) error {
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
	if lang == "" {
		lang = userLanguage(u)
	}
	return EnqueueEmail(ctx, tx, seal, tenantID, userID, Email{To: u.Email, Lang: lang, Type: notify.TypeAccountAttack,
		Vars: map[string]string{"address": u.Email}}, now)
}

// userLanguage is the shipped language of the user's locale claim, or "" (the tenant's default).
func userLanguage(u store.User) string {
	l, _ := u.Profile.Claims["locale"].(string)
	return notify.Language(l)
}

// EmailSender delivers one rendered email: *notify.Mailer through the relay, *notify.DevMailer into
// files.
type EmailSender interface {
	Send(ctx context.Context, e notify.Email) error
}

var (
	_ EmailSender = (*notify.Mailer)(nil)
	_ EmailSender = (*notify.DevMailer)(nil)
)

// DeliverEmail returns the Deliverer of KindEmail messages: each is opened with open, rendered in its
// language by r and sent through s. What can never be sent (a payload that does not open, an unknown
// type, a relay's refusal for good: notify.ErrPermanent) is given up at once; anything else is retried.
func DeliverEmail(s EmailSender, r *notify.Renderer, open OpenFunc) Deliverer {
	return func(ctx context.Context, msg store.OutboxMessage) error {
		e, err := OpenEmail(open, msg)
		if err != nil {
			return err
		}
		rendered, err := r.Render(notify.Message{Type: e.Type, Lang: e.Lang, To: e.To, From: e.From,
			TenantID: msg.TenantID, Vars: e.Vars, Brand: e.Brand, Texts: e.Texts})
		if err == nil {
			err = s.Send(ctx, rendered)
		}
		if errors.Is(err, notify.ErrPermanent) {
			return fmt.Errorf("%w: %w", err, ErrUndeliverable)
		}
		return err
	}
}
