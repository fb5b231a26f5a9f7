package identity

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Passkeys (WebAuthn Level 3). Each ceremony has two steps: Begin* answers the options the browser hands to
// navigator.credentials and stores the challenge in a flow row bound to the browser; Finish* verifies the
// browser's answer against that row, which it uses up first, so a challenge is answered at most once.

// Errors of the passkey ceremonies. Test them with errors.Is.
var (
	// ErrPasskeyInvalid is the one answer to an assertion or attestation that does not verify, whatever
	// failed: an unknown credential, a bad signature, another origin or RP ID, no user verification, a
	// disabled account, a counter that went backwards. Telling them apart would tell which credentials exist.
	ErrPasskeyInvalid = errors.New("passkey not accepted")
	// ErrPasskeyCeremony: the ceremony is unknown, expired, used already, or was started by another browser.
	ErrPasskeyCeremony = errors.New("passkey ceremony expired or unknown")
	// ErrPasskeyTaken: the authenticator's credential is registered already, or the user has too many factors.
	ErrPasskeyTaken = errors.New("passkey already registered or too many factors")
	// ErrPasskeyNone: the user has no passkey to sign in with (second-factor mode).
	ErrPasskeyNone = errors.New("no passkey")
)

// The methods a passkey proves, as FinishPasskeyLogin names them: the names of RFC 8176, which the
// sessions record (session.MethodHardwareKey, MethodSoftwareKey, MethodUser).
const (
	AMRHardwareKey = "hwk"  // a roaming authenticator (a security key, a phone reached from another device)
	AMRSoftwareKey = "swk"  // the device's own authenticator or a synced passkey
	AMRUser        = "user" // the authenticator verified the user (PIN, fingerprint, face)
)

// PasskeyTTL is how long the options of a ceremony can be answered.
const PasskeyTTL = 5 * time.Minute

// MaxPasskeyNameLen bounds a passkey's name, in characters.
const MaxPasskeyNameLen = 64

// maxCredentialJSON bounds the browser's answer; real ones are a few kilobytes.
const maxCredentialJSON = 64 << 10

// Ceremony modes stored in a FlowWebAuthn row, so an answer meant for one ceremony cannot finish another.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"
)

// passkeyCeremony is the Data of a FlowWebAuthn flow.
type passkeyCeremony struct {
	Mode    string               `json:"mode"`
	Session webauthn.SessionData `json:"session"`
}

// passkeyUser is what the WebAuthn library knows of a user: the user handle is the user id, which is
// opaque and never changes (an address could, and would tell the authenticator who the user is).
type passkeyUser struct {
	u     store.User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte   { return []byte(p.u.ID) }
func (p passkeyUser) WebAuthnName() string { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string {
	if n := strings.TrimSpace(p.u.GivenName + " " + p.u.FamilyName); n != "" {
		return n
	}
	return p.u.Email
}
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// relyingParty is the tenant's WebAuthn relying party: its RP ID (tenants[].webauthn.rp_id, else the host
// of public_url) and the one origin its pages are served from (public_url's).
func (s *Service) relyingParty(t store.Tenant) (*webauthn.WebAuthn, error) {
	pu, err := url.Parse(s.PublicURL)
	if err != nil || pu.Host == "" {
		return nil, fmt.Errorf("passkeys need server.public_url: %q", s.PublicURL)
	}
	rpID := t.Settings.WebAuthn.RPID
	if rpID == "" {
		rpID = pu.Hostname()
	}
	name := t.Settings.WebAuthn.RPName
	if name == "" {
		name = t.Name
	}
	if name == "" {
		name = t.ID
	}
	return webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: name,
		RPOrigins:     []string{pu.Scheme + "://" + pu.Host},
		// Passkeys prove possession; which maker built the authenticator is not asked for.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		},
	})
}

// PasskeysUsable reports whether browsers can use passkeys with tenant t at all: WebAuthn needs a secure
// context (https, or http on localhost) and an RP ID that is a host name equal to, or a parent domain of,
// public_url's host. On a server reached by IP address, passkeys are not offered.
func (s *Service) PasskeysUsable(t store.Tenant) bool {
	pu, err := url.Parse(s.PublicURL)
	if err != nil || pu.Host == "" {
		return false
	}
	host := strings.ToLower(pu.Hostname())
	localhost := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if pu.Scheme != "https" && !localhost {
		return false
	}
	rpID := strings.ToLower(t.Settings.WebAuthn.RPID)
	if rpID == "" {
		rpID = host
	}
	if net.ParseIP(rpID) != nil || (host != rpID && !strings.HasSuffix(host, "."+rpID)) {
		return false
	}
	return true
}

// storedCredentials are the WebAuthn credentials of the user's confirmed passkeys, with their factors.
func (s *Service) storedCredentials(ctx context.Context, t store.Tenant, userID string) ([]webauthn.Credential, []store.Factor, error) {
	all, err := s.db.ListFactors(ctx, t.ID, userID)
	if err != nil {
		return nil, nil, err
	}
	var creds []webauthn.Credential
	var fs []store.Factor
	for _, f := range all {
		if f.Kind != store.FactorWebAuthn || !f.Confirmed() {
			continue
		}
		c, err := decodeCredential(f)
		if err != nil {
			return nil, nil, err
		}
		creds, fs = append(creds, c), append(fs, f)
	}
	return creds, fs, nil
}

func decodeCredential(f store.Factor) (webauthn.Credential, error) {
	var c webauthn.Credential
	if err := json.Unmarshal([]byte(f.Data), &c); err != nil {
		return c, fmt.Errorf("passkey %s: stored credential: %w", f.ID, err)
	}
	return c, nil
}

// encodeCredential is the credential as stored: without the attestation, which was checked once and is
// never needed again (and is the bulk of it).
func encodeCredential(c webauthn.Credential) (string, error) {
	c.Attestation = webauthn.CredentialAttestation{}
	b, err := json.Marshal(c)
	return string(b), err
}

// startCeremony stores the ceremony's session data in a FlowWebAuthn flow bound to browserHash.
func (s *Service) startCeremony(ctx context.Context, t store.Tenant, userID string, browserHash []byte, mode string,
	sd *webauthn.SessionData) (string, error) {
	if len(browserHash) == 0 {
		return "", fmt.Errorf("passkey ceremony: no browser")
	}
	data, err := json.Marshal(passkeyCeremony{Mode: mode, Session: *sd})
	if err != nil {
		return "", err
	}
	now := s.now()
	f := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowWebAuthn, State: store.FlowPending, UserID: userID,
		BrowserHash: browserHash, CreatedAt: now, ExpiresAt: now.Add(PasskeyTTL), Data: string(data)}
	if err := s.db.CreateFlow(ctx, f); err != nil {
		return "", err
	}
	return f.ID, nil
}

// useCeremony loads flow flowID of mode for browserHash and uses it up: whatever the answer, a challenge
// is answered once. ErrPasskeyCeremony when it is unknown, used, expired or another browser's.
func (s *Service) useCeremony(ctx context.Context, t store.Tenant, flowID string, browserHash []byte, mode string) (store.Flow, passkeyCeremony, error) {
	var c passkeyCeremony
	if flowID == "" || len(flowID) > 64 {
		return store.Flow{}, c, ErrPasskeyCeremony
	}
	f, err := s.db.GetFlow(ctx, t.ID, flowID)
	if errors.Is(err, store.ErrNotFound) {
		return f, c, ErrPasskeyCeremony
	}
	if err != nil {
		return f, c, err
	}
	now := s.now()
	if f.Kind != store.FlowWebAuthn || f.State != store.FlowPending || !now.Before(f.ExpiresAt) || len(f.BrowserHash) == 0 ||
		subtle.ConstantTimeCompare(f.BrowserHash, browserHash) != 1 {
		return f, c, ErrPasskeyCeremony
	}
	if err := json.Unmarshal([]byte(f.Data), &c); err != nil || c.Mode != mode {
		return f, c, ErrPasskeyCeremony
	}
	if err := s.db.SetFlowState(ctx, t.ID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return f, c, ErrPasskeyCeremony
		}
		return f, c, err
	}
	return f, c, nil
}

// BeginPasskeyRegistration starts adding a passkey for u on the browser browserHash: the creation options
// (JSON, {"publicKey": ...}) for navigator.credentials.create and the ceremony's id. The passkey must be
// discoverable and verify the user; the user's passkeys are excluded, so an authenticator is not
// registered twice.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, t store.Tenant, u store.User, browserHash []byte) ([]byte, string, error) {
	rp, err := s.relyingParty(t)
	if err != nil {
		return nil, "", err
	}
	creds, _, err := s.storedCredentials(ctx, t, u.ID)
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(creds))
	for _, c := range creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := rp.BeginRegistration(passkeyUser{u: u, creds: creds}, webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	id, err := s.startCeremony(ctx, t, u.ID, browserHash, ceremonyRegister, sd)
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	opts, err := json.Marshal(creation)
	return opts, id, err
}

// FinishPasskeyRegistration verifies the browser's answer (the PublicKeyCredential as JSON) to ceremony
// flowID and stores the passkey as a confirmed factor of u named name (empty: a name from the
// authenticator), with its FactorEnrolled event, in one transaction. ErrPasskeyCeremony, ErrPasskeyInvalid,
// ErrPasskeyTaken.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, t store.Tenant, u store.User, flowID string, browserHash []byte,
	response []byte, name string) (store.Factor, error) {
	f, c, err := s.useCeremony(ctx, t, flowID, browserHash, ceremonyRegister)
	if err != nil {
		return store.Factor{}, err
	}
	if f.UserID != u.ID || u.Disabled {
		return store.Factor{}, ErrPasskeyCeremony
	}
	if len(response) > maxCredentialJSON {
		return store.Factor{}, ErrPasskeyInvalid
	}
	rp, err := s.relyingParty(t)
	if err != nil {
		return store.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Factor{}, fmt.Errorf("%w: %w", ErrPasskeyInvalid, err)
	}
	cred, err := rp.CreateCredential(passkeyUser{u: u}, c.Session, parsed)
	if err != nil {
		return store.Factor{}, fmt.Errorf("%w: %w", ErrPasskeyInvalid, err)
	}
	// CreateCredential checks user verification because the options required it; a discoverable
	// credential is what the options asked for, but only an authenticator that reports credProps says so.
	if rk := cred.Extensions.RK; rk != nil && !*rk {
		return store.Factor{}, fmt.Errorf("%w: not a discoverable credential", ErrPasskeyInvalid)
	}
	data, err := encodeCredential(*cred)
	if err != nil {
		return store.Factor{}, err
	}
	now := s.now()
	fac := store.Factor{TenantID: t.ID, ID: keys.NewID(), UserID: u.ID, Kind: store.FactorWebAuthn,
		Name: PasskeyName(name, *cred), CredentialID: cred.ID, Data: data, ConfirmedAt: now, CreatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateFactor(ctx, fac); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.FactorEnrolled(t.ID, u.ID, fac.ID, store.FactorWebAuthn), now))
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Factor{}, ErrPasskeyTaken
	}
	if err != nil {
		return store.Factor{}, fmt.Errorf("store passkey: %w", err)
	}
	return fac, nil
}

// knownAuthenticators names a few widespread passkey providers by AAGUID, for the default name of a passkey.
var knownAuthenticators = map[string]string{
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
}

// PasskeyName is the name a new passkey is stored with: the given one (trimmed, control characters
// dropped, at most MaxPasskeyNameLen characters), else the provider's name when its AAGUID is known, else
// "Security key" for a roaming authenticator, else "Passkey".
func PasskeyName(given string, c webauthn.Credential) string {
	if n := CleanPasskeyName(given); n != "" {
		return n
	}
	if id, err := uuid.FromBytes(c.Authenticator.AAGUID); err == nil {
		if n, ok := knownAuthenticators[id.String()]; ok {
			return n
		}
	}
	if c.Authenticator.Attachment == protocol.CrossPlatform {
		return "Security key"
	}
	return "Passkey"
}

// CleanPasskeyName is a name as typed, made safe to store and show: trimmed, without control characters,
// cut to MaxPasskeyNameLen characters.
func CleanPasskeyName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > MaxPasskeyNameLen {
		name = strings.TrimSpace(string([]rune(name)[:MaxPasskeyNameLen]))
	}
	return name
}

// BeginPasskeyLogin starts a sign-in with a passkey on the browser browserHash: the request options (JSON,
// {"publicKey": ...}) for navigator.credentials.get and the ceremony's id. With userID "" any discoverable
// passkey of the tenant may answer (passwordless sign-in); otherwise only that user's passkeys (a second
// factor), and ErrPasskeyNone when there is none. User verification is required either way.
func (s *Service) BeginPasskeyLogin(ctx context.Context, t store.Tenant, userID string, browserHash []byte) ([]byte, string, error) {
	rp, err := s.relyingParty(t)
	if err != nil {
		return nil, "", err
	}
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
	)
	if userID == "" {
		assertion, sd, err = rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		creds, _, lerr := s.storedCredentials(ctx, t, userID)
		if lerr != nil {
			return nil, "", fmt.Errorf("begin passkey login: %w", lerr)
		}
		if len(creds) == 0 {
			return nil, "", ErrPasskeyNone
		}
		assertion, sd, err = rp.BeginLogin(passkeyUser{u: store.User{ID: userID}, creds: creds},
			webauthn.WithUserVerification(protocol.VerificationRequired))
	}
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey login: %w", err)
	}
	id, err := s.startCeremony(ctx, t, userID, browserHash, ceremonyLogin, sd)
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey login: %w", err)
	}
	opts, err := json.Marshal(assertion)
	return opts, id, err
}

// FinishPasskeyLogin verifies the browser's answer (the PublicKeyCredential as JSON) to sign-in ceremony
// flowID: the passkey's user, the passkey, and the methods it proved (hwk for a roaming authenticator, swk
// otherwise, and user when the authenticator verified the user). The passkey's counter and last use are
// stored. ErrPasskeyCeremony when the ceremony cannot be used; every other refusal is ErrPasskeyInvalid.
func (s *Service) FinishPasskeyLogin(ctx context.Context, t store.Tenant, flowID string, browserHash []byte,
	response []byte) (store.User, store.Factor, []string, error) {
	flow, c, err := s.useCeremony(ctx, t, flowID, browserHash, ceremonyLogin)
	if err != nil {
		return store.User{}, store.Factor{}, nil, err
	}
	a, err := s.verifyAssertion(ctx, t, flow.UserID, c.Session, response)
	if err != nil {
		return store.User{}, store.Factor{}, nil, err
	}
	u, fac := a.user, a.factor
	data, err := encodeCredential(a.cred)
	if err != nil {
		return store.User{}, store.Factor{}, nil, err
	}
	now := s.now()
	if err := s.db.UpdateFactorUse(ctx, t.ID, fac.ID, data, now); err != nil {
		if errors.Is(err, store.ErrNotFound) { // removed meanwhile
			return store.User{}, store.Factor{}, nil, ErrPasskeyInvalid
		}
		return store.User{}, store.Factor{}, nil, err
	}
	fac.Data, fac.LastUsedAt = data, now
	return u, fac, a.methods(), nil
}

// assertion is what a verified assertion proved.
type assertion struct {
	user   store.User
	factor store.Factor
	cred   webauthn.Credential // with its counter and flags updated
	uv     bool                // the authenticator verified the user this time
	// attachment is how the authenticator was reached this time (the browser says so in each answer; a
	// phone's passkey used from a laptop is cross-platform), else as when it was registered.
	attachment protocol.AuthenticatorAttachment
}

// verifyAssertion checks an assertion against session data sd: the credential must be a confirmed
// passkey of the tenant (of userID when not empty) whose user handle, when discoverable, names its user;
// the user must be enabled; the signature, challenge, origin, RP ID and user verification must verify; the
// signature counter must not go backwards.
func (s *Service) verifyAssertion(ctx context.Context, t store.Tenant, userID string, sd webauthn.SessionData,
	response []byte) (assertion, error) {
	if len(response) > maxCredentialJSON {
		return assertion{}, ErrPasskeyInvalid
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return assertion{}, fmt.Errorf("%w: %w", ErrPasskeyInvalid, err)
	}
	fac, err := s.db.GetFactorByCredential(ctx, t.ID, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) {
		return assertion{}, fmt.Errorf("%w: unknown credential", ErrPasskeyInvalid)
	}
	if err != nil {
		return assertion{}, err
	}
	if fac.Kind != store.FactorWebAuthn || (userID != "" && fac.UserID != userID) {
		return assertion{}, fmt.Errorf("%w: credential of another user", ErrPasskeyInvalid)
	}
	u, err := s.db.GetUser(ctx, t.ID, fac.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return assertion{}, fmt.Errorf("%w: no user", ErrPasskeyInvalid)
	}
	if err != nil {
		return assertion{}, err
	}
	return s.checkAssertion(t, u, fac, sd, parsed, userID == "")
}

// checkAssertion is the part of verifyAssertion that needs no storage: the assertion parsed, by passkey
// fac of user u, answers the ceremony sd (discoverable: any passkey was asked for, so the user handle must
// name u).
func (s *Service) checkAssertion(t store.Tenant, u store.User, fac store.Factor, sd webauthn.SessionData,
	parsed *protocol.ParsedCredentialAssertionData, discoverable bool) (assertion, error) {
	handle := parsed.Response.UserHandle
	if discoverable && len(handle) == 0 {
		return assertion{}, fmt.Errorf("%w: no user handle", ErrPasskeyInvalid)
	}
	if len(handle) > 0 && subtle.ConstantTimeCompare(handle, []byte(u.ID)) != 1 {
		return assertion{}, fmt.Errorf("%w: user handle mismatch", ErrPasskeyInvalid)
	}
	stored, err := decodeCredential(fac)
	if err != nil {
		return assertion{}, err
	}
	rp, err := s.relyingParty(t)
	if err != nil {
		return assertion{}, err
	}
	// The ceremony knows its user now: verify as a sign-in of that user, so the library checks that the
	// credential is theirs and, for a second factor, that it was one of those offered.
	sd.UserID = []byte(u.ID)
	cred, err := rp.ValidateLogin(passkeyUser{u: u, creds: []webauthn.Credential{stored}}, sd, parsed)
	if err != nil {
		return assertion{}, fmt.Errorf("%w: %w", ErrPasskeyInvalid, err)
	}
	if cred.Authenticator.CloneWarning {
		// The counter did not move forward although the authenticator keeps one: two copies of the key
		// may exist. Refusing is the safe answer; the user can remove the passkey and add it again.
		return assertion{}, fmt.Errorf("%w: signature counter went backwards", ErrPasskeyInvalid)
	}
	if u.Disabled {
		return assertion{}, fmt.Errorf("%w: account disabled", ErrPasskeyInvalid)
	}
	if !bytes.Equal(cred.ID, fac.CredentialID) {
		return assertion{}, ErrPasskeyInvalid
	}
	att := parsed.AuthenticatorAttachment
	if att == "" {
		att = stored.Authenticator.Attachment
	}
	return assertion{user: u, factor: fac, cred: *cred, uv: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
		attachment: att}, nil
}

// methods are what the assertion proved, as FinishPasskeyLogin returns them.
func (a assertion) methods() []string {
	m := []string{AMRSoftwareKey}
	if a.attachment == protocol.CrossPlatform {
		m[0] = AMRHardwareKey
	}
	if a.uv {
		m = append(m, AMRUser)
	}
	return m
}

// VerifyPasskeyAssertion checks response (the browser's PublicKeyCredential as JSON) to a discoverable
// sign-in ceremony of tenant t with challenge, made with passkey f of user u, as FinishPasskeyLogin does
// but without storage: no ceremony is used up, nothing is looked up, and the passkey's new Data (its
// counter) is returned instead of stored. It returns the methods proven; ErrPasskeyInvalid when it does
// not verify. It measures the cost of verification apart from the database.
func (s *Service) VerifyPasskeyAssertion(t store.Tenant, u store.User, f store.Factor, challenge, response []byte) ([]string, string, error) {
	if len(response) > maxCredentialJSON {
		return nil, "", ErrPasskeyInvalid
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrPasskeyInvalid, err)
	}
	if f.Kind != store.FactorWebAuthn || f.UserID != u.ID || !bytes.Equal(parsed.RawID, f.CredentialID) {
		return nil, "", fmt.Errorf("%w: another credential", ErrPasskeyInvalid)
	}
	rp, err := s.relyingParty(t)
	if err != nil {
		return nil, "", err
	}
	sd := webauthn.SessionData{Challenge: protocol.URLEncodedBase64(challenge).String(), RelyingPartyID: rp.Config.RPID,
		UserVerification: protocol.VerificationRequired}
	a, err := s.checkAssertion(t, u, f, sd, parsed, true)
	if err != nil {
		return nil, "", err
	}
	data, err := encodeCredential(a.cred)
	if err != nil {
		return nil, "", err
	}
	return a.methods(), data, nil
}

// ListPasskeys returns the user's confirmed passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, tenantID, userID string) ([]store.Factor, error) {
	all, err := s.db.ListFactors(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	var out []store.Factor
	for _, f := range all {
		if f.Kind == store.FactorWebAuthn && f.Confirmed() {
			out = append(out, f)
		}
	}
	return out, nil
}

// RenamePasskey sets the name of the user's passkey id (cleaned as CleanPasskeyName; empty keeps it).
// store.ErrNotFound when it is not a passkey of the user.
func (s *Service) RenamePasskey(ctx context.Context, tenantID, userID, id, name string) error {
	f, err := s.db.GetFactor(ctx, tenantID, userID, id)
	if err != nil {
		return err
	}
	if f.Kind != store.FactorWebAuthn {
		return fmt.Errorf("rename passkey: %w", store.ErrNotFound)
	}
	name = CleanPasskeyName(name)
	if name == "" {
		return nil
	}
	return s.db.RenameFactor(ctx, tenantID, userID, id, name)
}

// RemovePasskey removes the user's passkey id with its FactorRemoved event (actor: who removed it), in one
// transaction. store.ErrNotFound when it is not a passkey of the user.
func (s *Service) RemovePasskey(ctx context.Context, tenantID, userID, id, actor string) error {
	f, err := s.db.GetFactor(ctx, tenantID, userID, id)
	if err != nil {
		return err
	}
	if f.Kind != store.FactorWebAuthn {
		return fmt.Errorf("remove passkey: %w", store.ErrNotFound)
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteFactor(ctx, tenantID, userID, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.FactorRemoved(tenantID, userID, actor, id, store.FactorWebAuthn), now))
	})
}
