package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{tenant}/jwks.json", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /t/{tenant}/token", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) })
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	log, _ := captureLog()
	h := Chain(mux, RequestID, Recover(log), m.Middleware)
	for _, req := range []struct{ method, path string }{
		{"GET", "/t/a/jwks.json"}, {"GET", "/t/b/jwks.json"}, {"GET", "/t/c/jwks.json"},
		{"POST", "/t/a/token"},
		{"GET", "/nope/1"}, {"GET", "/nope/2"},
		{"BREW", "/t/a/token"},
		{"GET", "/panic"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	tests := []struct {
		name                  string
		method, route, status string
		want                  float64
	}{
		{"requests are counted by route pattern, not by path", "GET", "GET /t/{tenant}/jwks.json", "200", 3},
		{"the status is a label", "POST", "POST /t/{tenant}/token", "400", 1},
		{"unrouted requests share one route label", "GET", "unmatched", "404", 2},
		{"an unknown method is counted as OTHER", "OTHER", "unmatched", "405", 1},
		{"a panicking handler is counted as 500", "GET", "GET /panic", "500", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testutil.ToFloat64(m.HTTP.WithLabelValues(tt.method, tt.route, tt.status)); got != tt.want {
				t.Errorf("count = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("durations are observed by route", func(t *testing.T) {
		if n := testutil.CollectAndCount(m.HTTPDuration); n != 4 {
			t.Errorf("%d duration series, want 4 (jwks, token, unmatched, panic)", n)
		}
	})
	t.Run("logins and tokens are counted", func(t *testing.T) {
		m.Login("success")
		m.Login("failure")
		m.Login("failure")
		m.TokenIssued("authorization_code")
		if testutil.ToFloat64(m.Logins.WithLabelValues("failure")) != 2 || testutil.ToFloat64(m.Tokens.WithLabelValues("authorization_code")) != 1 {
			t.Error("wrong counts")
		}
	})
	t.Run("the metrics are exposed under their names", func(t *testing.T) {
		err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP umm_logins_total Login attempts by result.
# TYPE umm_logins_total counter
umm_logins_total{result="failure"} 2
umm_logins_total{result="success"} 1
`), "umm_logins_total")
		if err != nil {
			t.Error(err)
		}
		names := map[string]bool{}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			names[mf.GetName()] = true
		}
		for _, n := range []string{"umm_http_requests_total", "umm_http_request_duration_seconds", "umm_logins_total", "umm_tokens_issued_total"} {
			if !names[n] {
				t.Errorf("%s not registered", n)
			}
		}
	})
	t.Run("a second NewMetrics on one registry reuses the collectors", func(t *testing.T) {
		m2 := NewMetrics(reg)
		m2.Login("success")
		if got := testutil.ToFloat64(m.Logins.WithLabelValues("success")); got != 2 {
			t.Errorf("count = %v, want 2", got)
		}
	})
	t.Run("a nil Metrics records nothing and does not panic", func(t *testing.T) {
		var nm *Metrics
		nm.Login("success")
		nm.TokenIssued("refresh_token")
		w := httptest.NewRecorder()
		nm.Middleware(mux).ServeHTTP(w, httptest.NewRequest("GET", "/t/a/jwks.json", nil))
		if w.Code != 200 {
			t.Errorf("status = %d", w.Code)
		}
	})
	t.Run("metrics without a registry still work", func(t *testing.T) {
		NewMetrics(nil).Login("success")
	})
}
