package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// errDeviceRaced: another poll redeemed the approved device code first.
var errDeviceRaced = errors.New("device code redeemed concurrently")

// grantDeviceCode answers a device's poll (RFC 8628 §3.4, §3.5): authorization_pending while the user has
// not decided, slow_down (and a 5 s longer interval) when polled faster than the interval, access_denied,
// expired_token, and tokens exactly once after approval.
func (p *Provider) grantDeviceCode(ctx context.Context, tr *tokenRequest) (*tokenResponse, error) {
	t, c := tr.tenant, tr.client
	code := tr.form.Get("device_code")
	switch {
	case code == "":
		return nil, errInvalidRequest("device_code is required")
	case len(code) > maxCodeLen:
		return nil, errInvalidGrant(nil, "the device code is invalid")
	}
	hash := keys.HashToken(code)
	d, err := p.db.GetDeviceCode(ctx, t.ID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant(err, "the device code is invalid: start a new device authorization request")
	}
	if err != nil {
		return nil, err
	}
	now := p.now()
	switch {
	case d.ClientID != c.ClientID:
		return nil, errInvalidGrant(nil, "the device code was issued to another client")
	case !now.Before(d.ExpiresAt):
		return nil, errExpiredToken()
	}
	switch d.Status {
	case store.DevicePending:
		slow, err := p.db.PollDeviceCode(ctx, t.ID, hash, now)
		if err != nil {
			return nil, err
		}
		if slow {
			return nil, errSlowDown(int((d.Interval + 5*time.Second) / time.Second))
		}
		return nil, errAuthorizationPending()
	case store.DeviceDenied:
		return nil, errAccessDenied("the user denied the authorization request")
	case store.DeviceApproved:
	default: // redeemed
		return nil, errInvalidGrant(nil, "the device code was already used: start a new device authorization request")
	}

	user, err := p.activeUser(ctx, t.ID, d.UserID)
	if err != nil {
		return nil, err
	}
	grant := store.Grant{TenantID: t.ID, ID: keys.NewID(), ClientID: c.ClientID, UserID: d.UserID, SessionID: d.SessionID,
		Scopes: d.Scopes, AuthTime: d.AuthTime, AMR: d.AMR, ACR: d.ACR, CreatedAt: now}
	a := &authorization{
		grantType: grantDeviceCode, client: c, subject: d.UserID, user: user, scopes: d.Scopes, grantID: grant.ID,
		sessionID: d.SessionID, authTime: d.AuthTime, amr: d.AMR, acr: d.ACR,
	}
	p.setGrantLifetime(t, c, &grant, a, now)
	a.persist = func(ctx context.Context, tx *store.Tx) error {
		if err := tx.RedeemDeviceCode(ctx, t.ID, hash); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errDeviceRaced
			}
			return err
		}
		if err := tx.CreateGrant(ctx, grant); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.GrantCreated(t.ID, grant.UserID, c.ClientID, grant.ID, grant.Scopes))
	}
	resp, err := p.issue(ctx, t, a)
	if errors.Is(err, errDeviceRaced) {
		return nil, errInvalidGrant(err, "the device code was already used: start a new device authorization request")
	}
	return resp, err
}
