package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// agent is a browser-like HTTP client without JavaScript: a cookie jar, forms filled in from the HTML, and
// redirects followed while they stay on the server. Flows that need many repetitions (attacks, crash
// bursts) use it; the user-facing flows use Chromium (browser_test.go).
type agent struct {
	s *server
	c *http.Client
}

func newAgent(s *server) *agent {
	jar, _ := cookiejar.New(nil)
	return &agent{s: s, c: &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one HTML response.
type page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

func (a *agent) get(u string) (*page, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return a.do(req)
}

// post submits vals as a form, with the Origin a browser would send.
func (a *agent) post(u string, vals url.Values) (*page, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(vals.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.s.URL)
	return a.do(req)
}

func (a *agent) do(req *http.Request) (*page, error) {
	resp, err := a.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	return &page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// onServer reports whether u points at the UMM server (and not at a client's redirect URI).
func (a *agent) onServer(u *url.URL) bool {
	su, _ := url.Parse(a.s.URL)
	return u.Host == su.Host
}

// flowOpts says how an agent answers the pages of a flow.
type flowOpts struct {
	Email, Password string // filled into the sign-in form; empty: a sign-in form is an error
	Consent         string // "allow" or "deny" on a consent or device approval page; empty: such a page is an error
	UserCode        string // typed into the device user-code form; empty: such a form is an error
	StopAt          string // a path on the server: walk returns the redirect to it instead of following it
}

// authorize starts at authURL and follows the flow until a redirect leaves the server, which it returns
// (the client's redirect URI with code or error). It fails when a page it was not told to expect appears.
func (a *agent) authorize(authURL string, o flowOpts) (*url.URL, error) {
	leave, last, err := a.walk(authURL, o)
	if err != nil {
		return nil, err
	}
	if leave == nil {
		return nil, fmt.Errorf("unexpected page at %s: %s", last.URL, snippet(last.Body))
	}
	return leave, nil
}

// walk starts at start and answers pages as o says. It returns the first redirect that leaves the server,
// or the first 200 page without a form it knows (leave nil), or an error for any other answer.
func (a *agent) walk(start string, o flowOpts) (leave *url.URL, last *page, err error) {
	p, err := a.get(start)
	if err != nil {
		return nil, nil, err
	}
	sentPassword := false
	for range 20 {
		switch {
		case p.Status >= 300 && p.Status < 400:
			loc, err := p.URL.Parse(p.Header.Get("Location"))
			if err != nil || p.Header.Get("Location") == "" {
				return nil, p, fmt.Errorf("%d from %s with Location %q", p.Status, p.URL.Path, p.Header.Get("Location"))
			}
			if !a.onServer(loc) || (o.StopAt != "" && loc.Path == o.StopAt) {
				return loc, p, nil
			}
			if p, err = a.get(loc.String()); err != nil {
				return nil, nil, err
			}
		case p.Status == http.StatusOK:
			forms := parseForms(p.Body)
			var (
				f    *form
				vals url.Values
			)
			if f = findForm(forms, func(f form) bool {
				return f.input("autocomplete", "current-password") != nil || f.input("autocomplete", "username") != nil
			}); f != nil {
				if o.Email == "" {
					return nil, p, fmt.Errorf("a sign-in form was shown at %s", p.URL.Path)
				}
				vals = f.values()
				if in := f.input("autocomplete", "username"); in != nil {
					vals.Set(in["name"], o.Email)
				}
				if in := f.input("autocomplete", "current-password"); in != nil {
					if sentPassword {
						return nil, p, fmt.Errorf("the sign-in form came back after the password was sent: %s", snippet(p.Body))
					}
					vals.Set(in["name"], o.Password)
					sentPassword = true
				}
			} else if f = findForm(forms, func(f form) bool { return f.button("name", "decision") != nil }); f != nil {
				if o.Consent == "" {
					return nil, p, fmt.Errorf("a consent page was shown at %s", p.URL.Path)
				}
				vals = f.values()
				vals.Set("decision", o.Consent)
			} else if f = findForm(forms, func(f form) bool { return f.input("name", "user_code") != nil }); f != nil && o.UserCode != "" {
				vals = f.values()
				vals.Set("user_code", o.UserCode)
			} else {
				return nil, p, nil
			}
			if p, err = a.submit(p, f, vals); err != nil {
				return nil, nil, err
			}
		default:
			return nil, p, fmt.Errorf("%d at %s: %s", p.Status, p.URL, snippet(p.Body))
		}
	}
	return nil, p, fmt.Errorf("more than 20 steps from %s", start)
}

// submit posts f (as found on p) with vals.
func (a *agent) submit(p *page, f *form, vals url.Values) (*page, error) {
	action, err := p.URL.Parse(f.attrs["action"])
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(f.attrs["method"], "get") {
		action.RawQuery = vals.Encode()
		return a.get(action.String())
	}
	return a.post(action.String(), vals)
}

// code runs an authorization request for client and returns the callback parameters. params are added to
// response_type=code, client_id, redirect_uri, scope, state, nonce and an S256 challenge of verifier.
func (a *agent) code(t *testing.T, tenant, client, redirectURI, verifier string, o flowOpts, params url.Values) url.Values {
	t.Helper()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid email offline_access"},
		"state":                 {oauth2.GenerateVerifier()[:16]},
		"nonce":                 {oauth2.GenerateVerifier()[:16]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range params {
		q[k] = v
	}
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			delete(q, k)
		}
	}
	loc, err := a.authorize(a.s.Issuer(tenant)+"/authorize?"+q.Encode(), o)
	if err != nil {
		t.Fatalf("authorize %s at %s: %v", client, tenant, err)
	}
	got := loc.Query()
	if got.Get("state") != q.Get("state") {
		t.Fatalf("callback %s carries state %q, want %q", loc.Redacted(), got.Get("state"), q.Get("state"))
	}
	return got
}

// mustCode is code for alice at acme's web client, failing unless the callback carries a code.
func (a *agent) mustCode(t *testing.T, verifier string) string {
	t.Helper()
	v := a.code(t, "acme", "web", a.s.RP.URL+"/cb", verifier, flowOpts{Email: aliceEmail, Password: alicePassword}, nil)
	if v.Get("code") == "" {
		t.Fatalf("callback without code: %v", v)
	}
	return v.Get("code")
}

// tokenResponse is what the token endpoint answers, success or error.
type tokenResponse struct {
	Status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
	Raw          string
}

// postForm sends form to a tenant endpoint with HTTP Basic client authentication when id is set.
func (s *server) postForm(path, id, secret string, form url.Values) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := httpClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// token calls the token endpoint of tenant.
func (s *server) token(t *testing.T, tenant, id, secret string, form url.Values) tokenResponse {
	t.Helper()
	resp, b, err := s.postForm("/t/"+tenant+"/token", id, secret, form)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	tr := tokenResponse{Status: resp.StatusCode, Raw: string(b)}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("token endpoint answered %d with non-JSON %q", resp.StatusCode, snippet(string(b)))
	}
	return tr
}

// redeem exchanges code at acme's token endpoint as the web client.
func (s *server) redeem(t *testing.T, code, verifier string) tokenResponse {
	t.Helper()
	return s.token(t, "acme", "web", webSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier},
	})
}

// refresh uses a refresh token at acme as the web client.
func (s *server) refresh(t *testing.T, rt string) tokenResponse {
	t.Helper()
	return s.token(t, "acme", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// introspect returns the RFC 7662 answer for token at tenant, asked by client id, and its "active" member.
func (s *server) introspect(t *testing.T, tenant, id, secret, token string) (bool, map[string]any) {
	t.Helper()
	resp, b, err := s.postForm("/t/"+tenant+"/introspect", id, secret, url.Values{"token": {token}})
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect answered %d: %s", resp.StatusCode, snippet(string(b)))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("introspect answered %q: not JSON", snippet(string(b)))
	}
	active, ok := m["active"].(bool)
	if !ok {
		t.Fatalf("introspect answered %q: no boolean active member (RFC 7662 §2.2)", snippet(string(b)))
	}
	return active, m
}

// active is the "active" member of introspecting token at acme as the web client.
func (s *server) active(t *testing.T, token string) bool {
	t.Helper()
	a, _ := s.introspect(t, "acme", "web", webSecret, token)
	return a
}

// form is an HTML form: its attributes, inputs and buttons (each a map of attributes).
type form struct {
	attrs   map[string]string
	inputs  []map[string]string
	buttons []map[string]string
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<(input|button|textarea|select)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
	titleRE  = regexp.MustCompile(`(?is)<title>(.*?)</title>`)
	spacesRE = regexp.MustCompile(`\s+`)
)

func parseAttrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

// parseForms finds the forms of an HTML page. It is enough for UMM's server-rendered pages, not for HTML
// in general.
func parseForms(body string) []form {
	var forms []form
	for _, fm := range formRE.FindAllStringSubmatch(body, -1) {
		f := form{attrs: parseAttrs(fm[1])}
		for _, im := range inputRE.FindAllStringSubmatch(fm[2], -1) {
			a := parseAttrs(im[2])
			if strings.EqualFold(im[1], "button") {
				f.buttons = append(f.buttons, a)
			} else {
				f.inputs = append(f.inputs, a)
			}
		}
		forms = append(forms, f)
	}
	return forms
}

func findForm(forms []form, ok func(form) bool) *form {
	for i := range forms {
		if ok(forms[i]) {
			return &forms[i]
		}
	}
	return nil
}

func (f form) input(attr, val string) map[string]string {
	for _, in := range f.inputs {
		if strings.EqualFold(in[attr], val) {
			return in
		}
	}
	return nil
}

func (f form) button(attr, val string) map[string]string {
	for _, b := range f.buttons {
		if v, ok := b[attr]; ok && (val == "" || v == val) {
			return b
		}
	}
	return nil
}

// values are the form's named inputs with their values (hidden fields such as csrf_token and lr).
func (f form) values() url.Values {
	v := url.Values{}
	for _, in := range f.inputs {
		name := in["name"]
		if name == "" {
			continue
		}
		switch strings.ToLower(in["type"]) {
		case "submit", "button", "image", "reset", "file":
			continue
		case "checkbox", "radio":
			if _, checked := in["checked"]; !checked {
				continue
			}
		}
		v.Add(name, in["value"])
	}
	return v
}

// snippet is a short, readable excerpt of a response body for failure messages.
func snippet(body string) string {
	if m := titleRE.FindStringSubmatch(body); m != nil {
		body = "[title " + strings.TrimSpace(m[1]) + "] " + body
	}
	body = spacesRE.ReplaceAllString(body, " ")
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	return body
}
