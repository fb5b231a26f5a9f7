package management

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeUMM is a fake UMM: a token endpoint for the client credentials grant, and a management API whose
// answers the tests set, recording the requests it got.
type fakeUMM struct {
	t   *testing.T
	srv *httptest.Server

	tokenRequests atomic.Int32
	expiresIn     int64
	mu            sync.Mutex
	valid         map[string]bool // tokens the API accepts
	tokenForms    []string        // the token requests' forms, encoded
	requests      []recorded
	handler       http.HandlerFunc // answers API requests after the token check
}

type recorded struct {
	Method, Path, Query, ContentType, IfMatch, Auth string
	Body                                            string
}

func newFakeUMM(t *testing.T) *fakeUMM {
	t.Helper()
	f := &fakeUMM{t: t, valid: map[string]bool{}, expiresIn: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /t/acme/token", func(w http.ResponseWriter, r *http.Request) {
		n := f.tokenRequests.Add(1)
		id, secret, _ := r.BasicAuth()
		_ = r.ParseForm()
		f.mu.Lock()
		f.tokenForms = append(f.tokenForms, r.PostForm.Encode())
		f.mu.Unlock()
		if id != "mgmt" || secret != "s3cr3t" || r.PostForm.Get("grant_type") != "client_credentials" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"client authentication failed"}`)
			return
		}
		tok := fmt.Sprintf("tok-%d", n)
		f.mu.Lock()
		f.valid[tok] = true
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d}`, tok, f.expiresIn)
	})
	mux.HandleFunc("/admin/api/v1/tenants/acme/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: strings.TrimPrefix(r.URL.EscapedPath(), "/admin/api/v1/tenants/acme"),
			Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"), IfMatch: r.Header.Get("If-Match"),
			Auth: r.Header.Get("Authorization"), Body: string(body)}
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		ok := f.valid[strings.TrimPrefix(rec.Auth, "Bearer ")]
		h := f.handler
		f.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "unauthorized", "the access token is not valid", nil)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUMM) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{PublicURL: f.srv.URL, Tenant: "acme", ClientID: "mgmt", ClientSecret: "s3cr3t",
		Scopes: []string{"umm:admin"}, HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeUMM) answer(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
	f.requests = nil
}

func (f *fakeUMM) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

func (f *fakeUMM) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func problem(w http.ResponseWriter, status int, slug, detail string, errs []FieldError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://umm.dev/problems/" + slug,
		"title": http.StatusText(status), "status": status, "detail": detail, "errors": errs})
}
