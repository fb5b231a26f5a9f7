package web

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// WriteJSON writes v as JSON with status and Content-Type application/json. HTML characters are not
// escaped (the body is never HTML). v is encoded before anything is sent: if it cannot be encoded the
// answer is a 500 {"error":"server_error"}.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"error":"server_error"}` + "\n")
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// NoStore forbids caching of the response (tokens, pages with CSRF tokens or personal data):
// Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1).
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
