package login

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/config"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// signInView is the "Sign-in methods" section of the account console: the user's factors, recovery
// codes and remembered devices.
type signInView struct {
	Factors                     []factorView
	Devices                     []deviceView
	RecoveryLeft, RecoveryTotal int
	TOTPPath, PasskeysPath      string
	// PhonePath adds a number for texted codes (empty: SMS is not offered); EmailCodesPath turns email
	// codes on or off (empty: not offered), EmailCodesOn says which.
	PhonePath, EmailCodesPath string
	EmailCodesOn              bool
	// Offer* hide what the tenant does not allow.
	OfferTOTP, OfferPasskey            bool
	RecoveryPath                       string
	RemoveFactorPath, RemoveDevicePath string
}

type factorView struct {
	ID       string
	N        int // 1-based position, for element ids
	Name     string
	Kind     string // in words
	Added    timeView
	LastUsed timeView
}

type deviceView struct {
	// Key names the device in the remove form: the base64url of its stored hash. It is a hash of the
	// device cookie already, so showing it lets nobody act as the device.
	Key      string
	N        int
	Device   string
	Network  string
	LastUsed timeView
	MFAUntil timeView // zero unless "Remember this device" still skips the second factor
	Current  bool
}

// factorKinds are the words for each kind of factor.
var factorKinds = map[string]string{
	store.FactorTOTP:     "mfa.kind.totp",
	store.FactorWebAuthn: "mfa.kind.webauthn",
	store.FactorEmail:    "mfa.kind.email",
	store.FactorSMS:      "mfa.kind.sms",
}

// signInSection fills d.SignIn for u.
func (p *Pages) signInSection(ctx context.Context, r *http.Request, pd web.PageData, t store.Tenant, u store.User, d *accountData) error {
	v := &signInView{TOTPPath: accountPath(t) + "/totp", PasskeysPath: accountPath(t) + "/passkeys",
		RecoveryPath: accountPath(t) + "/recovery-codes", RemoveFactorPath: accountPath(t) + "/factors/remove",
		RemoveDevicePath: accountPath(t) + "/devices/remove"}
	mfa := t.Settings.MFA
	v.OfferTOTP, v.OfferPasskey = mfa.Allows(config.FactorTOTP), mfa.Allows(config.FactorWebAuthn)
	if mfa.Allows(config.FactorSMS) && p.identity.SendSMS != nil {
		v.PhonePath = accountPath(t) + "/phone"
	}
	if mfa.Allows(config.FactorEmail) && u.EmailVerified {
		v.EmailCodesPath = accountPath(t) + "/email-codes"
	}
	fs, err := p.identity.Factors(ctx, t.ID, u.ID)
	if err != nil {
		return err
	}
	for i, f := range fs {
		kind := pd.T(factorKinds[f.Kind])
		if factorKinds[f.Kind] == "" {
			kind = f.Kind
		}
		name := f.Name
		if name == "" {
			name = kind
			if f.Kind == store.FactorSMS || f.Kind == store.FactorEmail {
				name = f.Data // the number or the address, which says best which one it is
			}
		}
		fv := factorView{ID: f.ID, N: i + 1, Name: name, Kind: kind, Added: newTimeView(f.ConfirmedAt)}
		if f.LastUsedAt.After(f.ConfirmedAt) { // the confirming code is the enrolment, not a use
			fv.LastUsed = newTimeView(f.LastUsedAt)
		}
		v.Factors = append(v.Factors, fv)
		if f.Kind == store.FactorEmail {
			v.EmailCodesOn = true
		}
	}
	if v.RecoveryLeft, v.RecoveryTotal, err = p.identity.RecoveryCodesLeft(ctx, t.ID, u.ID); err != nil {
		return err
	}
	ds, err := p.identity.KnownDevices(ctx, t.ID, u.ID)
	if err != nil {
		return err
	}
	var here []byte
	if id := p.deviceID(r, t.ID); id != "" {
		here = keys.HashToken(id)
	}
	now := p.now()
	for _, dev := range ds {
		if !dev.ExpiresAt.After(now) {
			continue
		}
		dv := deviceView{Key: base64.RawURLEncoding.EncodeToString(dev.DeviceHash), N: len(v.Devices) + 1,
			Device: describeUserAgent(pd, dev.UserAgent), Network: p.approximatePlace(dev.IP), LastUsed: newTimeView(dev.LastSeenAt),
			Current: here != nil && bytes.Equal(here, dev.DeviceHash)}
		if dev.MFAUntil.After(now) {
			dv.MFAUntil = newTimeView(dev.MFAUntil)
		}
		v.Devices = append(v.Devices, dv)
	}
	d.SignIn = v
	return nil
}

// approximatePlace is where a device was last seen, as far as the page can tell: the address's network
// and, with risk.geoip_db, its country ("203.0.113.0/24, DE").
func (p *Pages) approximatePlace(ip string) string {
	n := ipNetwork(ip)
	if p.risk == nil || n == "" {
		return n
	}
	if c := p.risk.Country(ip); c != "" {
		return n + ", " + c
	}
	return n
}

// ipNetwork is the network of ip: its /24 (IPv4) or /48 (IPv6), which says "the same home or office"
// better than an address that changes daily.
func ipNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	pfx, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return pfx.String()
}

// handleRemoveFactor is POST /t/{tenant}/account/factors/remove with factor_id: remove one of my
// factors, after a recent sign-in (a stolen session must not strip the account's second factor).
func (p *Pages) handleRemoveFactor(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok || !p.requireRecent(w, r, t, cur, accountPath(t)+"/signin") {
		return
	}
	id := r.PostFormValue("factor_id")
	if id == "" || len(id) > maxIDLen {
		seeOther(w, accountPath(t)+"/signin?error=no_choice")
		return
	}
	err := p.identity.RemoveFactor(r.Context(), t.ID, u.ID, id, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, accountPath(t)+"/signin?error=factor_unknown")
	case err != nil:
		p.serverError(w, r, t, err)
	default:
		seeOther(w, accountPath(t)+"/signin?done=factor_removed")
	}
}

// handleRemoveDevice is POST /t/{tenant}/account/devices/remove with device (a deviceView.Key): forget
// one of my known devices.
func (p *Pages) handleRemoveDevice(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	h, err := base64.RawURLEncoding.DecodeString(r.PostFormValue("device"))
	if err != nil || len(h) != 32 {
		seeOther(w, accountPath(t)+"/signin?error=no_choice")
		return
	}
	err = p.identity.ForgetDevice(r.Context(), t.ID, u.ID, h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, accountPath(t)+"/signin?error=device_unknown")
	case err != nil:
		p.serverError(w, r, t, err)
	default:
		seeOther(w, accountPath(t)+"/signin?done=device_removed")
	}
}

// totpView is what the "totp-enrol" partial shows: the QR code, the key and the confirm form.
type totpView struct {
	FactorID string
	QR       template.HTML // our own SVG (qrSVG)
	Grouped  string
	URI      template.URL // our own otpauth:// URI, which html/template would otherwise replace
	Action   string
	Hidden   []hiddenField // the flow's fields when the partial is used during sign-in
	AskName  bool
	Name     string
}

type hiddenField struct{ Name, Value string }

// accountTOTPData is the Data of account_totp.html.
type accountTOTPData struct {
	Enrol    totpView
	BackPath string
}

// newTOTPView renders enrolment e for the partial, the form posting to action.
func newTOTPView(pd web.PageData, e identity.TOTPEnrolment, action string) (totpView, error) {
	qr, err := qrSVG(e.URI, pd.T("mfa.totp.qr_label"))
	if err != nil {
		return totpView{}, err
	}
	// The URI is built by identity from the tenant's name, the user's address and our seed, each
	// escaped: it is a URL of ours, which is what template.URL asserts.
	return totpView{FactorID: e.FactorID, QR: qr, Grouped: e.Grouped, URI: template.URL(e.URI), Action: action}, nil
}

// handleTOTPForm is GET /t/{tenant}/account/totp: start setting up an authenticator app (after a recent
// sign-in: adding a factor to an account is as sensitive as removing one).
func (p *Pages) handleTOTPForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	cur, u, ok := p.accountUser(w, r, t)
	if !ok || !p.requireRecent(w, r, t, cur, accountPath(t)+"/totp") {
		return
	}
	pd := p.page(r, t, "")
	e, err := p.identity.BeginTOTP(r.Context(), t, u)
	if errors.Is(err, identity.ErrTooManyFactors) {
		seeOther(w, accountPath(t)+"/signin?error=too_many_factors")
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if r.URL.Query().Get("error") == "expired" {
		pd.Error = "mfa.totp.expired"
	}
	p.renderTOTP(w, r, t, pd, http.StatusOK, e, "")
}

func (p *Pages) renderTOTP(w http.ResponseWriter, r *http.Request, t store.Tenant, pd web.PageData, status int, e identity.TOTPEnrolment, name string) {
	v, err := newTOTPView(pd, e, accountPath(t)+"/totp")
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	v.AskName, v.Name = true, name
	web.NoStore(w) // the page holds the seed
	pd.Title, pd.Data = "mfa.totp.title", accountTOTPData{Enrol: v, BackPath: accountPath(t) + "/signin"}
	p.render(w, r, t, status, "account_totp", pd)
}

// handleTOTPSubmit is POST /t/{tenant}/account/totp with factor_id, code and name: confirm the
// enrolment with the app's first code. A wrong code shows the same QR code again.
func (p *Pages) handleTOTPSubmit(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	pd := p.page(r, t, "")
	id, code, name := r.PostFormValue("factor_id"), r.PostFormValue("code"), r.PostFormValue("name")
	if id == "" || len(id) > maxIDLen {
		seeOther(w, accountPath(t)+"/totp?error=expired")
		return
	}
	e, err := p.identity.TOTPEnrolmentOf(ctx, t, u, id)
	if errors.Is(err, identity.ErrEnrolmentUnknown) {
		seeOther(w, accountPath(t)+"/totp?error=expired")
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	fe := map[string]string{}
	if strings.TrimSpace(code) == "" {
		fe["code"] = "mfa.totp.code_required"
	} else {
		err = p.identity.ConfirmTOTP(ctx, t.ID, u.ID, id, code, name)
		switch {
		case err == nil:
			p.log.InfoContext(ctx, "authenticator app added", "tenant", t.ID, "user_id", u.ID, "factor_id", id,
				"request_id", web.RequestIDFrom(ctx))
			seeOther(w, accountPath(t)+"/signin?done=totp_added")
			return
		case errors.Is(err, identity.ErrInvalidCode):
			fe["code"] = "mfa.totp.wrong_code"
		case errors.Is(err, identity.ErrInvalidFactorName):
			fe["name"] = "mfa.totp.name_invalid"
		case errors.Is(err, identity.ErrEnrolmentUnknown):
			seeOther(w, accountPath(t)+"/totp?error=expired")
			return
		default:
			p.serverError(w, r, t, err)
			return
		}
	}
	pd.Error, pd.FieldErrors = "mfa.totp.invalid", fe
	p.renderTOTP(w, r, t, pd, http.StatusUnprocessableEntity, e, name)
}

// recoveryCodesData is the Data of account_recovery_codes.html.
type recoveryCodesData struct {
	Codes       []string // a new set, shown once
	Replaced    bool     // the new set replaced an old one
	Left, Total int
	Action      string
	BackPath    string
}

// handleRecoveryCodesForm is GET /t/{tenant}/account/recovery-codes: how many codes are left, and the
// button that makes a new set.
func (p *Pages) handleRecoveryCodesForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	_, u, ok := p.accountUser(w, r, t)
	if !ok {
		return
	}
	left, total, err := p.identity.RecoveryCodesLeft(r.Context(), t.ID, u.ID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	pd := p.page(r, t, "")
	pd.Title, pd.Data = "mfa.recovery.heading", recoveryCodesData{Left: left, Total: total,
		Action: accountPath(t) + "/recovery-codes", BackPath: accountPath(t) + "/signin"}
	p.render(w, r, t, http.StatusOK, "account_recovery_codes", pd)
}

// handleRecoveryCodesSubmit is POST /t/{tenant}/account/recovery-codes: make a new set and show it, this
// once. Replacing an existing set takes a recent sign-in (whoever holds the new codes can sign in
// without the second factor).
func (p *Pages) handleRecoveryCodesSubmit(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	_, total, err := p.identity.RecoveryCodesLeft(ctx, t.ID, u.ID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if total > 0 && !p.requireRecent(w, r, t, cur, accountPath(t)+"/recovery-codes") {
		return
	}
	codes, err := p.identity.GenerateRecoveryCodes(ctx, t.ID, u.ID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	p.log.InfoContext(ctx, "recovery codes generated", "tenant", t.ID, "user_id", u.ID, "codes", strconv.Itoa(len(codes)),
		"request_id", web.RequestIDFrom(ctx))
	web.NoStore(w) // the codes are shown once and must not stay in a cache
	pd := p.page(r, t, "")
	pd.Here = accountPath(t) + "/recovery-codes" // answers a POST: the language switcher comes back by GET
	pd.Title, pd.Data = "mfa.recovery.new_title", recoveryCodesData{Codes: codes, Replaced: total > 0,
		Left: len(codes), Total: len(codes), BackPath: accountPath(t) + "/signin"}
	p.render(w, r, t, http.StatusOK, "account_recovery_codes", pd)
}
