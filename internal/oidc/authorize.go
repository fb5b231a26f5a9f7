package oidc

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Bounds on authorization request parameters. Longer values are refused with invalid_request (or an
// error page before the redirect URI is known), never parsed further.
const (
	maxRedirectURILen = 2048
	maxStateLen       = 512
	maxNonceLen       = 512
	maxHintLen        = 512 // login_hint, id_token_hint is bounded separately
	maxIDTokenHintLen = 8192
	maxLocalesLen     = 256
	maxACRValuesLen   = 512
	maxMaxAgeDigits   = 10
)

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices; Form Post Response Mode).
const (
	modeQuery    = "query"
	modeFormPost = "form_post"
)

// Prompt values (OIDC Core §3.1.2.1). select_account is accepted and treated as login: UMM has one
// account per browser session, so choosing an account means signing in again.
const (
	promptNone    = "none"
	promptLogin   = "login"
	promptConsent = "consent"
)

// authRequest is a validated authorization request.
type authRequest struct {
	Client              store.Client
	RedirectURI         string
	ResponseType        string
	ResponseMode        string // query or form_post
	Scopes              []string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string // none, login, consent (select_account is stored as login)
	MaxAge              int64    // -1 when absent
	LoginHint           string
	UILocales           string
	ACRValues           []string
	ACREssential        bool   // the claims request asks for acr as an essential claim
	IDTokenHint         string // not stored: only compared with the session at the start
	// Connection names the upstream identity provider to sign in with, skipping the sign-in page
	// (connection=ID, or Keycloak's kc_idp_hint=ID).
	Connection string
	// Resource is the identifier of the API the tokens are for (RFC 8707); Organization the organization
	// the user signs in to (organization=ID), whose member the user must be.
	Resource     string
	Organization string
}

// openID reports whether this is an OpenID Connect request (scope openid): only then is an ID token issued.
func (a authRequest) openID() bool { return slices.Contains(a.Scopes, scopeOpenID) }

func (a authRequest) hasPrompt(v string) bool { return slices.Contains(a.Prompt, v) }

// params is the form in which the request is stored in the LoginRequest.
func (a authRequest) params() store.AuthorizeParams {
	return store.AuthorizeParams{
		ResponseType: a.ResponseType, RedirectURI: a.RedirectURI, Scopes: a.Scopes, State: a.State, Nonce: a.Nonce,
		CodeChallenge: a.CodeChallenge, CodeChallengeMethod: a.CodeChallengeMethod, ResponseMode: a.ResponseMode,
		Prompt: a.Prompt, MaxAge: a.MaxAge, LoginHint: a.LoginHint, UILocales: a.UILocales, ACRValues: a.ACRValues,
		ACREssential: a.ACREssential, Connection: a.Connection, Resource: a.Resource, Organization: a.Organization,
	}
}

// errPage is an authorize error found before client_id and redirect_uri were validated: it is shown as a
// page, never sent to the (unverified) redirect URI. Description is logged; the page shows the message
// of key in the person's language.
func errPage(desc, key string) *Error {
	e := errInvalidRequest(desc)
	e.pageKey = key
	return e
}

// requestValues returns a front-channel request's parameters: the query of a GET, the form body of a POST
// (OIDC Core §3.1.2.1; RP-Initiated Logout §2). A malformed encoding is an error (shown as a page).
func requestValues(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return url.ParseQuery(r.URL.RawQuery)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, errors.New("the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// parseAuthorize validates an authorization request. It returns the redirect target as soon as the client
// and its redirect URI are validated: an error returned with a nil target is shown as a page, one with a
// target is sent to the client (authorizeError decides).
func (p *Provider) parseAuthorize(ctx context.Context, t store.Tenant, r *http.Request) (authRequest, *redirectTarget, error) {
	var ar authRequest
	v, err := requestValues(r)
	if err != nil {
		// The parser's message quotes the request, so it is logged, not shown.
		e := errPage("The sign-in request is malformed: its parameters must be URL-encoded, in the query of a GET "+
			"or an application/x-www-form-urlencoded POST body.", "oidc.authorize.malformed")
		e.cause = err
		return ar, nil, e
	}
	// RFC 6749 §3.1: parameters sent without a value are treated as omitted; none may appear twice.
	get := func(name string) (string, bool) {
		vals := v[name]
		var val string
		n := 0
		for _, x := range vals {
			if x != "" {
				val = x
				n++
			}
		}
		return val, n <= 1
	}

	clientID, once := get("client_id")
	switch {
	case !once:
		return ar, nil, errPage("The sign-in link names client_id more than once.", "oidc.authorize.client_id_twice")
	case clientID == "":
		return ar, nil, errPage("The sign-in link has no client_id.", "oidc.authorize.no_client_id")
	case !config.ValidClientID(clientID):
		return ar, nil, errPage("The sign-in link names an unknown application.", "oidc.authorize.unknown_client")
	}
	client, err := p.db.GetClient(ctx, t.ID, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return ar, nil, errPage("The sign-in link names an unknown application (client_id).", "oidc.authorize.unknown_client")
	}
	if err != nil {
		return ar, nil, errServer(fmt.Errorf("authorize: %w", err))
	}
	ar.Client = client

	redirectURI, once := get("redirect_uri")
	switch {
	case !once:
		return ar, nil, errPage("The sign-in link names redirect_uri more than once.", "oidc.authorize.redirect_uri_twice")
	case redirectURI == "":
		return ar, nil, errPage("The sign-in link has no redirect_uri.", "oidc.authorize.no_redirect_uri")
	case len(redirectURI) > maxRedirectURILen || !redirectURIRegistered(client, redirectURI):
		return ar, nil, errPage("The sign-in link's redirect_uri is not registered for this application.", "oidc.authorize.redirect_uri_unregistered")
	}
	ar.RedirectURI = redirectURI

	// From here on errors go back to the client. Settle how first: an unknown response_mode is itself an
	// error, answered in the default (query) mode.
	target := &redirectTarget{URI: redirectURI, Mode: modeQuery, Iss: p.issuer(t.ID), Page: p.page(r, t, "")}
	state, stateOnce := get("state")
	if stateOnce && len(state) <= maxStateLen && validText(state) {
		target.State = state
	}
	mode, once := get("response_mode")
	switch {
	case !once:
		return ar, target, errInvalidRequest("response_mode appears more than once")
	case mode == "", mode == modeQuery:
		ar.ResponseMode = modeQuery
	case mode == modeFormPost:
		ar.ResponseMode, target.Mode = modeFormPost, modeFormPost
	default:
		return ar, target, errInvalidRequest("response_mode must be query or form_post")
	}

	// RFC 8707 §2 lets a request name several resources; UMM issues a token for one API at a time.
	if _, once := get("resource"); !once {
		return ar, target, errSeveralResources()
	}
	// Parameters that may appear at most once: a repeated one is refused before anything reads it.
	for name, vals := range v {
		if len(vals) > 1 {
			if _, once := get(name); !once {
				return ar, target, errRepeated(name)
			}
		}
	}
	switch {
	case len(state) > maxStateLen:
		return ar, target, errInvalidRequest(fmt.Sprintf("state is longer than %d characters", maxStateLen))
	case !validText(state):
		return ar, target, errInvalidRequest("state holds control characters or invalid UTF-8")
	}
	ar.State = state

	if s, _ := get("request"); s != "" {
		return ar, target, newErr("request_not_supported", http.StatusBadRequest, nil, "the request parameter is not supported")
	}
	if s, _ := get("request_uri"); s != "" {
		return ar, target, newErr("request_uri_not_supported", http.StatusBadRequest, nil, "the request_uri parameter is not supported")
	}

	rt, _ := get("response_type")
	switch rt {
	case "":
		return ar, target, errInvalidRequest("response_type is required")
	case "code":
		ar.ResponseType = rt
	default:
		return ar, target, newErr("unsupported_response_type", http.StatusBadRequest, nil, "only response_type=code is supported")
	}
	if !client.HasGrant("authorization_code") {
		return ar, target, errUnauthorizedClient("this client may not use the authorization code flow")
	}

	scope, _ := get("scope")
	scopes, ok := parseScope(scope)
	switch {
	case !ok:
		return ar, target, errInvalidScope("scope is malformed")
	case len(scopes) == 0:
		return ar, target, errInvalidScope("scope is required, for example openid")
	}
	// OIDC Core §3.1.2.1: scope values the server does not understand are ignored, and so are those this
	// client may not request (RFC 6749 §3.3 lets the server grant less than asked; the token response's
	// scope says what was granted). A request left with nothing to grant is refused.
	ar.Scopes = grantableScopes(client, scopes)
	if len(ar.Scopes) == 0 {
		return ar, target, errInvalidScope("none of the requested scopes is available to this client: " +
			"request openid, or a scope registered for the client")
	}

	if err := ar.parsePKCE(get); err != nil {
		return ar, target, err
	}

	nonce, _ := get("nonce")
	switch {
	case len(nonce) > maxNonceLen:
		return ar, target, errInvalidRequest(fmt.Sprintf("nonce is longer than %d characters", maxNonceLen))
	case !validText(nonce):
		return ar, target, errInvalidRequest("nonce holds control characters or invalid UTF-8")
	}
	ar.Nonce = nonce

	if err := ar.parsePrompt(get); err != nil {
		return ar, target, err
	}

	ar.MaxAge = -1
	if s, _ := get("max_age"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || len(s) > maxMaxAgeDigits || strings.TrimLeft(s, "0123456789") != "" {
			return ar, target, errInvalidRequest("max_age must be a non-negative number of seconds")
		}
		ar.MaxAge = n
	}

	ar.LoginHint, _ = get("login_hint")
	if len(ar.LoginHint) > maxHintLen || !validText(ar.LoginHint) {
		return ar, target, errInvalidRequest(fmt.Sprintf("login_hint is malformed or longer than %d characters", maxHintLen))
	}
	ar.Connection, _ = get("connection")
	if ar.Connection == "" {
		ar.Connection, _ = get("kc_idp_hint")
	}
	if ar.Connection != "" && config.CheckConnectionID(ar.Connection) != nil {
		return ar, target, errInvalidRequest("connection (or kc_idp_hint) must name a connection: lower-case letters, digits, '-' or '_'")
	}
	ar.UILocales, _ = get("ui_locales")
	if len(ar.UILocales) > maxLocalesLen || !validText(ar.UILocales) {
		return ar, target, errInvalidRequest(fmt.Sprintf("ui_locales is malformed or longer than %d characters", maxLocalesLen))
	}
	if s, _ := get("acr_values"); s != "" {
		if len(s) > maxACRValuesLen || !validText(s) {
			return ar, target, errInvalidRequest("acr_values is malformed")
		}
		ar.ACRValues = strings.Fields(s)
	}
	if s, _ := get("claims"); s != "" {
		values, essential, err := parseClaimsACR(s)
		if err != nil {
			return ar, target, err
		}
		if len(values) > 0 {
			ar.ACRValues, ar.ACREssential = values, essential
		}
	}
	hint, _ := get("id_token_hint")
	if len(hint) > maxIDTokenHintLen {
		return ar, target, errInvalidRequest("id_token_hint is too long")
	}
	ar.IDTokenHint = hint
	if err := p.parseAuthzParams(ctx, t, &ar, get); err != nil {
		return ar, target, err
	}
	return ar, target, nil
}

// parseAuthzParams reads resource (RFC 8707: the API the tokens are for, which must be one of the
// tenant's) and organization (an organization of the tenant; membership is checked once the user is
// known).
func (p *Provider) parseAuthzParams(ctx context.Context, t store.Tenant, ar *authRequest, get func(string) (string, bool)) error {
	ar.Resource, _ = get("resource")
	if _, err := p.lookupResource(ctx, t.ID, ar.Resource); err != nil {
		return err
	}
	ar.Organization, _ = get("organization")
	if ar.Organization == "" {
		return nil
	}
	if config.CheckOrganizationID(ar.Organization) != nil {
		return errInvalidRequest("organization must be an organization id: lower-case letters, digits, '-' or '_'")
	}
	_, err := p.db.GetOrganization(ctx, t.ID, ar.Organization)
	if errors.Is(err, store.ErrNotFound) {
		return errInvalidRequest("organization names no organization of this tenant")
	}
	if err != nil {
		return fmt.Errorf("organization: %w", err)
	}
	return nil
}

// parsePKCE checks code_challenge and code_challenge_method (RFC 7636; RFC 9700 §2.1.1: S256 only).
// PKCE is required of public clients; when a confidential client sends it, the token endpoint enforces it.
func (a *authRequest) parsePKCE(get func(string) (string, bool)) error {
	challenge, _ := get("code_challenge")
	method, _ := get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return errInvalidRequest("code_challenge_method was sent without code_challenge")
	case challenge == "" && a.Client.Public():
		return errInvalidRequest("PKCE is required: send code_challenge with code_challenge_method=S256")
	case challenge == "":
		return nil
	case method != "S256":
		// An absent method means plain (RFC 7636 §4.3), which is refused too.
		return errInvalidRequest("code_challenge_method must be S256 (plain is not allowed)")
	case !validCodeChallenge(challenge):
		return errInvalidRequest("code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	a.CodeChallenge, a.CodeChallengeMethod = challenge, method
	return nil
}

// parsePrompt reads the space-delimited prompt values (OIDC Core §3.1.2.1).
func (a *authRequest) parsePrompt(get func(string) (string, bool)) error {
	s, _ := get("prompt")
	for _, v := range strings.Fields(s) {
		switch v {
		case "select_account":
			v = promptLogin
		case promptNone, promptLogin, promptConsent:
		default:
			return errInvalidRequest("prompt must be none, login, consent or select_account")
		}
		if !slices.Contains(a.Prompt, v) {
			a.Prompt = append(a.Prompt, v)
		}
	}
	if a.hasPrompt(promptNone) && len(a.Prompt) > 1 {
		return errInvalidRequest("prompt=none cannot be combined with other prompt values")
	}
	return nil
}

// validCodeChallenge reports whether s is 43-128 characters of the unreserved set (RFC 7636 §4.2).
func validCodeChallenge(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// validText reports whether s is valid UTF-8 without control characters.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// redirectURIRegistered reports whether uri is one of the client's registered redirect URIs, compared as
// strings with no normalisation (RFC 9700 §4.1.3; OIDC Core §3.1.2.1). The one exception is RFC 8252 §7.3:
// for a public native client registered with an http loopback IP literal (127.0.0.1 or [::1]), the port
// may differ, because the app picks a free port at run time. Never for "localhost" (RFC 8252 §8.3).
func redirectURIRegistered(c store.Client, uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if !c.Public() {
		return false
	}
	got, ok := withoutLoopbackPort(uri)
	if !ok {
		return false
	}
	for _, reg := range c.RedirectURIs {
		if want, ok := withoutLoopbackPort(reg); ok && want == got {
			return true
		}
	}
	return false
}

// withoutLoopbackPort removes the port from an http URI whose host is the loopback IP literal 127.0.0.1 or
// [::1], byte for byte (no other normalisation); ok is false for any other URI.
func withoutLoopbackPort(uri string) (string, bool) {
	for _, prefix := range []string{"http://127.0.0.1", "http://[::1]"} {
		rest, found := strings.CutPrefix(uri, prefix)
		if !found {
			continue
		}
		if port, ok := strings.CutPrefix(rest, ":"); ok {
			end := strings.IndexAny(port, "/?#")
			if end < 0 {
				end = len(port)
			}
			n, err := strconv.Atoi(port[:end])
			if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' || end > 5 {
				return "", false
			}
			rest = port[end:]
		}
		if rest != "" && rest[0] != '/' && rest[0] != '?' {
			return "", false // e.g. http://127.0.0.1.evil.example or http://127.0.0.1@evil.example
		}
		if strings.Contains(rest, "#") {
			return "", false
		}
		return prefix + rest, true
	}
	return "", false
}

// handleAuthorize is the authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2), GET and POST.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenantOrPage(w, r)
	if !ok {
		return
	}
	ar, target, err := p.parseAuthorize(r.Context(), t, r)
	if err == nil {
		err = p.startLogin(w, r, t, ar, target)
	}
	if err != nil {
		p.authorizeError(w, r, t, target, err)
	}
}

// startLogin hands a validated request to the hosted pages through a stored LoginRequest (docs/DESIGN.md,
// "The LoginRequest handoff"), or answers at once when the browser's SSO session already covers it.
func (p *Provider) startLogin(w http.ResponseWriter, r *http.Request, t store.Tenant, ar authRequest, target *redirectTarget) error {
	ctx := r.Context()
	if r.Method == http.MethodPost && !hasBrowserCookies(r) {
		bounceToGet(w, r, p.issuer(t.ID)+"/authorize")
		return nil
	}
	now := p.now()
	sess, hasSession, err := p.sessions.Current(ctx, r, t)
	if err != nil {
		return fmt.Errorf("current session: %w", err)
	}
	// prompt=login, and max_age=0 (OIDC Core §3.1.2.1: equivalent to prompt=login), always ask for credentials.
	requireLogin := ar.hasPrompt(promptLogin) || ar.MaxAge == 0
	// A session older than max_age must authenticate again, but the hosted pages may do it with one strong
	// factor (a passkey, an authenticator code) instead of the password: it is not RequireLogin.
	tooOld := hasSession && ar.MaxAge > 0 && now.Sub(sess.AuthTime) > time.Duration(ar.MaxAge)*time.Second
	if hasSession && !requireLogin && ar.IDTokenHint != "" {
		// OIDC Core §3.1.2.2: the session must be the hinted user's; another user's is not reused (and
		// prompt=none answers login_required). A hint that is not our ID token is ignored, as hints are.
		hint, ok, err := p.verifyIDTokenHint(r, t, ar.IDTokenHint)
		if err != nil {
			return fmt.Errorf("id_token_hint: %w", err)
		}
		if ok && hint.Sub != sess.UserID {
			requireLogin = true
		}
	}
	requireConsent := ar.hasPrompt(promptConsent)

	var user store.User
	if hasSession && !requireLogin {
		user, err = p.db.GetUser(ctx, t.ID, sess.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			hasSession = false
		case err != nil:
			return fmt.Errorf("session user: %w", err)
		case user.Disabled:
			hasSession = false
		}
	}
	consentNeeded := requireConsent
	if hasSession && !requireLogin && !consentNeeded && !ar.Client.FirstParty {
		covered, err := p.identity.ConsentCovers(ctx, t.ID, sess.UserID, ar.Client.ClientID, ar.Scopes)
		if err != nil {
			return fmt.Errorf("stored consent: %w", err)
		}
		consentNeeded = !covered
	}
	// The profile comes before consent (docs/DESIGN.md, "Completing a profile at sign-in"): while the
	// client requires a field the user lacks, or a progressive field is due, the session is not enough and
	// the hosted pages ask for it. prompt=none asks nothing, so it fails only on a client-required field.
	profileNeeded := false
	if hasSession && !requireLogin {
		ask := identity.AskProfile(t.Settings.Profile, user, ar.Client.RequiredProfileFields)
		profileNeeded = len(ask.Required) > 0 || (!ar.hasPrompt(promptNone) && !ask.Empty())
	}

	// A session that proved less than the request or the MFA policy asks for is stepped up by the hosted
	// pages (a second factor, without the password again).
	stepUp := hasSession && !requireLogin && (tooOld || !sessionStrongEnough(t, ar.Client, sess, ar.ACRValues))

	// A member of several organizations chooses one on the hosted pages when the client requires one.
	chooseOrg := false
	if hasSession && !requireLogin {
		if chooseOrg, err = p.organizationChoice(ctx, t.ID, ar.Client, sess.UserID, ar.Organization); err != nil {
			return fmt.Errorf("organization choice: %w", err)
		}
	}

	if ar.hasPrompt(promptNone) {
		switch {
		case !hasSession || requireLogin:
			return newErr("login_required", http.StatusBadRequest, nil, "the user is not signed in")
		case tooOld:
			return newErr("login_required", http.StatusBadRequest, nil, "the session is older than max_age")
		case stepUp:
			return newErr("interaction_required", http.StatusBadRequest, nil, "the session must be stepped up to the requested authentication")
		case profileNeeded:
			return newErr("interaction_required", http.StatusBadRequest, nil, "the user must complete their profile")
		case chooseOrg:
			return newErr("interaction_required", http.StatusBadRequest, nil,
				"the user is a member of several organizations and must choose one: send organization=<organization id>")
		case consentNeeded:
			return newErr("consent_required", http.StatusBadRequest, nil, "the user has not consented to this request")
		}
	}

	lr := store.LoginRequest{
		TenantID: t.ID, ID: keys.NewID(), Kind: store.LoginKindAuthorize, ClientID: ar.Client.ClientID,
		Params: ar.params(), CreatedAt: now, ExpiresAt: now.Add(t.Settings.LoginRequestTTLD()),
	}
	lr.Params.RequireLogin, lr.Params.RequireConsent = requireLogin, requireConsent
	// The language of every page of this sign-in, chosen once (docs/DESIGN.md, "Languages and branding").
	lr.Params.Lang = web.Lang(r, ar.UILocales, t.Settings.Look.DefaultLocale)
	target.Page = p.page(r, t, lr.Params.Lang) // a form_post answer is in it too

	if hasSession && !requireLogin && !consentNeeded && !profileNeeded && !stepUp && !chooseOrg {
		// SSO: the session, the profile and consent cover the request, so the request is born complete and consumed.
		lr.Status, lr.UserID, lr.SessionID = store.LoginDone, sess.UserID, sess.ID
		lr.AuthTime, lr.AMR, lr.ACR, lr.GrantedScopes = sess.AuthTime, sess.AMR, sess.ACR, ar.Scopes
		return p.issueCode(w, r, t, ar.Client, lr, target, true)
	}

	lr.IPKey = clientIPKey(r)
	if full, err := p.loginRequestsFull(w, r, t, lr.IPKey); full || err != nil {
		return err
	}
	lr.BrowserHash = p.sessions.BrowserHash(w, r, t.ID)
	if err := p.db.CreateLoginRequest(ctx, lr); err != nil {
		return fmt.Errorf("store login request: %w", err)
	}
	if err := p.trimBrowserRequests(ctx, t.ID, lr.BrowserHash, lr.ID); err != nil {
		return err
	}
	web.NoStore(w)
	w.Header().Set("Location", p.issuer(t.ID)+"/login?lr="+url.QueryEscape(lr.ID))
	w.WriteHeader(http.StatusFound)
	return nil
}

// hasBrowserCookies reports whether the request carries the cookies that tell this browser's SSO session
// (umm_session) and identity (umm_browser).
func hasBrowserCookies(r *http.Request) bool {
	_, errSession := r.Cookie(session.CookieName)
	_, errBrowser := r.Cookie(session.BrowserCookieName)
	return errSession == nil && errBrowser == nil
}

// bounceToGet answers a valid POST authorization request that came without this browser's cookies with a
// 303 to the same request as a GET. A client's auto-submitted form posts from the client's site, and the
// browser leaves SameSite=Lax cookies out of a cross-site POST: answering it directly would miss the SSO
// session (so SSO and prompt=none fail) and set a new umm_browser cookie in place of the browser's own.
// The GET that follows is a top-level navigation, which carries Lax cookies, and is then handled like any
// GET request (OIDC Core §3.1.2.1 allows both methods). A POST that carries the cookies (same-site, or a
// browser that has none yet and gets them on the GET) never loops: the GET is never bounced.
func bounceToGet(w http.ResponseWriter, r *http.Request, endpoint string) {
	web.NoStore(w)
	w.Header().Set("Location", endpoint+"?"+r.PostForm.Encode())
	w.WriteHeader(http.StatusSeeOther)
}
