package federation

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
)

const (
	tenantA = "6f3c1c2e-0b7a-4d7e-9a51-1f2e3d4c5b6a"
	tenantB = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d"
)

func microsoftFor(t *testing.T, f *fakeOP, path string, mod func(*config.Connection)) Redirector {
	t.Helper()
	c := config.Connection{ID: "x", Type: config.ConnMicrosoft, Issuer: f.srv.URL + path, ClientID: f.clientID, ClientSecret: f.secret}
	if mod != nil {
		mod(&c)
	}
	impl, err := builders[c.Type](context.Background(), testEnv(f.now), c)
	if err != nil {
		t.Fatal(err)
	}
	return impl.(Redirector)
}

func TestMicrosoftMultiTenant(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		claims func(base string) map[string]any
		want   string // "" for success
		check  func(t *testing.T, id Identity)
	}{
		{name: "object id is the subject, address unverified", claims: func(base string) map[string]any {
			return map[string]any{"iss": base + "/" + tenantA + "/v2.0", "tid": tenantA, "oid": "oid-42"}
		}, check: func(t *testing.T, id Identity) {
			if id.Subject != "oid-42" || id.Email != "ada@example.com" || id.EmailVerified {
				t.Errorf("identity = %+v", id)
			}
		}},
		{name: "sub without oid", claims: func(base string) map[string]any {
			return map[string]any{"iss": base + "/" + tenantA + "/v2.0", "tid": tenantA}
		}, check: func(t *testing.T, id Identity) {
			if id.Subject != "user-123" {
				t.Errorf("subject = %q", id.Subject)
			}
		}},
		{name: "domain ownership vouches for the address", claims: func(base string) map[string]any {
			return map[string]any{"iss": base + "/" + tenantA + "/v2.0", "tid": tenantA, "oid": "oid-42", "xms_edov": true}
		}, check: func(t *testing.T, id Identity) {
			if !id.EmailVerified {
				t.Errorf("xms_edov did not verify the address")
			}
		}},
		{name: "issuer of another tenant than tid", want: "issuer", claims: func(base string) map[string]any {
			return map[string]any{"iss": base + "/" + tenantA + "/v2.0", "tid": tenantB}
		}},
		{name: "tid is not a tenant id", want: "tid", claims: func(base string) map[string]any {
			return map[string]any{"iss": base + "/common/v2.0", "tid": "common"}
		}},
		{name: "no tid", want: "tid", claims: func(base string) map[string]any {
			return map[string]any{"iss": base + "/{tenantid}/v2.0", "tid": nil}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOP(t, testNow)
			f.set(func() {
				f.issuer = f.srv.URL + "/{tenantid}/v2.0"
				f.claims = tc.claims(f.srv.URL)
				f.noUserinfo = true
			})
			conn := microsoftFor(t, f, "/common/v2.0", nil)
			b := newBegin()
			id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				tc.check(t, id)
				return
			}
			if !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Exchange err = %v, want ErrInvalidResponse about %q", err, tc.want)
			}
		})
	}
}

func TestMicrosoftSingleTenant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, iss string
		ok        bool
	}{{"own tenant", tenantA, true}, {"another tenant", tenantB, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOP(t, testNow)
			// The tenant is named by domain; its document names the issuer by tenant id.
			f.set(func() {
				f.issuer = f.srv.URL + "/" + tenantA + "/v2.0"
				f.claims = map[string]any{"iss": f.srv.URL + "/" + tc.iss + "/v2.0", "tid": tc.iss}
				f.noUserinfo = true
			})
			conn := microsoftFor(t, f, "/contoso.example/v2.0", nil)
			b := newBegin()
			_, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
			if tc.ok != (err == nil) {
				t.Fatalf("Exchange err = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("err = %v, want ErrInvalidResponse", err)
			}
		})
	}
}

func TestPresetDefaults(t *testing.T) {
	t.Parallel()
	build := func(c config.Connection) any {
		t.Helper()
		c.ID, c.ClientID, c.ClientSecret = "x", "id", "secret-123"
		impl, err := newPreset(context.Background(), testEnv(testNow), c)
		if err != nil {
			t.Fatalf("%s: %v", c.Type, err)
		}
		return impl
	}
	oidcBases := map[string]string{
		config.ConnGoogle:    "https://accounts.google.com",
		config.ConnGitLab:    "https://gitlab.com",
		config.ConnLinkedIn:  "https://www.linkedin.com/oauth",
		config.ConnMicrosoft: "https://login.microsoftonline.com/common/v2.0",
	}
	for typ, base := range oidcBases {
		o := build(config.Connection{Type: typ}).(*oidcConn)
		if o.base != base {
			t.Errorf("%s discovery base = %q, want %q", typ, o.base, base)
		}
	}
	if o := build(config.Connection{Type: config.ConnMicrosoft, Tenant: "contoso.example"}).(*oidcConn); o.base != "https://login.microsoftonline.com/contoso.example/v2.0" {
		t.Errorf("microsoft tenant base = %q", o.base)
	}
	if o := build(config.Connection{Type: config.ConnGoogle, Issuer: "http://127.0.0.1:9"}).(*oidcConn); o.base != "http://127.0.0.1:9" {
		t.Errorf("issuer override = %q", o.base)
	}
	gh := build(config.Connection{Type: config.ConnGitHub}).(*oauth2Conn)
	if gh.authURL != "https://github.com/login/oauth/authorize" || gh.tokenURL != "https://github.com/login/oauth/access_token" ||
		gh.userinfoURL != "https://api.github.com/user" || githubEmailsURL(gh.userinfoURL) != "https://api.github.com/user/emails" {
		t.Errorf("github endpoints = %q %q %q", gh.authURL, gh.tokenURL, gh.userinfoURL)
	}
	if got := githubEmailsURL("https://ghe.example/api/v3/user"); got != "https://ghe.example/api/v3/user/emails" {
		t.Errorf("enterprise emails URL = %q", got)
	}
	fb := build(config.Connection{Type: config.ConnFacebook, UserinfoURL: "http://127.0.0.1:9/me"}).(*oauth2Conn)
	if fb.authURL != "https://www.facebook.com/v21.0/dialog/oauth" || fb.userinfoURL != "http://127.0.0.1:9/me" {
		t.Errorf("facebook endpoints = %q %q", fb.authURL, fb.userinfoURL)
	}

	google := build(config.Connection{Type: config.ConnGoogle}).(*oidcConn)
	doc := providerDoc{Issuer: "https://accounts.google.com"}
	for iss, ok := range map[string]bool{"https://accounts.google.com": true, "accounts.google.com": true, "https://accounts.google.com.evil": false} {
		if err := google.checkIssuer(doc, iss, nil); (err == nil) != ok {
			t.Errorf("google issuer %q: err %v", iss, err)
		}
	}
	if _, err := newPreset(context.Background(), testEnv(testNow), config.Connection{ID: "x", Type: "oidc", ClientID: "id"}); err == nil {
		t.Error("newPreset built a non-preset")
	}
}

func TestLinkedInNonceOptional(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		nonce any
		ok    bool
	}{{"absent", nil, true}, {"wrong", "no-other", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOP(t, testNow)
			f.set(func() {
				f.claims = map[string]any{"nonce": tc.nonce}
				f.auth = "post"
				f.methods = []string{"client_secret_post"}
			})
			impl, err := newPreset(context.Background(), testEnv(testNow), config.Connection{ID: "x", Type: config.ConnLinkedIn,
				Issuer: f.srv.URL, ClientID: f.clientID, ClientSecret: f.secret})
			if err != nil {
				t.Fatal(err)
			}
			conn := impl.(Redirector)
			b := newBegin()
			id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
			if tc.ok && (err != nil || id.Subject != "user-123") {
				t.Fatalf("Exchange = %+v, %v", id, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("Exchange err = %v, want ErrInvalidResponse", err)
			}
		})
	}
}

func TestPresetNameAndLogo(t *testing.T) {
	t.Parallel()
	names := map[string]string{"google": "Google", "apple": "Apple", "microsoft": "Microsoft", "github": "GitHub",
		"gitlab": "GitLab", "facebook": "Facebook", "linkedin": "LinkedIn"}
	for _, typ := range config.Presets {
		if PresetName(typ) != names[typ] {
			t.Errorf("PresetName(%q) = %q, want %q", typ, PresetName(typ), names[typ])
		}
		logo := PresetLogo(typ)
		data, ok := strings.CutPrefix(logo, "data:image/svg+xml;base64,")
		if !ok {
			t.Fatalf("PresetLogo(%q) = %q", typ, logo)
		}
		svg, err := base64.StdEncoding.DecodeString(data)
		if err != nil || !strings.HasPrefix(string(svg), "<svg ") || !strings.HasSuffix(string(svg), "</svg>") {
			t.Errorf("PresetLogo(%q) is not an SVG: %s", typ, svg)
		}
	}
	if PresetName("oidc") != "" || PresetLogo("saml") != "" {
		t.Error("non-presets have a name or logo")
	}
}
