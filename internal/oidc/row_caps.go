package oidc

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Rows that anonymous requests create are capped, so that hammering /authorize or /device_authorization
// grows the database by a bounded amount: pending login requests per client IP (refused beyond the cap)
// and per browser (the oldest give way), pending device codes per client IP and per client (refused).
// Expired rows are deleted by the garbage collector. Counts and inserts are separate statements, so
// concurrent requests may pass a cap by the number in flight; the bound holds all the same.

// rowCaps are the security.pending_* settings, defaulted when unset.
type rowCaps struct {
	loginPerIP, loginPerBrowser, devicePerIP, devicePerClient int
}

func capsOf(sec config.Security) rowCaps {
	d := config.Default().Security
	or := func(n, def int) int {
		if n > 0 {
			return n
		}
		return def
	}
	return rowCaps{
		loginPerIP:      or(sec.PendingLoginRequestsPerIP, d.PendingLoginRequestsPerIP),
		loginPerBrowser: or(sec.PendingLoginRequestsPerBrowser, d.PendingLoginRequestsPerBrowser),
		devicePerIP:     or(sec.PendingDeviceCodesPerIP, d.PendingDeviceCodesPerIP),
		devicePerClient: or(sec.PendingDeviceCodesPerClient, d.PendingDeviceCodesPerClient),
	}
}

// capRetryAfter is the Retry-After of a refusal: pending rows expire within their TTL, and a minute is a
// reasonable time to wait for some of them.
const capRetryAfter = time.Minute

// loginRequestsFull reports whether the client IP of r already has its cap of pending login requests in
// tenant t; then it has answered 429 (a page: a browser is on the other end).
func (p *Provider) loginRequestsFull(w http.ResponseWriter, r *http.Request, t store.Tenant, ipKey string) (bool, error) {
	n, err := p.db.CountPendingLoginRequests(r.Context(), t.ID, ipKey, p.now())
	if err != nil {
		return false, fmt.Errorf("count login requests: %w", err)
	}
	if n < p.caps.loginPerIP {
		return false, nil
	}
	p.log.InfoContext(r.Context(), "pending login requests capped", "tenant", t.ID, "ip_key", ipKey,
		"request_id", web.RequestIDFrom(r.Context()))
	web.TooManyRequests(w, r, capRetryAfter)
	return true, nil
}

// trimBrowserRequests keeps the browser's newest pending login requests within its cap.
func (p *Provider) trimBrowserRequests(ctx context.Context, tenantID string, browserHash []byte, newID string) error {
	if len(browserHash) == 0 {
		return nil
	}
	if _, err := p.db.TrimBrowserLoginRequests(ctx, tenantID, browserHash, newID, p.caps.loginPerBrowser); err != nil {
		return fmt.Errorf("trim login requests: %w", err)
	}
	return nil
}

// deviceCodesFull returns a slow_down error (429) when the client or the client IP already hold their cap
// of pending device codes.
func (p *Provider) deviceCodesFull(ctx context.Context, tenantID, clientID, ipKey string) error {
	byClient, byIP, err := p.db.CountPendingDeviceCodes(ctx, tenantID, clientID, ipKey, p.now())
	if err != nil {
		return fmt.Errorf("count device codes: %w", err)
	}
	if byClient >= p.caps.devicePerClient || byIP >= p.caps.devicePerIP {
		e := newErr("slow_down", http.StatusTooManyRequests, nil,
			"too many pending device authorization requests: retry after 60 seconds")
		e.RetryAfter = int(capRetryAfter / time.Second)
		return e
	}
	return nil
}

// clientIPKey is the key r's client is capped under (IPv6: its /64).
func clientIPKey(r *http.Request) string { return identity.IPKey(web.ClientIP(r)) }
