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

// NotMeTTL is how long the "This wasn't me" link of a new sign-in email works.
const NotMeTTL = 7 * 24 * time.Hour

// NewSignIn is a sign-in from a browser the account never used, told to its owner.
type NewSignIn struct {
	Tenant store.Tenant
	User   store.User
	Device string // the browser in words ("Firefox on Linux")
	IP     string
	Lang   string
	// LinkBase + the link secret is the "This wasn't me" link.
	LinkBase string
}

// NoticeNewSignIn queues, in tx, the "New sign-in" email of n with a "This wasn't me" link (a flow whose
// link hash alone is stored). Only a verified address is told.
func (s *Service) NoticeNewSignIn(ctx context.Context, tx *store.Tx, n NewSignIn, now time.Time) error {
	u := n.User
	if u.Email == "" || !u.EmailVerified {
		return nil
	}
	link := keys.NewToken()
	f := store.Flow{TenantID: n.Tenant.ID, ID: keys.NewID(), Kind: store.FlowNotMe, State: store.FlowPending, UserID: u.ID,
		Email: u.Email, LinkHash: keys.HashToken(link), CreatedAt: now, ExpiresAt: now.Add(NotMeTTL)}
	if err := tx.CreateFlow(ctx, f); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, n.Tenant.ID, u.ID, events.NewSignInEmail(u.Email, n.Lang, n.Device, n.IP, n.LinkBase+link), now)
}

// NotMeFlow returns the pending "This wasn't me" flow of link, or ErrFlowInvalid.
func (s *Service) NotMeFlow(ctx context.Context, tenantID, link string) (store.Flow, error) {
	return s.flowByLinkOfKind(ctx, store.FlowNotMe, tenantID, link)
}

// NotMe answers "This wasn't me" for flow f: every session and grant of the account ends, no browser skips
// the second factor any more, and a password recovery starts for this browser (in.Email is filled from the
// account). It returns the recovery flow's id.
func (s *Service) NotMe(ctx context.Context, t store.Tenant, f store.Flow, in Recovery) (string, error) {
	now := s.now()
	u, err := s.db.GetUser(ctx, t.ID, f.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrFlowInvalid
	}
	if err != nil {
		return "", err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetFlowState(ctx, t.ID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
			return err
		}
		ids, err := tx.ListUserSessions(ctx, t.ID, u.ID, now)
		if err != nil {
			return err
		}
		if err := EndSessionsAndGrants(ctx, tx, t.ID, u.ID, u.ID, events.ReasonRevoked, "not_me", now); err != nil {
			return err
		}
		if err := tx.ForgetMFADevices(ctx, t.ID, u.ID); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.NotMe(t.ID, u.ID, in.IP, len(ids)), now))
	})
	if errors.Is(err, store.ErrConflict) {
		return "", ErrFlowInvalid
	}
	if err != nil {
		return "", fmt.Errorf("not me: %w", err)
	}
	in.Email = u.Email
	return s.StartRecovery(ctx, t, in)
}
