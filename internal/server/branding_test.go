package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// baseCSP is the policy of every page without branding.
const baseCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func TestTenantBrandingAndOverrides(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithSeed(func(s *config.TenantSeed) {
				s.DefaultLocale = "de"
				s.Branding = &config.Branding{DisplayName: "ACME Konto", LogoURL: "https://img.example.com/acme/logo.svg",
					PrimaryColor: "#1a56db", StylesheetURL: "https://cdn.example.com/acme/extra.css", SupportEmail: "help@acme.example"}
				s.Messages = map[string]config.Messages{"de": {"login.title": "Willkommen bei ACME"}, "en": {"login.submit": "Continue to ACME"}}
			}))
			b := srv.NewBrowser(t)
			resp, body := b.Get(srv.TenantURL("/login"))

			t.Run("without another choice the page is in the tenant's default language, with its override", func(t *testing.T) {
				wantLang(t, "the sign-in page", body, "de")
				if !strings.Contains(body, "<h1>Willkommen bei ACME</h1>") || !strings.Contains(body, ">Anmelden</button>") {
					t.Errorf("the German override is not shown (or the rest is not German):\n%s", body)
				}
			})
			t.Run("an override of one language leaves the others as they are", func(t *testing.T) {
				_, en := browserIn(t, srv, "en").Get(srv.TenantURL("/login"))
				if !strings.Contains(en, "<h1>Sign in</h1>") || !strings.Contains(en, ">Continue to ACME</button>") {
					t.Errorf("the English page:\n%s", en)
				}
			})
			t.Run("the layout links the branding stylesheet, the extra stylesheet, the logo and the support address", func(t *testing.T) {
				for _, want := range []string{`<link rel="stylesheet" href="/t/test/branding.css?v=`,
					`<link rel="stylesheet" href="https://cdn.example.com/acme/extra.css">`,
					`<img class="brand-logo" src="https://img.example.com/acme/logo.svg" alt="">`,
					`<p class="brand">ACME Konto</p>`, `<a href="mailto:help@acme.example">help@acme.example</a>`} {
					if !strings.Contains(body, want) {
						t.Errorf("the page lacks %s:\n%s", want, body)
					}
				}
				if regexp.MustCompile(`(?i)<style|\sstyle=`).MatchString(body) {
					t.Errorf("the page has inline styles:\n%s", body)
				}
			})
			t.Run("the CSP adds exactly the stylesheet's and the logo's origins", func(t *testing.T) {
				want := strings.NewReplacer("style-src 'self'", "style-src 'self' https://cdn.example.com",
					"img-src 'self' data:", "img-src 'self' data: https://img.example.com").Replace(baseCSP)
				if got := resp.Header.Get("Content-Security-Policy"); got != want {
					t.Errorf("CSP = %q\nwant %q", got, want)
				}
				root, _ := b.Get(srv.URL + "/")
				if got := root.Header.Get("Content-Security-Policy"); got != baseCSP {
					t.Errorf("a page of no tenant has CSP %q, want %q", got, baseCSP)
				}
			})
			t.Run("the branding stylesheet sets the primary colour and is cacheable with an ETag", func(t *testing.T) {
				href := regexp.MustCompile(`href="(/t/test/branding\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
				if href == nil {
					t.Fatal("no branding stylesheet link")
				}
				css, text := b.Get(srv.URL + href[1])
				if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") ||
					!strings.Contains(text, "--accent: #1a56db;") || !strings.Contains(text, "--brand-primary: #1a56db;") {
					t.Fatalf("branding.css = %d %q:\n%s", css.StatusCode, css.Header.Get("Content-Type"), text)
				}
				etag := css.Header.Get("ETag")
				if etag == "" || !strings.Contains(css.Header.Get("Cache-Control"), "max-age") {
					t.Fatalf("ETag %q, Cache-Control %q", etag, css.Header.Get("Cache-Control"))
				}
				req, _ := http.NewRequest(http.MethodGet, srv.URL+href[1], nil)
				req.Header.Set("If-None-Match", etag)
				if again, _ := b.Do(req); again.StatusCode != http.StatusNotModified {
					t.Errorf("a revalidation with the ETag answered %d, want 304", again.StatusCode)
				}
			})
		})
	}
}

func TestATenantWithoutBrandingKeepsTheBaseCSP(t *testing.T) {
	t.Parallel()
	srv := servertest.New(t)
	resp, body := srv.NewBrowser(t).Get(srv.TenantURL("/login"))
	if got := resp.Header.Get("Content-Security-Policy"); got != baseCSP {
		t.Errorf("CSP = %q, want %q", got, baseCSP)
	}
	if strings.Contains(body, "branding.css") || strings.Contains(body, "brand-logo") {
		t.Errorf("a tenant without branding links branding:\n%s", body)
	}
	if !strings.Contains(body, `<p class="brand">Test Tenant</p>`) {
		t.Errorf("the header lacks the tenant's name:\n%s", body)
	}
}
