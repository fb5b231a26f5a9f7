package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllowFrameSrc(t *testing.T) {
	tests := []struct {
		name string
		urls []string
		want string // the frame-src directive, "" for none
	}{
		{"one URL is allowed by its exact path", []string{"https://rp.example.com/fc?x=1"}, "frame-src https://rp.example.com/fc"},
		{"two URLs are both listed once", []string{"https://a.example/l", "http://127.0.0.1:8080/logout", "https://a.example/l"},
			"frame-src https://a.example/l http://127.0.0.1:8080/logout"},
		{"a semicolon in the path cannot end the directive", []string{"https://a.example/l;script-src *"},
			"frame-src https://a.example/l%3Bscript-src%20%2A"},
		{"a javascript URL is dropped", []string{"javascript:alert(1)"}, ""},
		{"no URLs add nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
			AllowFrameSrc(w, tt.urls...)
			csp := w.Header().Get("Content-Security-Policy")
			var got string
			for _, d := range strings.Split(csp, ";") {
				if d = strings.TrimSpace(d); strings.HasPrefix(d, "frame-src") {
					got = d
				}
			}
			if got != tt.want {
				t.Errorf("frame-src = %q, want %q (CSP %q)", got, tt.want, csp)
			}
			if !strings.HasPrefix(csp, contentSecurityPolicy) {
				t.Errorf("the base policy changed: %q", csp)
			}
		})
	}
}

func TestAllowFramedBySelf(t *testing.T) {
	h := SecurityHeaders("https://umm.example")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AllowFramedBySelf(w)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "frame-ancestors 'none'") ||
		rec.Header().Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("CSP %q, X-Frame-Options %q", csp, rec.Header().Get("X-Frame-Options"))
	}
}
