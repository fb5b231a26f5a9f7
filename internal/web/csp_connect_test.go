package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllowConnectSelf(t *testing.T) {
	var got string
	h := SecurityHeaders("https://id.example")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AllowConnectSelf(w)
		AllowConnectSelf(w) // twice adds it once
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	got = rec.Header().Get("Content-Security-Policy")
	if strings.Count(got, "connect-src 'self'") != 1 || !strings.Contains(got, "default-src 'none'") {
		t.Fatalf("CSP %q", got)
	}
	rec = httptest.NewRecorder()
	SecurityHeaders("https://id.example")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).
		ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if strings.Contains(rec.Header().Get("Content-Security-Policy"), "connect-src") {
		t.Fatal("connect-src on a page that did not ask for it")
	}
	rec = httptest.NewRecorder()
	AllowConnectSelf(rec) // no CSP: nothing
	if rec.Header().Get("Content-Security-Policy") != "" {
		t.Fatal("CSP set")
	}
}
