package login

import (
	"context"
	"errors"
	"net/http"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Sign-in against an LDAP directory or Active Directory. The sign-in page stays the same: an address
// at a domain an LDAP connection lists goes to that directory, and so does an address without a local
// password when a connection has fallback: true. The attempt counts on the same budgets as a local
// password (a throttled attempt never reaches the directory). In federated mode the directory checks
// every sign-in and keeps the profile it maps; in import mode the first good bind moves the user in with
// that password and every later sign-in is local.

// directoryFor is the LDAP connection of cs (the tenant's) that checks the password of email, if any.
func (p *Pages) directoryFor(ctx context.Context, t store.Tenant, cs []config.Connection, email string) (config.Connection, bool, error) {
	routed, ok := routedConnection(cs, email)
	if ok && routed.Type != config.ConnLDAP {
		return config.Connection{}, false, nil
	}
	var fallback *config.Connection
	if !ok {
		for i := range cs {
			if cs[i].Type == config.ConnLDAP && cs[i].Fallback {
				fallback = &cs[i]
				break
			}
		}
		if fallback == nil {
			return config.Connection{}, false, nil
		}
	}
	c := routed
	if fallback != nil {
		c = *fallback
	}
	// An account with a local password signs in locally: one imported already, and (for a fallback) any
	// account of this tenant's own.
	if c.ModeOr() == config.LDAPImport || fallback != nil {
		u, err := p.identity.FindUserByEmail(ctx, t.ID, email)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return c, false, err
		default:
			if has, err := p.db.HasPassword(ctx, t.ID, u.ID); err != nil || has {
				return c, false, err
			}
		}
	}
	return c, true, nil
}

// directorySignIn checks email and password against directory c and signs the person in.
func (p *Pages) directorySignIn(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, c config.Connection,
	email, password string) {
	ctx := r.Context()
	conn, ok := p.connector(w, r, t, c.ID)
	if !ok {
		return
	}
	pc := conn.PasswordChecker()
	if pc == nil {
		p.noConnection(w, r, t)
		return
	}
	var who federation.Identity
	var dirErr error
	ip := web.ClientIP(r)
	u, err := p.identity.Login(ctx, identity.LoginAttempt{TenantID: t.ID, Email: email, Password: password, IP: ip,
		DeviceID: p.deviceID(r, t.ID), External: func(ctx context.Context) (bool, error) {
			if len(password) > maxPasswordLen {
				return false, nil
			}
			who, dirErr = pc.Authenticate(ctx, email, password)
			if errors.Is(dirErr, federation.ErrBadCredentials) {
				return false, nil
			}
			return dirErr == nil, dirErr
		}})
	var te *identity.ThrottledError
	switch {
	case errors.Is(err, federation.ErrUnavailable):
		p.upstreamFailed(w, r, t, c, err)
		return
	case errors.As(err, &te), errors.Is(err, identity.ErrInvalidCredentials):
		p.metrics.Login("failure")
		p.recordRiskFailure(ctx, r, t, email)
		p.log.InfoContext(ctx, "directory sign-in failed", "tenant", t.ID, "connection", c.ID, "client_ip", ip,
			"request_id", web.RequestIDFrom(ctx))
		p.renderLogin(w, r, t, lr, http.StatusUnprocessableEntity, email,
			web.PageData{Error: msgBadCredentials, Data: loginData{CredentialsError: true}})
		return
	case err != nil:
		p.serverError(w, r, t, err)
		return
	}
	if c.ModeOr() == config.LDAPImport {
		up, err := p.upstreamOf(t, c, who)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		var existing *store.User
		if u.ID != "" {
			existing = &u
		}
		u, err = p.identity.ImportFromDirectory(ctx, t, existing, up, password)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		p.log.InfoContext(ctx, "directory user moved in", "tenant", t.ID, "connection", c.ID, "user_id", u.ID)
		p.federatedDone(w, r, t, lr, c, u, []string{session.MethodPassword})
		return
	}
	p.federatedSignIn(w, r, t, lr, c, who, []string{session.MethodPassword})
}
