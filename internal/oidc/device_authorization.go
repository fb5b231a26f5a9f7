package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// deviceInterval is the polling interval a device starts with (RFC 8628 §3.2: default 5 seconds).
const deviceInterval = 5 * time.Second

// deviceAuthorizationResponse is RFC 8628 §3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// handleDeviceAuthorization is the device authorization endpoint (RFC 8628 §3.1, §3.2). The client
// authenticates with its registered method (public clients send client_id only) and must be registered
// for the device_code grant. Only hashes of the device code and the user code are stored.
func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	resp, err := p.deviceAuthorization(w, r)
	if err != nil {
		p.writeTokenError(w, r, err)
		return
	}
	web.NoStore(w)
	web.WriteJSON(w, http.StatusOK, resp)
}

func (p *Provider) deviceAuthorization(w http.ResponseWriter, r *http.Request) (*deviceAuthorizationResponse, error) {
	ctx := r.Context()
	t, form, c, err := p.backChannelRequest(w, r)
	if err != nil {
		return nil, err
	}
	if !c.HasGrant(grantDeviceCode) {
		return nil, errUnauthorizedClient("this client is not registered for grant_type " + grantDeviceCode)
	}
	scopes, ok := parseScope(form.Get("scope"))
	if !ok {
		return nil, errInvalidScope("scope is malformed")
	}
	if bad := disallowedScopes(c, scopes); bad != nil {
		return nil, errInvalidScope("this client may not request one of these scopes: request only scopes registered for the client")
	}
	ipKey := clientIPKey(r)
	if err := p.deviceCodesFull(ctx, t.ID, c.ClientID, ipKey); err != nil {
		return nil, err
	}
	now := p.now()
	ttl := t.Settings.DeviceCodeTTLD()
	deviceCode := keys.NewToken()
	var userCode string
	// A user code is 34 bits: a collision with a live code of the tenant is rare, and answered by drawing again.
	for attempt := 0; ; attempt++ {
		userCode = keys.NewUserCode()
		d := store.DeviceCode{TenantID: t.ID, DeviceCodeHash: keys.HashToken(deviceCode),
			UserCodeHash: keys.HashToken(keys.NormalizeUserCode(userCode)), ClientID: c.ClientID, Scopes: scopes,
			Status: store.DevicePending, Interval: deviceInterval, CreatedAt: now, ExpiresAt: now.Add(ttl), IPKey: ipKey}
		err = p.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateDeviceCode(ctx, d); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, events.DeviceCodeIssued(t.ID, c.ClientID, scopes))
		})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return nil, fmt.Errorf("create device code: %w", err)
		}
	}
	verify := p.issuer(t.ID) + "/device"
	return &deviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: userCode, VerificationURI: verify,
		VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(userCode),
		ExpiresIn:               int64(ttl / time.Second), Interval: int64(deviceInterval / time.Second),
	}, nil
}
