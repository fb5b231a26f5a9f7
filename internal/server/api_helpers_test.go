package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/server/servertest"
)

// mgmt calls the management API of a test server as one client, and checks every answer against the
// server's own OpenAPI document with an independent validator.
type mgmt struct {
	t     testing.TB
	srv   *servertest.Server
	token string
	v     validator.Validator
}

var (
	docValidatorsMu sync.Mutex
	docValidators   = map[string]validator.Validator{}
)

// openAPIValidator loads the server's document once per server and builds a validator on it.
func openAPIValidator(t testing.TB, srv *servertest.Server) validator.Validator {
	t.Helper()
	docValidatorsMu.Lock()
	defer docValidatorsMu.Unlock()
	if v, ok := docValidators[srv.URL]; ok {
		return v
	}
	resp, err := http.Get(srv.URL + admin.APIPrefix + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET openapi.json = %d\n%s", resp.StatusCode, raw)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("the OpenAPI document does not parse: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("the OpenAPI document cannot be validated against: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("OpenAPI document: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	docValidators[srv.URL] = v
	return v
}

// clientToken gets an access token for a client with the client credentials grant.
func clientToken(t testing.TB, srv *servertest.Server, tenant, clientID, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/t/"+tenant+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("client credentials for %s/%s = %d\n%s", tenant, clientID, resp.StatusCode, raw)
	}
	return tr.AccessToken
}

// operator returns a caller holding a token of the operator tenant's bootstrap client (umm:admin).
func operator(t testing.TB, srv *servertest.Server) *mgmt {
	t.Helper()
	b, ok := srv.Bootstrap()
	if !ok {
		t.Fatal("the server created no bootstrap client")
	}
	return &mgmt{t: t, srv: srv, token: clientToken(t, srv, b.Tenant, b.ClientID, string(b.Secret), admin.ScopeAdmin), v: openAPIValidator(t, srv)}
}

// as returns a caller with another token on the same server.
func (m *mgmt) as(token string) *mgmt {
	return &mgmt{t: m.t, srv: m.srv, token: token, v: m.v}
}

// apiResp is an answer of the management API.
type apiResp struct {
	*http.Response
	body []byte
}

// json decodes the body into v, failing the test when it does not decode.
func (r apiResp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: body does not decode: %v\n%s", r.Request.Method, r.Request.URL.Path, err, r.body)
	}
}

// problem decodes a problem document, failing the test unless the answer is one with want status.
func (r apiResp) problem(t testing.TB, want int) admin.Problem {
	t.Helper()
	var p admin.Problem
	if r.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s %s: Content-Type %q, want application/problem+json", r.Request.Method, r.Request.URL.Path, ct)
	}
	r.json(t, &p)
	if p.Status != want || !strings.HasPrefix(p.Type, admin.ProblemTypeBase) || p.Title == "" || p.Detail == "" {
		t.Fatalf("%s %s: malformed problem document: %s", r.Request.Method, r.Request.URL.Path, r.body)
	}
	return p
}

// do sends one request (body: nil, a string sent as is, or a value sent as JSON) with extra headers as
// name, value pairs, and validates the answer against the OpenAPI document.
func (m *mgmt) do(method, path string, body any, headers ...string) apiResp {
	m.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			m.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	if method == http.MethodPatch {
		ct = "application/merge-patch+json"
	}
	req, err := http.NewRequest(method, m.srv.URL+admin.APIPrefix+path, rd)
	if err != nil {
		m.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	// The frame's answers to paths and methods the document does not have cannot be checked against it.
	unrouted := bytes.Contains(raw, []byte(admin.ProblemTypeBase+"no-such-route")) || bytes.Contains(raw, []byte(admin.ProblemTypeBase+"method-not-allowed"))
	if ok, errs := m.v.ValidateHttpResponse(req, resp); !ok && !unrouted {
		for _, e := range errs {
			m.t.Errorf("%s %s = %d does not match the OpenAPI document: %s: %s", method, path, resp.StatusCode, e.Message, e.Reason)
		}
	}
	return apiResp{Response: resp, body: raw}
}

// ok sends a request and fails the test unless the answer has status want.
func (m *mgmt) ok(want int, method, path string, body any, headers ...string) apiResp {
	m.t.Helper()
	r := m.do(method, path, body, headers...)
	if r.StatusCode != want {
		m.t.Fatalf("%s %s = %d, want %d\n%s", method, path, r.StatusCode, want, r.body)
	}
	return r
}
