package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Sign-in codes: six digits sent by email or SMS, valid for 10 minutes, used once, stored only as a hash
// bound to their flow, at most MaxCodeFailures wrong tries per flow (CheckCode) and a few sends per flow.

// SignInCodeTTL is how long a sent sign-in code is valid.
const SignInCodeTTL = 10 * time.Minute

// maxCodeSends bounds the codes one flow sends ("send again").
const maxCodeSends = 5

// ErrTooManySends: the flow sent as many codes as it may; the user starts again.
var ErrTooManySends = errors.New("identity: too many codes sent for this sign-in")

// Channels a sign-in code goes through.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// SMSSender queues an SMS in the caller's transaction (the server wires the outbox; nil: SMS codes are
// not available).
type SMSSender func(ctx context.Context, tx *store.Tx, tenantID, userID, to, body string, now time.Time) error

// CodeSend is one sign-in code to send for flow Flow.
type CodeSend struct {
	Tenant  store.Tenant
	Flow    store.Flow
	Channel string // ChannelEmail or ChannelSMS
	To      string // the address or the E.164 number
	Lang    string
	// LinkBase, when set, makes the email a passwordless sign-in link (LinkBase + secret) with the code.
	LinkBase string
	// SMSText makes a text message of the code in the user's language (the pages' catalogue); nil: "<code>".
	SMSText func(code string) string
}

// SendSignInCode makes a new code (and link) for the flow, replacing the previous one, and queues it in
// the same transaction. The per-address email limit of registration applies to email, and each flow sends
// at most five codes (ErrTooManySends).
func (s *Service) SendSignInCode(ctx context.Context, c CodeSend) error {
	now := s.now()
	t, f := c.Tenant, c.Flow
	th, err := s.db.AddWindowFailure(ctx, t.ID, "send:"+f.ID, now, now.Add(-SignInCodeTTL*2))
	if err != nil {
		return fmt.Errorf("send code: %w", err)
	}
	if th.Failures > maxCodeSends {
		return ErrTooManySends
	}
	if c.Channel == ChannelEmail {
		norm, _ := NormalizeEmail(c.To)
		if err := s.countEmail(ctx, t, norm, now); err != nil {
			return err
		}
	}
	if c.Channel == ChannelSMS && s.SendSMS == nil {
		return fmt.Errorf("send code: no SMS provider is configured")
	}
	code := newCode()
	var link string
	var linkHash []byte
	if c.LinkBase != "" {
		link = keys.NewToken()
		linkHash = keys.HashToken(link)
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetFlowCode(ctx, t.ID, f.ID, codeHash(f.ID, code), linkHash, now); err != nil {
			return err
		}
		if f.UserID == "" { // a decoy for an unknown address: nothing is sent, and it looks the same
			return nil
		}
		switch {
		case c.Channel == ChannelSMS:
			body := code
			if c.SMSText != nil {
				body = c.SMSText(code)
			}
			return s.SendSMS(ctx, tx, t.ID, f.UserID, c.To, body, now)
		case link != "":
			return s.enqueue(ctx, tx, t.ID, f.UserID, events.SignInLinkEmail(c.To, c.Lang, c.LinkBase+link, code), now)
		default:
			return s.enqueue(ctx, tx, t.ID, f.UserID, events.SignInCodeEmail(c.To, c.Lang, code), now)
		}
	})
}

// SignInFlow returns a usable flow of kind (store.FlowMFA or store.FlowEmailLogin) of this browser, or
// ErrFlowInvalid.
func (s *Service) SignInFlow(ctx context.Context, kind, tenantID, id string, browserHash []byte) (store.Flow, error) {
	return s.flowOfKind(ctx, kind, tenantID, id, browserHash)
}

// SignInFlowByLink returns the pending passwordless flow whose emailed link secret is link, or
// ErrFlowInvalid.
func (s *Service) SignInFlowByLink(ctx context.Context, tenantID, link string) (store.Flow, error) {
	return s.flowByLinkOfKind(ctx, store.FlowEmailLogin, tenantID, link)
}

// StartEmailLogin starts a passwordless sign-in for the address: a flow bound to this browser that sends a
// link and a code when the address has an account that may sign in, and a decoy that sends nothing when
// it has not, so the page never tells whether an account exists.
func (s *Service) StartEmailLogin(ctx context.Context, t store.Tenant, email string, browserHash []byte, lrID string) (store.Flow, store.User, error) {
	now := s.now()
	f := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowEmailLogin, State: store.FlowPending,
		BrowserHash: browserHash, LoginRequestID: lrID, CreatedAt: now, ExpiresAt: now.Add(SignInCodeTTL)}
	norm, err := NormalizeEmail(email)
	if err != nil {
		return f, store.User{}, err
	}
	u, err := s.db.GetUserByEmail(ctx, t.ID, norm)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return f, u, err
	case !u.Disabled:
		f.UserID, f.Email = u.ID, u.Email
	}
	if err := s.db.CreateFlow(ctx, f); err != nil {
		return f, u, fmt.Errorf("start email sign-in: %w", err)
	}
	return f, u, nil
}

// UseSignInFlow ends flow f once its code or link proved the address or phone (in state pending →
// done); store.ErrConflict when it was used meanwhile.
func (s *Service) UseSignInFlow(ctx context.Context, f store.Flow) error {
	return s.db.SetFlowState(ctx, f.TenantID, f.ID, store.FlowPending, store.FlowDone, s.now())
}
