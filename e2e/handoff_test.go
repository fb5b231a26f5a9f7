package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// concurrently sends the same token request n times at once and returns the answers.
func concurrently(s *server, n int, tenant, id, secret string, form url.Values) []tokenResponse {
	out := make([]tokenResponse, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			resp, b, err := s.postForm("/t/"+tenant+"/token", id, secret, form)
			if err != nil {
				out[i] = tokenResponse{Error: "transport: " + err.Error()}
				return
			}
			out[i] = tokenResponse{Status: resp.StatusCode, Raw: string(b)}
			_ = json.Unmarshal(b, &out[i])
		})
	}
	close(gate)
	wg.Wait()
	return out
}

func testRefreshRace(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	tr := s.redeem(t, a.mustCode(t, verifier), verifier)
	if tr.Status != http.StatusOK {
		t.Fatalf("redeem: %d %s", tr.Status, snippet(tr.Raw))
	}
	answers := concurrently(s, 20, "acme", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
	wins := 0
	for _, r := range answers {
		switch {
		case r.Status == http.StatusOK:
			wins++
		case r.Status != http.StatusBadRequest || r.Error != "invalid_grant":
			t.Errorf("a concurrent refresh answered %d %q %s, want 200 once and 400 invalid_grant otherwise", r.Status, r.Error, snippet(r.Raw))
		}
	}
	if wins > 1 {
		t.Errorf("%d of 20 concurrent refreshes with one refresh token succeeded: the token forked into %d families", wins, wins)
	}
}

func testDevicePollRace(t *testing.T, s *server) {
	resp, body, err := s.postForm("/t/acme/device_authorization", "web", webSecret, url.Values{"scope": {"openid offline_access"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("device authorization: %v %s", errOrStatus(resp, err), snippet(string(body)))
	}
	var da struct {
		DeviceCode string `json:"device_code"`
		Complete   string `json:"verification_uri_complete"`
		Interval   int    `json:"interval"`
	}
	if err := json.Unmarshal(body, &da); err != nil || da.DeviceCode == "" || da.Complete == "" {
		t.Fatalf("device authorization answered %s", snippet(string(body)))
	}
	created := time.Now()
	cu, _ := url.Parse(da.Complete)
	leave, last, err := newAgent(s).walk(da.Complete, flowOpts{Email: aliceEmail, Password: alicePassword, Consent: "allow", UserCode: cu.Query().Get("user_code")})
	if err != nil || leave != nil {
		t.Fatalf("the device pages ended at %v / %v, want a page: %v", leave, last, err)
	}
	if wait := time.Duration(da.Interval)*time.Second - time.Since(created); wait > 0 {
		time.Sleep(wait)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}}
	wins := 0
	for round := 0; round < 3; round++ {
		for _, r := range concurrently(s, 20, "acme", "web", webSecret, form) {
			switch {
			case r.Status == http.StatusOK:
				wins++
			case r.Status != http.StatusBadRequest || (r.Error != "invalid_grant" && r.Error != "slow_down" && r.Error != "expired_token"):
				t.Errorf("a concurrent poll answered %d %q %s", r.Status, r.Error, snippet(r.Raw))
			}
		}
		if wins > 0 {
			break
		}
		time.Sleep(time.Duration(da.Interval+5) * time.Second) // everyone got slow_down: wait longer and try again
	}
	if wins != 1 {
		t.Errorf("an approved device code yielded %d token sets, want exactly 1 (RFC 8628 §3.5)", wins)
	}
}

func testResumeBinding(t *testing.T, s *server) {
	alice := newAgent(s)
	q := codeParams("web", s.RP.URL+"/cb")
	q.Set("scope", "openid")
	resume, _, err := alice.walk(authorizeURL(s, "acme", q), flowOpts{Email: aliceEmail, Password: alicePassword, StopAt: "/t/acme/authorize/resume"})
	if err != nil || resume == nil {
		t.Fatalf("no redirect to the resume step: %v", err)
	}
	// Another browser (the attacker who sent alice the link, or who stole the URL) gets nothing.
	if loc, err := newAgent(s).authorize(resume.String(), flowOpts{}); err == nil && loc.Query().Get("code") != "" {
		t.Errorf("another browser resumed alice's login request and got a code at %s", loc.Redacted())
	}
	// Alice's own browser resumes it once; a second resume mints no second code.
	loc, err := alice.authorize(resume.String(), flowOpts{})
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("alice's browser could not resume her login request: %v %v", loc, err)
	}
	if again, err := alice.authorize(resume.String(), flowOpts{}); err == nil && again.Query().Get("code") != "" {
		t.Errorf("a login request resumed twice minted a second code")
	}
}

// sessionCookie returns the agent's umm_session cookie for tenant acme.
func sessionCookie(a *agent) *http.Cookie {
	u, _ := url.Parse(a.s.Issuer("acme") + "/")
	for _, c := range a.c.Jar.Cookies(u) {
		if c.Name == "umm_session" {
			return c
		}
	}
	return nil
}

func testSessionRotation(t *testing.T, s *server) {
	a := newAgent(s)
	a.mustCode(t, oauth2.GenerateVerifier())
	first := sessionCookie(a)
	if first == nil {
		t.Fatal("no umm_session cookie after signing in")
	}
	a.code(t, "acme", "web", s.RP.URL+"/cb", oauth2.GenerateVerifier(), flowOpts{Email: aliceEmail, Password: alicePassword}, url.Values{"prompt": {"login"}})
	second := sessionCookie(a)
	if second == nil || second.Value == first.Value {
		t.Fatal("signing in again kept the same session cookie (session fixation)")
	}
	// The first cookie, replayed in another browser, is no session any more.
	old := newAgent(s)
	u, _ := url.Parse(s.Issuer("acme") + "/")
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: "umm_session", Value: first.Value, Path: "/t/acme/"}})
	q := codeParams("web", s.RP.URL+"/cb")
	q.Set("prompt", "none")
	if loc, err := old.authorize(authorizeURL(s, "acme", q), flowOpts{}); err != nil || loc.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none with the cookie of a replaced session: %v %v, want error=login_required", loc, err)
	}
}

func testEndAllSessions(t *testing.T, s *server) {
	laptop, phone := newAgent(s), newAgent(s)
	laptop.mustCode(t, oauth2.GenerateVerifier())
	phone.mustCode(t, oauth2.GenerateVerifier())
	p, err := phone.get(s.Issuer("acme") + "/account/sessions")
	if err != nil || p.Status != http.StatusOK {
		t.Fatalf("account page: %v %v", err, p)
	}
	f := findForm(parseForms(p.Body), func(f form) bool { return f.input("name", "all") != nil })
	if f == nil {
		t.Fatalf("no sign-out-everywhere form on the account page: %s", snippet(p.Body))
	}
	res, err := phone.submit(p, f, f.values())
	if err != nil || res.Status >= 400 {
		t.Fatalf("sign out everywhere: %v %v", err, res)
	}
	for name, a := range map[string]*agent{"the laptop": laptop, "the phone": phone} {
		q := codeParams("web", s.RP.URL+"/cb")
		q.Set("prompt", "none")
		if loc, err := a.authorize(authorizeURL(s, "acme", q), flowOpts{}); err != nil || loc.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none in %s after signing out everywhere: %v %v, want error=login_required", name, loc, err)
		}
	}
}
