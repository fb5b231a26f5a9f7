package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// accountData is the Data of account.html: the section navigation and the current section's content.
type accountData struct {
	Section       string // accountSections' Name
	Nav           []navItem
	Name          string
	Email         string
	EmailVerified bool
	Notice        string
	// Profile section.
	Fields      []fieldView
	ProfilePath string
	// Security section.
	PasswordPath string
	EmailChange  emailChangeView
	// Sign-in methods section.
	SignIn *signInView
	// Sessions and Connected apps sections.
	Sessions   []sessionView
	Apps       []appView
	EndPath    string
	RevokePath string
	LogoutPath string
	// Passkeys section (nil when the tenant allows no passkeys).
	Passkeys *passkeysView
	// Linked accounts section.
	Linked *linkedView
}

// navItem is one link of the section navigation.
type navItem struct {
	Href, Text string
	Current    bool
}

// accountSections are the console's sections in navigation order: /t/{tenant}/account/<Name>.
var accountSections = []struct{ Name, Title string }{
	{"profile", "console.nav.profile"},
	{"security", "console.nav.security"},
	{"signin", "console.nav.signin"},
	{"sessions", "console.nav.sessions"},
	{"apps", "console.nav.apps"},
	{"passkeys", "passkey.account.title"},
	{"linked", "connections.account.title"},
}

type sessionView struct {
	ID       string
	N        int // 1-based position, for element ids
	Device   string
	IP       string
	Created  timeView
	LastSeen timeView
	Current  bool
}

type appView struct {
	ClientID string
	N        int
	Name     string
	Scopes   []scopeText
	Since    timeView
}

// timeView is a time for a <time> element: machine-readable and for people.
type timeView struct {
	ISO, Text string
}

func newTimeView(t time.Time) timeView {
	if t.IsZero() {
		return timeView{}
	}
	// Numeric, so it reads the same in every language.
	return timeView{ISO: t.UTC().Format(time.RFC3339), Text: t.UTC().Format("2006-01-02 15:04 UTC")}
}

// Outcomes of the account page's actions, shown after their 303 (?done= and ?error= take only these keys).
var (
	accountNotices = map[string]string{
		"session_ended":     "account.notice.session_ended",
		"app_revoked":       "account.notice.app_revoked",
		"profile_saved":     "console.profile.saved",
		"password_changed":  "console.password.changed",
		"email_changed":     "emailchange.changed",
		"totp_added":        "mfa.notice.totp_added",
		"factor_removed":    "mfa.notice.factor_removed",
		"device_removed":    "mfa.notice.device_removed",
		"phone_added":       "mfa.notice.phone_added",
		"email_codes_on":    "mfa.notice.email_codes_on",
		"email_codes_off":   "mfa.notice.email_codes_off",
		"identity_linked":   "connections.account.linked",
		"identity_unlinked": "connections.account.unlinked",
	}
	accountErrors = map[string]string{
		"session_unknown": "account.error.session_unknown",
		"app_unknown":     "account.error.app_unknown",
		"no_choice":       "account.error.no_choice",
		// The change-email flow ended (used, expired, or five wrong codes), or its address is unavailable.
		"email_change_ended": "emailchange.error.ended",
		"email_unavailable":  "emailchange.error.unavailable",
		"factor_unknown":     "mfa.error.factor_unknown",
		"device_unknown":     "mfa.error.device_unknown",
		"too_many_factors":   "mfa.error.too_many_factors",
		"email_unverified":   "mfa.error.email_unverified",
		"last_sign_in":       "connections.account.last_sign_in",
		"identity_unknown":   "connections.account.unknown",
		"identity_taken":     "connections.taken.text",
	}
)

// handleAccount is GET /t/{tenant}/account, the console's entry: its first section, or signing in.
func (p *Pages) handleAccount(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	if _, _, ok := p.accountUser(w, r, t); ok {
		seeOther(w, accountPath(t)+"/profile")
	}
}

// handleAccountSection serves GET /t/{tenant}/account/{section}: one section of the console, with the
// outcome of the last action (?done= and ?error= take only known keys).
func (p *Pages) handleAccountSection(section string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := p.tenant(w, r)
		if !ok {
			return
		}
		cur, u, ok := p.accountUser(w, r, t)
		if !ok {
			return
		}
		pd := p.page(r, t, "")
		d, err := p.accountView(r.Context(), pd, t, cur, u, section)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		switch section {
		case "profile":
			d.Fields = profileFields(pd, t.Settings.Profile, currentValues(u), nil)
		case "security":
			if err := p.emailChangeSection(r, t, u, &d, r.URL.Query().Get("f")); err != nil {
				p.serverError(w, r, t, err)
				return
			}
		case "signin":
			if err := p.signInSection(r.Context(), r, pd, t, u, &d); err != nil {
				p.serverError(w, r, t, err)
				return
			}
		case "passkeys":
			if err := p.passkeysSection(w, r, t, u, &d); err != nil {
				p.serverError(w, r, t, err)
				return
			}
		case "linked":
			if err := p.linkedSection(w, r, t, u, &d); err != nil {
				p.serverError(w, r, t, err)
				return
			}
		}
		q := r.URL.Query()
		d.Notice = pd.T(accountNotices[q.Get("done")])
		pd.Title, pd.Error, pd.Data = sectionTitle(section), accountErrors[q.Get("error")], d
		p.render(w, r, t, http.StatusOK, "account", pd)
	}
}

// sectionTitle is the message key of a section's heading.
func sectionTitle(section string) string {
	for _, s := range accountSections {
		if s.Name == section {
			return s.Title
		}
	}
	return "account.title"
}

// accountView is what every section shows (who I am, the navigation) and what the section needs from
// the database: the sessions or the connected apps.
func (p *Pages) accountView(ctx context.Context, pd web.PageData, t store.Tenant, cur store.Session, u store.User, section string) (accountData, error) {
	d := accountData{
		Section: section, Name: strings.TrimSpace(u.GivenName + " " + u.FamilyName), Email: u.Email, EmailVerified: u.EmailVerified,
		ProfilePath: accountPath(t) + "/profile", PasswordPath: accountPath(t) + "/password",
		EndPath: accountPath(t) + "/sessions/end", RevokePath: accountPath(t) + "/apps/revoke",
		LogoutPath: accountPath(t) + "/logout",
	}
	for _, s := range accountSections {
		if s.Name == "passkeys" && !p.passkeysAllowed(t) {
			continue
		}
		if s.Name == "linked" && p.federation == nil {
			continue
		}
		d.Nav = append(d.Nav, navItem{Href: accountPath(t) + "/" + s.Name, Text: pd.T(s.Title), Current: s.Name == section})
	}
	switch section {
	case "sessions":
		sessions, err := p.sessions.List(ctx, t.ID, u.ID)
		if err != nil {
			return d, fmt.Errorf("list sessions: %w", err)
		}
		// This browser's session first, then the others as the session manager lists them.
		for _, s := range sessions {
			if s.ID == cur.ID {
				d.Sessions = append(d.Sessions, viewSession(pd, s, true))
			}
		}
		for _, s := range sessions {
			if s.ID != cur.ID {
				d.Sessions = append(d.Sessions, viewSession(pd, s, false))
			}
		}
		for i := range d.Sessions {
			d.Sessions[i].N = i + 1
		}
	case "apps":
		consents, err := p.identity.ListConsents(ctx, t.ID, u.ID)
		if err != nil {
			return d, fmt.Errorf("list consents: %w", err)
		}
		for i, c := range consents {
			name := c.ClientID
			if cl, err := p.db.GetClient(ctx, t.ID, c.ClientID); err == nil {
				name = clientLabel(cl)
			} else if !errors.Is(err, store.ErrNotFound) {
				return d, fmt.Errorf("consent client: %w", err)
			}
			d.Apps = append(d.Apps, appView{ClientID: c.ClientID, N: i + 1, Name: name, Scopes: describeScopes(c.Scopes),
				Since: newTimeView(c.CreatedAt)})
		}
	}
	return d, nil
}

func viewSession(pd web.PageData, s store.Session, current bool) sessionView {
	return sessionView{ID: s.ID, Device: describeUserAgent(pd, s.UserAgent), IP: s.IP, Created: newTimeView(s.CreatedAt),
		LastSeen: newTimeView(s.LastSeenAt), Current: current}
}

// accountPost starts every POST of the account console: the tenant, a valid CSRF token and the signed-in
// user with this browser's session. It has answered the request when it returns false.
func (p *Pages) accountPost(w http.ResponseWriter, r *http.Request) (store.Tenant, store.Session, store.User, bool) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return t, store.Session{}, store.User{}, false
	}
	cur, u, ok := p.accountUser(w, r, t)
	return t, cur, u, ok
}

// accountUser is the signed-in user of an account POST; without one the browser goes to sign in.
func (p *Pages) accountUser(w http.ResponseWriter, r *http.Request, t store.Tenant) (store.Session, store.User, bool) {
	s, u, signedIn, err := p.signedInUser(r.Context(), r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return s, u, false
	}
	if !signedIn {
		seeOther(w, loginPath(t, ""))
		return s, u, false
	}
	return s, u, true
}

// handleEndSessions is POST /t/{tenant}/account/sessions/end with sid (one session) or all=1 (every
// session of the user, this one included).
func (p *Pages) handleEndSessions(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if r.PostFormValue("all") == "1" {
		// This browser's first, so its cookie is cleared too, then every other one.
		frames, err := p.endHere(w, r, t)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		if err := p.sessions.EndAll(ctx, t.ID, u.ID, u.ID); err != nil {
			p.serverError(w, r, t, fmt.Errorf("end all sessions: %w", err))
			return
		}
		p.signedOut(w, r, t, frames)
		return
	}
	sid := r.PostFormValue("sid")
	if sid == "" || len(sid) > maxIDLen {
		seeOther(w, accountPath(t)+"/sessions?error=no_choice")
		return
	}
	if sid == cur.ID {
		p.signOut(w, r, t)
		return
	}
	err := p.sessions.EndByID(ctx, t.ID, u.ID, sid, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, accountPath(t)+"/sessions?error=session_unknown")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("end session: %w", err))
	default:
		seeOther(w, accountPath(t)+"/sessions?done=session_ended")
	}
}

// handleRevokeApp is POST /t/{tenant}/account/apps/revoke with client_id: withdraw the consent (and the
// app's grants, which identity revokes with it).
func (p *Pages) handleRevokeApp(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	_, u, ok := p.accountUser(w, r, t)
	if !ok {
		return
	}
	clientID := r.PostFormValue("client_id")
	if !config.ValidClientID(clientID) {
		seeOther(w, accountPath(t)+"/apps?error=no_choice")
		return
	}
	err := p.identity.RevokeConsent(r.Context(), t.ID, u.ID, clientID, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, accountPath(t)+"/apps?error=app_unknown")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("revoke consent: %w", err))
	default:
		seeOther(w, accountPath(t)+"/apps?done=app_revoked")
	}
}

// handleLogout is POST /t/{tenant}/account/logout: end this browser's session, then the signed-out page.
func (p *Pages) handleLogout(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	p.signOut(w, r, t)
}

// signOut ends this browser's session and goes to the signed-out page.
func (p *Pages) signOut(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	frames, err := p.endHere(w, r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	p.signedOut(w, r, t, frames)
}

// endHere ends this browser's session (its clients' back-channel logout messages are written with it)
// and returns the front-channel logout URIs of the clients that received tokens in it.
func (p *Pages) endHere(w http.ResponseWriter, r *http.Request, t store.Tenant) ([]string, error) {
	ended, ok, err := p.sessions.End(r.Context(), w, r, t.ID)
	if err != nil || !ok {
		return nil, err
	}
	return p.sessions.FrontchannelLogoutURIs(r.Context(), t.ID, p.publicURL+"/t/"+t.ID, ended.ID)
}

// signedOut answers a sign-out: a 303 to the signed-out page, or, when clients of the ended session
// registered front-channel logout URIs, that page at once with one iframe per client (OpenID Connect
// Front-Channel Logout 1.0 §4), its CSP allowing exactly those frames.
func (p *Pages) signedOut(w http.ResponseWriter, r *http.Request, t store.Tenant, frames []string) {
	if len(frames) == 0 {
		seeOther(w, accountPath(t)+"/signed-out")
		return
	}
	web.NoStore(w)
	web.AllowFrameSrc(w, frames...)
	pd := p.page(r, t, "")
	pd.Here = accountPath(t) + "/signed-out" // this page answers a POST; the switcher comes back by GET
	pd.Title, pd.Data = "signed_out.title", signedOutData{Login: loginPath(t, ""), Frames: frames}
	p.render(w, r, t, http.StatusOK, "signed_out", pd)
}

// signedOutData is what templates/signed_out.html receives.
type signedOutData struct {
	Login  string
	Frames []string // front-channel logout URIs, one iframe each
}

// handleSignedOut is GET /t/{tenant}/account/signed-out, where signing out lands (after its 303).
func (p *Pages) handleSignedOut(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	p.render(w, r, t, http.StatusOK, "signed_out", web.PageData{Title: "signed_out.title",
		Data: signedOutData{Login: loginPath(t, "")}})
}

// describeUserAgent names a browser and system in a few words ("Firefox on Linux"), or shows the start
// of the raw string when it is not recognised.
func describeUserAgent(pd web.PageData, ua string) string {
	if ua == "" {
		return pd.T("account.device.unknown")
	}
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return pd.T("account.device.browser_on", browser, system)
	case browser != "":
		return browser
	case system != "":
		return pd.T("account.device.a_browser_on", system)
	}
	if r := []rune(ua); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return ua
}
