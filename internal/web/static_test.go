package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStatic(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", Static())
	tests := []struct {
		name, method, path string
		status             int
		ctype, cache       string
		body               string
	}{
		{"the stylesheet is served as CSS", "GET", "/static/umm.css", 200, "text/css; charset=utf-8", "public, max-age=86400", "font-family"},
		{"a versioned URL is cached for a year", "GET", assetURL("umm.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ":root"},
		{"a stale version is cached for a day only", "GET", "/static/umm.css?v=old", 200, "text/css; charset=utf-8", "public, max-age=86400", ":root"},
		{"the form_post script is served as JavaScript", "GET", "/static/form_post.js", 200, "text/javascript; charset=utf-8", "public, max-age=86400", `getElementById("auto-submit")`},
		{"the icon is served as SVG", "GET", "/static/favicon.svg", 200, "image/svg+xml", "public, max-age=86400", "<svg"},
		{"HEAD is answered without a body", "HEAD", "/static/umm.css", 200, "text/css; charset=utf-8", "public, max-age=86400", ""},
		{"an unknown file is not found", "GET", "/static/nope.css", 404, "", "", ""},
		{"the directory is not listed", "GET", "/static/", 404, "", "", ""},
		{"a traversal attempt is not found", "GET", "/static/../static/umm.css", 0, "", "", ""},
		{"a POST is refused", "POST", "/static/umm.css", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if tt.status == 0 { // the mux cleans the path with a redirect; never a file outside static
				if w.Code == 200 {
					t.Errorf("status 200 for %s", tt.path)
				}
				return
			}
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if got := w.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("ETag") == "" {
				t.Errorf("headers = %v", w.Header())
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
		})
	}
	t.Run("a matching ETag answers 304", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/static/umm.css", nil)
		r.Header.Set("If-None-Match", `"`+assets["umm.css"].version+`"`)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusNotModified {
			t.Errorf("status = %d", w.Code)
		}
	})
	t.Run("the stylesheet has visible focus styles and no remote imports", func(t *testing.T) {
		css := string(assets["umm.css"].content)
		if !strings.Contains(css, ":focus-visible") || strings.Contains(css, "@import") || strings.Contains(css, "url(") {
			t.Error("umm.css lacks focus styles or loads remote resources")
		}
	})
}
