package web

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"a request without an id gets a new one", "", false},
		{"a short safe incoming id is kept", "abc-123_X.y", true},
		{"an id of exactly 64 characters is kept", strings.Repeat("a", 64), true},
		{"an id longer than 64 characters is replaced", strings.Repeat("a", 65), false},
		{"an id with a space is replaced", "abc def", false},
		{"an id with a newline is replaced", "abc\nlevel=ERROR", false},
		{"an id with quotes is replaced", `a"b`, false},
		{"an id with non-ASCII letters is replaced", "idé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = RequestIDFrom(r.Context())
			}))
			r := httptest.NewRequest("GET", "/", nil)
			if tt.incoming != "" {
				r.Header.Set("X-Request-ID", tt.incoming)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if seen == "" {
				t.Fatal("handler saw no request id")
			}
			if got := w.Header().Get("X-Request-ID"); got != seen {
				t.Errorf("response header %q, context %q: want the same", got, seen)
			}
			if tt.keep && seen != tt.incoming {
				t.Errorf("id = %q, want the incoming %q", seen, tt.incoming)
			}
			if !tt.keep && (seen == tt.incoming || !validRequestID(seen)) {
				t.Errorf("id = %q, want a fresh safe id", seen)
			}
		})
	}
	t.Run("two requests without ids get different ids", func(t *testing.T) {
		h := RequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		a, b := httptest.NewRecorder(), httptest.NewRecorder()
		h.ServeHTTP(a, httptest.NewRequest("GET", "/", nil))
		h.ServeHTTP(b, httptest.NewRequest("GET", "/", nil))
		if a.Header().Get("X-Request-ID") == b.Header().Get("X-Request-ID") {
			t.Error("ids are equal")
		}
	})
	t.Run("a context without an id gives the empty string", func(t *testing.T) {
		if got := RequestIDFrom(t.Context()); got != "" {
			t.Errorf("RequestIDFrom = %q", got)
		}
	})
}

func captureLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestRecover(t *testing.T) {
	const secret = "db password is hunter2"
	tests := []struct {
		name     string
		path     string
		accept   string
		wantType string
	}{
		{"a panicking page answers a 500 page without the panic text", "/t/acme/login", "text/html", "text/html"},
		{"a panicking API endpoint answers 500 JSON without the panic text", "/t/acme/token", "", "application/json"},
		{"a client accepting only JSON gets JSON", "/t/acme/whatever", "application/json", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := captureLog()
			h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(errors.New(secret)) }),
				RequestID, Recover(log))
			r := httptest.NewRequest("GET", tt.path, nil)
			r.Header.Set("Accept", tt.accept)
			r.Header.Set("X-Request-ID", "req-1")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.wantType)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("body leaks the panic: %s", w.Body)
			}
			if tt.wantType == "application/json" && !strings.Contains(w.Body.String(), `"error":"server_error"`) {
				t.Errorf("body = %s, want server_error", w.Body)
			}
			if tt.wantType == "text/html" && !strings.Contains(w.Body.String(), "req-1") {
				t.Errorf("page does not show the request id as reference: %s", w.Body)
			}
			l := logs.String()
			for _, want := range []string{`"request_id":"req-1"`, "hunter2", `"stack":"goroutine`} {
				if !strings.Contains(l, want) {
					t.Errorf("log lacks %s: %s", want, l)
				}
			}
		})
	}
	t.Run("a panic after the response started aborts the connection", func(t *testing.T) {
		log, _ := captureLog()
		h := Recover(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic("boom")
		}))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
	t.Run("http.ErrAbortHandler passes through", func(t *testing.T) {
		log, logs := captureLog()
		h := Recover(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", v)
			}
			if logs.Len() != 0 {
				t.Errorf("logged %s", logs)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

func TestAccessLog(t *testing.T) {
	log, logs := captureLog()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{tenant}/authorize", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFound)
		_, _ = w.Write([]byte("12345"))
	})
	// copyRequest passes a copy of the request on, as a middleware adding to the context does: the route
	// the mux sets on the copy still reaches the log, through the recorder the metrics middleware shares.
	copyRequest := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, r.WithContext(r.Context())) })
	}
	var metrics *Metrics // nil: records nothing but still notes the route
	h := Chain(mux, RequestID, AccessLog(log), copyRequest, metrics.Middleware)
	r := httptest.NewRequest("GET", "/t/acme/authorize?code=SECRETCODE&state=xyz", nil)
	r.Header.Set("Cookie", "umm_session=SESSIONSECRET")
	r.Header.Set("Authorization", "Bearer TOKENSECRET")
	r.RemoteAddr = "192.0.2.7:5555"
	h.ServeHTTP(httptest.NewRecorder(), r)
	line := logs.String()

	for _, tt := range []struct{ name, text string }{
		{"the query string is not logged", "SECRETCODE"},
		{"the state is not logged", "xyz"},
		{"cookies are not logged", "SESSIONSECRET"},
		{"the Authorization header is not logged", "TOKENSECRET"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(line, tt.text) {
				t.Errorf("log contains %q: %s", tt.text, line)
			}
		})
	}
	for _, tt := range []struct{ name, text string }{
		{"the path is logged", `"path":"/t/acme/authorize"`},
		{"the route pattern is logged", `"route":"GET /t/{tenant}/authorize"`},
		{"the status is logged", `"status":302`},
		{"the bytes are logged", `"bytes":5`},
		{"the client ip is logged", `"client_ip":"192.0.2.7"`},
		{"the request id is logged", `"request_id":"`},
		{"the method is logged", `"method":"GET"`},
		{"the duration is logged", `"duration":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(line, tt.text) {
				t.Errorf("log lacks %s: %s", tt.text, line)
			}
		})
	}
	t.Run("an unrouted request is logged as unmatched with its status", func(t *testing.T) {
		logs.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nope", nil))
		if l := logs.String(); !strings.Contains(l, `"route":"unmatched"`) || !strings.Contains(l, `"status":404`) {
			t.Errorf("log = %s", l)
		}
	})
	t.Run("a panic no inner middleware recovers is logged as a 500 and passed on", func(t *testing.T) {
		logs.Reset()
		func() {
			defer func() { _ = recover() }()
			AccessLog(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).
				ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
			t.Error("the panic was swallowed")
		}()
		if l := logs.String(); !strings.Contains(l, `"status":500`) {
			t.Errorf("log = %s", l)
		}
	})
	t.Run("an unknown method is logged as OTHER", func(t *testing.T) {
		logs.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("FLOOD", "/nope", nil))
		if l := logs.String(); !strings.Contains(l, `"method":"OTHER"`) {
			t.Errorf("log = %s", l)
		}
	})
	t.Run("a handler writing nothing is logged as 200", func(t *testing.T) {
		logs.Reset()
		AccessLog(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
		if l := logs.String(); !strings.Contains(l, `"status":200`) {
			t.Errorf("log = %s", l)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	serve := func(publicURL string, h http.HandlerFunc) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		SecurityHeaders(publicURL)(h).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w
	}
	nothing := func(http.ResponseWriter, *http.Request) {}
	w := serve("https://id.example.com", nothing)
	for _, tt := range []struct{ name, header, want string }{
		{"nosniff is set", "X-Content-Type-Options", "nosniff"},
		{"the referrer is never sent", "Referrer-Policy", "no-referrer"},
		{"framing is denied", "X-Frame-Options", "DENY"},
		{"the opener is isolated", "Cross-Origin-Opener-Policy", "same-origin"},
		{"the CSP is the strict policy", "Content-Security-Policy", contentSecurityPolicy},
		{"HSTS is sent for an https public URL", "Strict-Transport-Security", "max-age=63072000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.Header().Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
	t.Run("the CSP has no unsafe-inline or unsafe-eval", func(t *testing.T) {
		csp := w.Header().Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP = %q", csp)
		}
		for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("CSP lacks %s: %q", d, csp)
			}
		}
	})
	t.Run("HSTS is not sent for an http public URL", func(t *testing.T) {
		if got := serve("http://localhost:8080", nothing).Header().Get("Strict-Transport-Security"); got != "" {
			t.Errorf("HSTS = %q", got)
		}
	})
}

func TestAllowFormAction(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		want    string // the form-action directive
	}{
		{"an https redirect URI adds its origin only", []string{"https://App.example.com:8443/cb?x=1#f"}, "form-action 'self' https://app.example.com:8443"},
		{"a loopback http redirect URI adds its origin", []string{"http://127.0.0.1:5000/callback"}, "form-action 'self' http://127.0.0.1:5000"},
		{"a native app's custom scheme adds the scheme", []string{"com.example.app:/oauth2redirect"}, "form-action 'self' com.example.app:"},
		{"two URIs of one origin add it once", []string{"https://a.example/1", "https://a.example/2"}, "form-action 'self' https://a.example"},
		{"a javascript URL is ignored", []string{"javascript:alert(1)"}, "form-action 'self'"},
		{"a value trying to inject a directive is ignored", []string{"https://a.example;script-src *"}, "form-action 'self'"},
		{"a relative URL is ignored", []string{"/cb"}, "form-action 'self'"},
		{"a wildcard is ignored", []string{"*"}, "form-action 'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			SecurityHeaders("http://localhost")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				AllowFormAction(w, tt.origins...)
				w.WriteHeader(http.StatusOK)
			})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			csp := w.Header().Get("Content-Security-Policy")
			var got string
			for _, d := range strings.Split(csp, ";") {
				if d = strings.TrimSpace(d); strings.HasPrefix(d, "form-action") {
					got = d
				}
			}
			if got != tt.want {
				t.Errorf("form-action = %q, want %q (CSP %q)", got, tt.want, csp)
			}
			if strings.Count(csp, ";") != strings.Count(contentSecurityPolicy, ";") {
				t.Errorf("directives changed: %q", csp)
			}
		})
	}
	t.Run("without a CSP header nothing is added", func(t *testing.T) {
		w := httptest.NewRecorder()
		AllowFormAction(w, "https://a.example/cb")
		if got := w.Header().Get("Content-Security-Policy"); got != "" {
			t.Errorf("CSP = %q", got)
		}
	})
}

func TestMaxBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"a body within the limit is read whole", "0123456789", false},
		{"a body over the limit fails to read", "0123456789A", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			MaxBody(10)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err = io.ReadAll(r.Body)
			})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(tt.body)))
			var mbe *http.MaxBytesError
			if tt.wantErr != errors.As(err, &mbe) {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestChain(t *testing.T) {
	var order []string
	mw := func(name string) Middleware {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { order = append(order, "h") }),
		mw("a"), nil, mw("b"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := strings.Join(order, ","); got != "a,b,h" {
		t.Errorf("order = %s, want the first middleware outermost (a,b,h)", got)
	}
}

func TestWantsJSON(t *testing.T) {
	tests := []struct {
		name, method, path, accept, contentType string
		want                                    bool
	}{
		{"the token endpoint wants JSON", "POST", "/t/acme/token", "", "application/x-www-form-urlencoded", true},
		{"the userinfo endpoint wants JSON", "GET", "/t/acme/userinfo", "", "", true},
		{"the discovery document wants JSON", "GET", "/t/acme/.well-known/openid-configuration", "", "", true},
		{"the admin API wants JSON", "GET", "/admin/api/v1/tenants", "", "", true},
		{"a browser on the login page wants HTML", "GET", "/t/acme/login", "text/html,application/xhtml+xml,*/*;q=0.8", "", false},
		{"a client accepting JSON only wants JSON", "GET", "/t/acme/login", "application/json", "", true},
		{"a client sending JSON wants JSON", "POST", "/t/acme/x", "", "application/json", true},
		{"a request with no Accept wants HTML", "GET", "/t/acme/device", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.Header.Set("Accept", tt.accept)
			r.Header.Set("Content-Type", tt.contentType)
			if got := WantsJSON(r); got != tt.want {
				t.Errorf("WantsJSON = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	t.Run("JSON is written with its content type and without HTML escaping", func(t *testing.T) {
		w := httptest.NewRecorder()
		WriteJSON(w, http.StatusCreated, map[string]string{"uri": "https://a.example/?a=1&b=<2>"})
		if w.Code != http.StatusCreated || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
		}
		if got := strings.TrimSpace(w.Body.String()); got != `{"uri":"https://a.example/?a=1&b=<2>"}` {
			t.Errorf("body = %s", got)
		}
	})
	t.Run("a value that cannot be encoded answers a 500 server_error", func(t *testing.T) {
		w := httptest.NewRecorder()
		WriteJSON(w, http.StatusOK, map[string]any{"f": func() {}})
		if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "server_error") {
			t.Errorf("status %d body %s", w.Code, w.Body)
		}
	})
	t.Run("NoStore forbids caching", func(t *testing.T) {
		w := httptest.NewRecorder()
		NoStore(w)
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
			t.Errorf("headers = %v", w.Header())
		}
	})
}
