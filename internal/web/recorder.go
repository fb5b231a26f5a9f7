package web

import (
	"bufio"
	"net"
	"net/http"
)

// recorder notes what a handler wrote: status, byte count and the route pattern. AccessLog, Recover and
// Metrics share one recorder per request (record reuses an existing one), so the pattern noted by the
// middleware closest to the mux is seen by the outer ones, even when a middleware in between passed on
// a copy of the request (r.WithContext) that the mux then annotated.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	pattern     string
}

// record returns w itself when it is already a recorder, else a new recorder around w.
func record(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (rec *recorder) WriteHeader(code int) {
	if !rec.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.status = code
		rec.wroteHeader = true
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wroteHeader {
		rec.status = http.StatusOK
		rec.wroteHeader = true
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Flush supports streaming handlers that assert http.Flusher.
func (rec *recorder) Flush() {
	if !rec.wroteHeader {
		rec.status = http.StatusOK
		rec.wroteHeader = true
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Hijack supports handlers that assert http.Hijacker.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(rec.ResponseWriter).Hijack()
}

// notePattern keeps the route pattern the mux set on r, if any.
func (rec *recorder) notePattern(r *http.Request) {
	if r.Pattern != "" {
		rec.pattern = r.Pattern
	}
}

// route is the matched pattern, or "unmatched" (404, 405) so that labels stay bounded.
func (rec *recorder) route() string {
	if rec.pattern == "" {
		return "unmatched"
	}
	return rec.pattern
}

// statusCode is the status sent, 200 when the handler wrote nothing.
func (rec *recorder) statusCode() int {
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}
