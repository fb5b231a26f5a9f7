package web

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestCORS(t *testing.T) {
	const app = "https://app.example"
	c := &CORS{
		Allow:   func(_ *http.Request, origin string) bool { return origin == app },
		Methods: []string{http.MethodPost},
		Headers: []string{"Authorization", "DPoP"},
		Expose:  []string{"WWW-Authenticate"},
		MaxAge:  10 * time.Minute,
	}
	handler := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // an OAuth error the app must be able to read
	}))
	serve := func(h http.Handler, method string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "https://id.example/t/a/token", nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	noCredentials := func(t *testing.T, w *httptest.ResponseRecorder) {
		t.Helper()
		if v := w.Header().Values("Access-Control-Allow-Credentials"); len(v) > 0 {
			t.Errorf("Access-Control-Allow-Credentials %q: the endpoints never take cookies from other origins", v)
		}
		if !slices.Contains(w.Header().Values("Vary"), "Origin") {
			t.Errorf("Vary %q, want Origin", w.Header().Values("Vary"))
		}
	}

	t.Run("an allowed origin reads the answer, errors included", func(t *testing.T) {
		w := serve(handler, http.MethodPost, map[string]string{"Origin": app})
		if w.Code != http.StatusBadRequest || w.Header().Get("Access-Control-Allow-Origin") != app ||
			w.Header().Get("Access-Control-Expose-Headers") != "WWW-Authenticate" {
			t.Errorf("status %d headers %v", w.Code, w.Header())
		}
		noCredentials(t, w)
	})
	t.Run("another origin gets no CORS headers but the same answer", func(t *testing.T) {
		w := serve(handler, http.MethodPost, map[string]string{"Origin": "https://evil.example"})
		if w.Code != http.StatusBadRequest || w.Header().Get("Access-Control-Allow-Origin") != "" ||
			w.Header().Get("Access-Control-Expose-Headers") != "" {
			t.Errorf("status %d headers %v", w.Code, w.Header())
		}
		noCredentials(t, w)
	})
	t.Run("a request without Origin gets no CORS headers", func(t *testing.T) {
		w := serve(handler, http.MethodPost, nil)
		if w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("headers %v", w.Header())
		}
		noCredentials(t, w)
	})
	t.Run("the null origin of sandboxed pages is never allowed", func(t *testing.T) {
		w := serve(handler, http.MethodPost, map[string]string{"Origin": "null"})
		if w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("headers %v", w.Header())
		}
	})

	pre := c.Preflight()
	for _, tt := range []struct {
		name    string
		hdr     map[string]string
		approve bool
	}{
		{"a preflight from an allowed origin is approved", map[string]string{"Origin": app,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, dpop"}, true},
		{"a preflight without extra headers is approved", map[string]string{"Origin": app,
			"Access-Control-Request-Method": "POST"}, true},
		{"a preflight from another origin is not", map[string]string{"Origin": "https://evil.example",
			"Access-Control-Request-Method": "POST"}, false},
		{"a preflight for another method is not", map[string]string{"Origin": app,
			"Access-Control-Request-Method": "DELETE"}, false},
		{"a preflight asking for another header is not", map[string]string{"Origin": app,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, cookie"}, false},
		{"an OPTIONS request that is no preflight is not", map[string]string{"Origin": app}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(pre, http.MethodOptions, tt.hdr)
			if w.Code != http.StatusNoContent || w.Header().Get("Allow") != "OPTIONS, POST" {
				t.Errorf("status %d Allow %q", w.Code, w.Header().Get("Allow"))
			}
			h := w.Header()
			if !tt.approve {
				for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
					if h.Get(k) != "" {
						t.Errorf("%s: %q on a refused preflight", k, h.Get(k))
					}
				}
			} else if h.Get("Access-Control-Allow-Origin") != app || h.Get("Access-Control-Allow-Methods") != "POST" ||
				h.Get("Access-Control-Allow-Headers") != "Authorization, DPoP" || h.Get("Access-Control-Max-Age") != "600" {
				t.Errorf("headers %v", h)
			}
			noCredentials(t, w)
		})
	}
}
