package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// msgBadUserCode answers a user code that is unknown, expired or used, alike.
const msgBadUserCode = "device.error.bad_code"

// deviceData is the Data of device.html (the code entry form).
type deviceData struct {
	Action   string
	UserCode string
}

// deviceApproveData is the Data of device_approve.html.
type deviceApproveData struct {
	allowOrDenyData
	UserCode string // as shown on the device: BCDF-GHJK
}

// handleDevice is GET /t/{tenant}/device: the code entry form (?user_code= prefills it, RFC 8628 §3.3.1:
// the user still confirms), or with ?lr= the approve page or its outcome.
func (p *Pages) handleDevice(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Has("lr") {
		p.deviceRequestPage(w, r, t)
		return
	}
	code := strings.TrimSpace(r.URL.Query().Get("user_code"))
	if len(code) > maxUserCodeLen {
		code = ""
	}
	p.renderDeviceForm(w, r, t, http.StatusOK, code, "")
}

// handleDeviceSubmit is POST /t/{tenant}/device: the code entry form, or with ?lr= the decision.
func (p *Pages) handleDeviceSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	if r.URL.Query().Has("lr") {
		p.deviceDecision(w, r, t)
		return
	}
	p.deviceCodeEntry(w, r, t)
}

// deviceCodeEntry checks the typed user code and hands the browser to sign-in (or, with a session,
// to the complete-profile page when it has fields to ask, else straight to the approve page) through a
// device-kind login request.
func (p *Pages) deviceCodeEntry(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	ctx := r.Context()
	ip := web.ClientIP(r)
	raw := strings.TrimSpace(r.PostFormValue("user_code"))
	if p.deviceThrottled(w, r, t, raw, p.identity.CheckIP(ctx, t.ID, identity.ScopeDevice, ip)) {
		return
	}
	code := keys.NormalizeUserCode(raw)
	if code == "" {
		p.renderDeviceForm(w, r, t, http.StatusUnprocessableEntity, raw, "device.error.code_missing")
		return
	}
	var dc store.DeviceCode
	err := store.ErrNotFound
	if len(raw) <= maxUserCodeLen {
		dc, err = p.db.GetDeviceCodeByUserCode(ctx, t.ID, keys.HashToken(code))
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.serverError(w, r, t, fmt.Errorf("find device code: %w", err))
		return
	}
	if err != nil || dc.Status != store.DevicePending || !p.now().Before(dc.ExpiresAt) {
		// Every wrong code counts against the IP: user codes are short enough to be guessed otherwise.
		if p.deviceThrottled(w, r, t, raw, p.identity.FailIP(ctx, t.ID, identity.ScopeDevice, ip)) {
			return
		}
		p.log.InfoContext(ctx, "device code refused", "tenant", t.ID, "client_ip", ip, "request_id", web.RequestIDFrom(ctx))
		p.renderDeviceForm(w, r, t, http.StatusUnprocessableEntity, raw, msgBadUserCode)
		return
	}

	s, u, signedIn, err := p.signedInUser(ctx, r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	// A session is enough only when the profile has nothing to ask for the client (nextStep).
	askProfile := false
	if signedIn {
		client, err := p.db.GetClient(ctx, t.ID, dc.ClientID)
		if err != nil {
			p.serverError(w, r, t, fmt.Errorf("device client: %w", err))
			return
		}
		askProfile = !p.askProfile(ctx, t, u, client).Empty()
	}
	now := p.now()
	lr := store.LoginRequest{
		TenantID: t.ID, ID: keys.NewID(), Kind: store.LoginKindDevice, ClientID: dc.ClientID,
		Params: store.AuthorizeParams{Scopes: dc.Scopes, MaxAge: -1, DeviceUserCodeHash: dc.UserCodeHash,
			Lang: web.Lang(r, "", t.Settings.Look.DefaultLocale)},
		BrowserHash: p.sessions.BrowserHash(w, r, t.ID), CreatedAt: now,
		ExpiresAt: now.Add(t.Settings.LoginRequestTTLD()),
	}
	lr.Params.DeviceUserCodeSealed, err = p.keyring.Seal([]byte(code), userCodeAAD(t.ID, lr.ID))
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("seal user code: %w", err))
		return
	}
	if dc.ExpiresAt.Before(lr.ExpiresAt) { // no longer than the code it approves
		lr.ExpiresAt = dc.ExpiresAt
	}
	if !signedIn || askProfile {
		if err := p.db.CreateLoginRequest(ctx, lr); err != nil {
			p.serverError(w, r, t, fmt.Errorf("store login request: %w", err))
			return
		}
		if askProfile {
			seeOther(w, completeProfilePath(t, lr.ID))
			return
		}
		seeOther(w, loginPath(t, lr.ID))
		return
	}
	// Signed in already: the request is born authenticated by this session (SSO).
	lr.Status, lr.UserID, lr.SessionID = store.LoginAuthenticated, s.UserID, s.ID
	lr.AuthTime, lr.AMR, lr.ACR = s.AuthTime, s.AMR, s.ACR
	err = p.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateLoginRequest(ctx, lr); err != nil {
			return fmt.Errorf("store login request: %w", err)
		}
		return tx.AppendEvent(ctx, eventLoginRequestCompleted(lr, ip))
	})
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, devicePath(t, lr.ID))
}

// deviceThrottled answers 429 with the entry form when err is a *identity.ThrottledError, 500 for another
// error, and reports whether it answered.
func (p *Pages) deviceThrottled(w http.ResponseWriter, r *http.Request, t store.Tenant, typed string, err error) bool {
	var te *identity.ThrottledError
	switch {
	case err == nil:
		return false
	case errors.As(err, &te):
		p.log.InfoContext(r.Context(), "device code entry throttled", "tenant", t.ID, "client_ip", web.ClientIP(r),
			"request_id", web.RequestIDFrom(r.Context()))
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		pd := p.page(r, t, "")
		msg := pd.T("device.error.too_many", waitText(pd, te.RetryAfter))
		p.renderDeviceForm(w, r, t, http.StatusTooManyRequests, typed, msg)
	default:
		p.serverError(w, r, t, fmt.Errorf("device ip limit: %w", err))
	}
	return true
}

// deviceRequest is what the approve page and the decision load and check first.
type deviceRequest struct {
	lr     store.LoginRequest
	u      store.User
	dc     store.DeviceCode
	client store.Client
}

// loadDeviceRequest loads this browser's device-kind request in status authenticated, with its session
// still current, and its device code still pending. Otherwise it answers (sign in, the outcome page, or
// an explanation) and returns false.
func (p *Pages) loadDeviceRequest(w http.ResponseWriter, r *http.Request, t store.Tenant) (deviceRequest, bool) {
	var dr deviceRequest
	lr, ok := p.loadRequest(w, r, t)
	if !ok {
		return dr, false
	}
	if lr.Kind != store.LoginKindDevice {
		p.message(w, r, t, http.StatusBadRequest, "device.not_device.title", "device.not_device.text", startAgainLinks(t, store.LoginKindDevice)...)
		return dr, false
	}
	switch lr.Status {
	case store.LoginPending:
		seeOther(w, loginPath(t, lr.ID))
		return dr, false
	case store.LoginDone:
		if r.Method == http.MethodPost {
			seeOther(w, devicePath(t, lr.ID))
		} else {
			p.message(w, r, t, http.StatusOK, "device.connected.title", "device.connected.text")
		}
		return dr, false
	case store.LoginDenied:
		if r.Method == http.MethodPost {
			seeOther(w, devicePath(t, lr.ID))
		} else {
			p.message(w, r, t, http.StatusOK, "device.denied.title", "device.denied.text")
		}
		return dr, false
	}
	ctx := r.Context()
	s, u, signedIn, err := p.signedInUser(ctx, r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return dr, false
	}
	if !signedIn || s.ID != lr.SessionID {
		p.message(w, r, t, http.StatusBadRequest, "device.signed_out.title", "device.signed_out.text",
			startAgainLinks(t, store.LoginKindDevice)...)
		return dr, false
	}
	dc, err := p.db.GetDeviceCodeByUserCode(ctx, t.ID, lr.Params.DeviceUserCodeHash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.serverError(w, r, t, fmt.Errorf("find device code: %w", err))
		return dr, false
	}
	if err != nil || dc.Status != store.DevicePending || !p.now().Before(dc.ExpiresAt) {
		p.message(w, r, t, http.StatusBadRequest, "device.code_used.title", "device.code_used.text",
			startAgainLinks(t, store.LoginKindDevice)...)
		return dr, false
	}
	client, err := p.db.GetClient(ctx, t.ID, dc.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		p.clientGone(w, r, t, lr)
		return dr, false
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("device client: %w", err))
		return dr, false
	}
	return deviceRequest{lr: lr, u: u, dc: dc, client: client}, true
}

// deviceRequestPage is GET /t/{tenant}/device?lr=: approve or deny, or the outcome once decided.
func (p *Pages) deviceRequestPage(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	dr, ok := p.loadDeviceRequest(w, r, t)
	if !ok {
		return
	}
	p.renderApprove(w, r, t, dr, http.StatusOK, web.PageData{})
}

// deviceDecision is POST /t/{tenant}/device?lr=, decision=allow|deny: in one transaction it approves (with
// the session's user, sid, auth_time, amr, acr) or denies the device code, consumes the request and
// appends the event; then the outcome page.
func (p *Pages) deviceDecision(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	dr, ok := p.loadDeviceRequest(w, r, t)
	if !ok {
		return
	}
	ctx := r.Context()
	ip := web.ClientIP(r)
	lr := dr.lr
	hash := lr.Params.DeviceUserCodeHash
	var err error
	switch r.PostFormValue("decision") {
	case "allow":
		err = p.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.ApproveDeviceCode(ctx, t.ID, hash, lr.UserID, lr.SessionID, lr.AuthTime, lr.AMR, lr.ACR); err != nil {
				return err
			}
			if err := tx.SetLoginRequestStatus(ctx, t.ID, lr.ID, store.LoginAuthenticated, store.LoginDone); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, eventDeviceCodeApproved(t.ID, lr.UserID, dr.dc.ClientID, ip))
		})
	case "deny":
		err = p.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.DenyDeviceCode(ctx, t.ID, hash); err != nil {
				return err
			}
			if err := tx.SetLoginRequestStatus(ctx, t.ID, lr.ID, store.LoginAuthenticated, store.LoginDenied); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, eventDeviceCodeDenied(t.ID, lr.UserID, dr.dc.ClientID, ip))
		})
	default:
		p.renderApprove(w, r, t, dr, http.StatusBadRequest, web.PageData{Error: "consent.error.choose"})
		return
	}
	// A conflict means the code or the request was decided meanwhile: the page shows what happened.
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		p.serverError(w, r, t, fmt.Errorf("device decision: %w", err))
		return
	}
	seeOther(w, devicePath(t, lr.ID))
}

// renderDeviceForm renders the code entry form with code prefilled and codeErr ("" for none) shown on the
// user_code field and as the form's error.
func (p *Pages) renderDeviceForm(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, code, codeErr string) {
	pd := web.PageData{Title: "device.title", Data: deviceData{Action: devicePath(t, ""), UserCode: code}}
	if codeErr != "" {
		pd.FieldErrors = map[string]string{"user_code": codeErr}
		pd.Error = codeErr
	}
	p.render(w, r, t, status, "device", pd)
}

func (p *Pages) renderApprove(w http.ResponseWriter, r *http.Request, t store.Tenant, dr deviceRequest, status int, pd web.PageData) {
	pd.Lang = dr.lr.Params.Lang
	pd.Title = p.page(r, t, pd.Lang).T("device.approve.title", clientLabel(dr.client))
	pd.Data = deviceApproveData{
		allowOrDenyData: allowOrDeny(devicePath(t, dr.lr.ID), dr.client, dr.u, dr.dc.Scopes),
		UserCode:        displayUserCode(p.openUserCode(r.Context(), t.ID, dr.lr)),
	}
	p.render(w, r, t, status, "device_approve", pd)
}

// userCodeAAD binds a sealed user code to its tenant and login request.
func userCodeAAD(tenantID, lrID string) []byte { return keys.DeviceUserCodeAAD(tenantID, lrID) }

// openUserCode returns the user code a device-kind request approves, for display ("" when it cannot be
// opened, which only a changed master key explains; the page then shows no code).
func (p *Pages) openUserCode(ctx context.Context, tenantID string, lr store.LoginRequest) string {
	code, err := p.keyring.Open(lr.Params.DeviceUserCodeSealed, userCodeAAD(tenantID, lr.ID))
	if err != nil {
		p.log.WarnContext(ctx, "open sealed user code", "tenant", tenantID, "err", err, "request_id", web.RequestIDFrom(ctx))
		return ""
	}
	return string(code)
}

// displayUserCode formats a normalised 8-character user code as the device shows it (BCDF-GHJK).
func displayUserCode(code string) string {
	if len(code) == 8 {
		return code[:4] + "-" + code[4:]
	}
	return code
}
