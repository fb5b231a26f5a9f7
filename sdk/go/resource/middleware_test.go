package resource

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	clk := newClock()
	v := newValidator(t, is, clk, nil)

	mux := http.NewServeMux()
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject, "org": c.OrgID})
	})
	mux.Handle("GET /orders", v.Require("orders:read")(whoami))
	mux.Handle("POST /orders", v.Require("orders:write")(whoami))
	mux.Handle("GET /me", v.Middleware(whoami))
	// An outer Middleware and an inner Require validate the token once.
	mux.Handle("DELETE /orders", v.Middleware(v.Require("orders:delete")(whoami)))

	plain := is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"org_id": "org_1"}))
	writer := is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"permissions": []string{"orders:write"}}))
	expired := is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"exp": clk.now().Unix() - 3600}))

	tests := []struct {
		name, method, path, auth string
		status                   int
		challenge                string // part of WWW-Authenticate
	}{
		{"a request without a token gets a bare Bearer challenge", "GET", "/me", "", 401, "Bearer"},
		{"a Basic header is not a token", "GET", "/me", "Basic dXNlcjpwYXNz", 401, "Bearer"},
		{"a valid token reaches the handler", "GET", "/me", "Bearer " + plain, 200, ""},
		{"the scheme is case-insensitive", "GET", "/me", "bearer " + plain, 200, ""},
		{"an expired token is invalid_token", "GET", "/me", "Bearer " + expired, 401, `error="invalid_token", error_description="the token has expired"`},
		{"a permission in scope passes", "GET", "/orders", "Bearer " + plain, 200, ""},
		{"a permission in the permissions claim passes", "POST", "/orders", "Bearer " + writer, 200, ""},
		{"a missing permission is insufficient_scope", "POST", "/orders", "Bearer " + plain, 403, `error="insufficient_scope"`},
		{"insufficient_scope names the needed scope", "DELETE", "/orders", "Bearer " + plain, 403, `scope="orders:delete"`},
		{"the DPoP scheme is refused unless allowed", "GET", "/me", "DPoP " + plain, 401, "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			got := rec.Header().Get("WWW-Authenticate")
			if tt.challenge == "" && got != "" || !strings.Contains(got, tt.challenge) {
				t.Fatalf("WWW-Authenticate = %q, want it to contain %q", got, tt.challenge)
			}
			if tt.status == 401 && tt.challenge == "Bearer" && got != "Bearer" {
				t.Fatalf("WWW-Authenticate = %q, want a bare Bearer (RFC 6750 §3.1)", got)
			}
			if tt.status == 200 && !strings.Contains(rec.Body.String(), `"sub":"user-1"`) {
				t.Fatalf("body = %s", rec.Body)
			}
		})
	}
}

func TestMiddlewareDPoP(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	clk := newClock()
	v := newValidator(t, is, clk, func(c *Config) { c.AllowDPoP = true })
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFrom(r.Context())
		_, _ = w.Write([]byte(c.ConfirmationJKT))
	}))
	bound := is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"cnf": map[string]string{"jkt": "thumb"}}))
	bearer := is.sign("k1", "at+jwt", is.claims(clk, nil))
	tests := []struct {
		name, auth string
		status     int
	}{
		{"a bound token with the DPoP scheme passes, exposing its jkt", "DPoP " + bound, 200},
		{"a bound token sent as a bearer token is refused", "Bearer " + bound, 401},
		{"an unbound token with the DPoP scheme is refused", "DPoP " + bearer, 401},
		{"an unbound bearer token still passes", "Bearer " + bearer, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", tt.auth)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.status, rec.Header().Get("WWW-Authenticate"))
			}
			if tt.status == 200 && strings.HasPrefix(tt.auth, "DPoP") && rec.Body.String() != "thumb" {
				t.Fatalf("jkt = %q", rec.Body)
			}
		})
	}
}

func TestRequireOfAnotherValidatorValidatesAgain(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	clk := newClock()
	orders := newValidator(t, is, clk, nil)
	billing := newValidator(t, is, clk, func(c *Config) { c.Audience = "https://billing.acme.example" })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	// A token for the orders API passes the outer middleware, and must not pass billing's Require.
	h := orders.Middleware(billing.Require("orders:read")(ok))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+is.sign("k1", "at+jwt", is.claims(clk, nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "aud") {
		t.Fatalf("status = %d %s, want 401 naming aud", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Claims put in a context by a test are not taken for validated ones either.
	req = httptest.NewRequest("GET", "/", nil).WithContext(WithClaims(context.Background(), &Claims{Scopes: []string{"orders:read"}}))
	rec = httptest.NewRecorder()
	orders.Require("orders:read")(ok).ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", rec.Code)
	}
}
