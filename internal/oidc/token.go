package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Grant types (RFC 6749 §4, RFC 8628 §3.4).
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// tokenRequest is a token endpoint request after the shared phases: the form parsed once (every
// parameter at most once) and the client authenticated.
type tokenRequest struct {
	tenant store.Tenant
	client store.Client
	form   url.Values
}

// grantFunc is the per-grant unit: it validates what its grant type needs, decides what to issue and
// has the issuer mint it.
type grantFunc func(p *Provider, ctx context.Context, tr *tokenRequest) (*tokenResponse, error)

// grants maps every supported grant_type to its unit. A client uses only the grant types it is
// registered for.
var grants = map[string]grantFunc{
	grantAuthorizationCode: (*Provider).grantAuthorizationCode,
	grantRefreshToken:      (*Provider).grantRefreshToken,
	grantClientCredentials: (*Provider).grantClientCredentials,
	grantDeviceCode:        (*Provider).grantDeviceCode,
}

// handleToken is the token endpoint (RFC 6749 §3.2): POST, form-encoded, client-authenticated.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	resp, err := p.token(w, r)
	if err != nil {
		p.writeTokenError(w, r, err)
		return
	}
	web.NoStore(w)
	web.WriteJSON(w, http.StatusOK, resp)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, error) {
	ctx := r.Context()
	t, form, client, err := p.backChannelRequest(w, r)
	if err != nil {
		return nil, err
	}
	gt := form.Get("grant_type")
	if gt == "" {
		return nil, errInvalidRequest("grant_type is required")
	}
	grant, ok := grants[gt]
	if !ok {
		return nil, errUnsupportedGrantType("grant_type must be authorization_code, refresh_token, client_credentials or " +
			grantDeviceCode)
	}
	if !client.HasGrant(gt) {
		return nil, errUnauthorizedClient("this client is not registered for the grant_type it sent")
	}
	return grant(p, ctx, &tokenRequest{tenant: t, client: client, form: form})
}

// backChannelRequest runs the phases shared by every back-channel endpoint: the tenant, the form body
// (parsed once), and client authentication.
func (p *Provider) backChannelRequest(w http.ResponseWriter, r *http.Request) (store.Tenant, url.Values, store.Client, error) {
	t, err := p.tenant(r)
	if errors.Is(err, store.ErrNotFound) {
		return t, nil, store.Client{}, newErr("invalid_request", http.StatusNotFound, err,
			"there is no tenant at this address: check the issuer URL")
	}
	if err != nil {
		return t, nil, store.Client{}, err
	}
	form, err := readForm(w, r)
	if err != nil {
		return t, nil, store.Client{}, err
	}
	c, err := p.authenticateClient(r.Context(), r, t, form)
	return t, form, c, err
}

// maxFormBytes bounds a back-channel request body (the server may set a lower web.MaxBody).
const maxFormBytes = 64 << 10

// readForm reads an application/x-www-form-urlencoded body (RFC 6749 §3.2). Parameters in the URL query
// are ignored (credentials do not belong in URLs); a parameter sent twice is refused (§3.2: MUST NOT be
// included more than once).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, newErr("invalid_request", http.StatusRequestEntityTooLarge, err,
				fmt.Sprintf("the request body is larger than %d bytes", maxFormBytes))
		}
		return nil, newErr("invalid_request", http.StatusBadRequest, err, "the request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, newErr("invalid_request", http.StatusBadRequest, err, "the request body is not valid form encoding")
	}
	if len(form["resource"]) > 1 {
		return nil, errSeveralResources()
	}
	for name, vals := range form {
		if len(vals) > 1 {
			return nil, errRepeated(name)
		}
	}
	return form, nil
}

// revokeGrant revokes grant id (the family of refresh tokens, and the access tokens carrying its gid) in
// one transaction with its grant.revoked event and any extra events, and forgets it at once on this node.
func (p *Provider) revokeGrant(ctx context.Context, t store.Tenant, g store.Grant, actor, reason string, extra ...store.Event) error {
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		revoked, err := tx.RevokeGrant(ctx, t.ID, g.ID, p.now())
		if err != nil {
			return err
		}
		for _, e := range extra {
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		if !revoked {
			return nil
		}
		return tx.AppendEvent(ctx, events.GrantRevoked(t.ID, g.UserID, g.ClientID, g.ID, actor, reason))
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke grant: %w", err)
	}
	p.grantsRv.put(t.ID+"\x00"+g.ID, true, revokedGrantCacheTTL)
	return nil
}

// revokedGrantCacheTTL is how long a node remembers a grant it revoked itself (revocation is permanent;
// the entry only has to outlive the grant's last access token).
const revokedGrantCacheTTL = 24 * time.Hour

// activeUser loads the user a grant is about; a deleted or disabled user is invalid_grant.
func (p *Provider) activeUser(ctx context.Context, tenantID, userID string) (*store.User, error) {
	u, err := p.db.GetUser(ctx, tenantID, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, errInvalidGrant(err, "the user's account is disabled or deleted")
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	return &u, nil
}
