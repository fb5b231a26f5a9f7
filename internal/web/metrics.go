package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are UMM's Prometheus metrics. Label values are bounded: routes are ServeMux patterns (or
// "unmatched"), methods the standard ones (else "OTHER"); surfaces pass only fixed result and grant names.
// Every method is safe on a nil *Metrics, which records nothing (tests pass nil).
type Metrics struct {
	HTTP         *prometheus.CounterVec   // umm_http_requests_total{method,route,status}
	HTTPDuration *prometheus.HistogramVec // umm_http_request_duration_seconds{route}
	Logins       *prometheus.CounterVec   // umm_logins_total{result}
	Tokens       *prometheus.CounterVec   // umm_tokens_issued_total{grant}
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered). Metrics already
// registered with reg (a second NewMetrics on one registry) are reused.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		HTTP: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umm_http_requests_total",
			Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "umm_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umm_logins_total",
			Help: "Login attempts by result.",
		}, []string{"result"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "umm_tokens_issued_total",
			Help: "Token responses issued by grant type.",
		}, []string{"grant"}),
	}
	if reg != nil {
		m.HTTP = register(reg, m.HTTP)
		m.HTTPDuration = register(reg, m.HTTPDuration)
		m.Logins = register(reg, m.Logins)
		m.Tokens = register(reg, m.Tokens)
	}
	return m
}

// register registers c, returning the collector already registered under its name if there is one.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("web: register metric: " + err.Error())
	}
	return c
}

// Middleware counts and times requests by route pattern (r.Pattern, which ServeMux sets on the request
// it routes; wrap the mux directly). It also hands the pattern to AccessLog, which may see only a copy of
// the request. A nil m records nothing but still hands the pattern on.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := record(w)
			defer rec.notePattern(r)
			next.ServeHTTP(rec, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := record(w)
		defer func() {
			// Deferred so a panicking handler is still counted (as the 500 Recover will write).
			rec.notePattern(r)
			status := rec.statusCode()
			if p := recover(); p != nil {
				if !rec.wroteHeader {
					status = http.StatusInternalServerError
				}
				m.observe(r.Method, rec.route(), status, time.Since(start))
				panic(p)
			}
			m.observe(r.Method, rec.route(), status, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	m.HTTP.WithLabelValues(safeMethod(method), route, statusLabel(status)).Inc()
	m.HTTPDuration.WithLabelValues(route).Observe(d.Seconds())
}

func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

// Login counts a login attempt by result, one of a fixed set such as "success", "failure", "locked",
// "throttled".
func (m *Metrics) Login(result string) {
	if m == nil {
		return
	}
	m.Logins.WithLabelValues(result).Inc()
}

// TokenIssued counts a token response by grant type ("authorization_code", "refresh_token",
// "client_credentials", "urn:ietf:params:oauth:grant-type:device_code").
func (m *Metrics) TokenIssued(grant string) {
	if m == nil {
		return
	}
	m.Tokens.WithLabelValues(grant).Inc()
}
