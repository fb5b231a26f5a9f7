package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	var ctxReq *http.Request
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-ID", "rid-7")
	RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ctxReq = r })).
		ServeHTTP(httptest.NewRecorder(), r)
	ctx := ctxReq.Context()

	tests := []struct {
		name  string
		log   func()
		count int
	}{
		{"a record made with the request's context gets its request_id", func() { log.InfoContext(ctx, "hello") }, 1},
		{"a record made without a context gets none", func() { log.Info("hello") }, 0},
		{"a record with its own request_id is not given a second", func() { log.InfoContext(ctx, "hi", "request_id", "rid-7") }, 1},
		{"a logger with a request_id attribute is not given a second", func() { log.With("request_id", "rid-7").InfoContext(ctx, "hi") }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			tt.log()
			if got := strings.Count(buf.String(), `"request_id":"rid-7"`); got != tt.count {
				t.Errorf("request_id appears %d times, want %d: %s", got, tt.count, buf.String())
			}
		})
	}
}
