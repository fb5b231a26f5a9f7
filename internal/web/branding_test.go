package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
)

func TestBrandingCSS(t *testing.T) {
	t.Parallel()
	css := string(BrandingCSS(config.Branding{PrimaryColor: "#1a56db"}))
	for _, want := range []string{"--brand-primary: #1a56db;", "--accent: #1a56db;", "--accent-hover: #1444af;", "--accent-text: #ffffff;",
		"@media not all and (prefers-color-scheme: dark)"} {
		if !strings.Contains(css, want) {
			t.Errorf("the stylesheet lacks %q:\n%s", want, css)
		}
	}
	for _, bad := range []string{"#ffff00", "red;} body{display:none", ""} {
		if css := string(BrandingCSS(config.Branding{PrimaryColor: bad})); strings.Contains(css, "--accent") {
			t.Errorf("colour %q made it into the stylesheet:\n%s", bad, css)
		}
	}
	if BrandingPath("a", config.Branding{PrimaryColor: "#1a56db"}) == BrandingPath("a", config.Branding{PrimaryColor: "#000000"}) {
		t.Error("another colour keeps the stylesheet's URL: browsers would keep the old one")
	}
}

func TestServeBrandingCSS(t *testing.T) {
	t.Parallel()
	b := config.Branding{PrimaryColor: "#1a56db"}
	w := httptest.NewRecorder()
	ServeBrandingCSS(w, httptest.NewRequest("GET", "/t/a/branding.css", nil), b)
	etag := w.Header().Get("ETag")
	if w.Code != http.StatusOK || etag == "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("status %d, ETag %q, type %q", w.Code, etag, w.Header().Get("Content-Type"))
	}
	r := httptest.NewRequest("GET", "/t/a/branding.css", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	ServeBrandingCSS(w, r, b)
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("a matching If-None-Match answered %d with %d bytes", w.Code, w.Body.Len())
	}
	r.Header.Set("If-None-Match", `"stale"`)
	w = httptest.NewRecorder()
	ServeBrandingCSS(w, r, b)
	if w.Code != http.StatusOK {
		t.Errorf("a stale ETag answered %d", w.Code)
	}
}

func TestAllowBranding(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	allowBranding(w, config.Branding{StylesheetURL: "https://cdn.example.com/a/b.css?x=1", LogoURL: "https://img.example.com:8443/l.png"})
	want := strings.NewReplacer("style-src 'self'", "style-src 'self' https://cdn.example.com",
		"img-src 'self' data:", "img-src 'self' data: https://img.example.com:8443").Replace(contentSecurityPolicy)
	if got := w.Header().Get("Content-Security-Policy"); got != want {
		t.Errorf("CSP = %q\nwant %q", got, want)
	}
	w = httptest.NewRecorder()
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	allowBranding(w, config.Branding{StylesheetURL: "http://cdn.example.com/x.css", LogoURL: "javascript:alert(1)"})
	if got := w.Header().Get("Content-Security-Policy"); got != contentSecurityPolicy {
		t.Errorf("non-https URLs widened the policy: %q", got)
	}
}
