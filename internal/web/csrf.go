package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/umm-project/umm/internal/config"
)

// CSRFCookie is the name of the cookie holding the browser's CSRF secret.
const CSRFCookie = "umm_csrf"

// CSRFField is the form field (and CSRFHeader the header) carrying the token.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

const csrfSecretLen = 32

// CSRF protects state-changing browser requests with a double-submit token bound by HMAC to a random
// per-browser cookie, plus an Origin check. The cookie is set when a form is rendered, before any session
// exists, so login forms are covered too.
type CSRF struct {
	key    []byte
	secure bool
	origin string // scheme://host[:port] of the public URL; "" derives it from the request
}

// NewCSRF returns a CSRF guard. key is a secret (keys.Keyring.MAC("umm csrf", ...)); secure marks the
// cookie Secure (public URL is https); publicOrigin is the public URL (only its origin is kept), against
// which a request's Origin header is compared.
// It panics when key is shorter than 16 bytes: that is a wiring mistake, not a runtime condition.
func NewCSRF(key []byte, secure bool, publicOrigin string) *CSRF {
	if len(key) < 16 {
		panic("web: NewCSRF needs a key of at least 16 bytes")
	}
	return &CSRF{key: append([]byte(nil), key...), secure: secure, origin: config.WebOrigin(publicOrigin)}
}

// Token returns a token for the forms of this response, setting the umm_csrf cookie if the browser has
// none (or a malformed one). Each call returns a different masked token (BREACH), all valid for the
// browser's cookie. Calling it twice in one response reuses the cookie already set.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	secret, ok := c.secretFrom(r)
	if !ok {
		secret, ok = secretSetOn(w)
	}
	if !ok {
		secret = make([]byte, csrfSecretLen)
		_, _ = rand.Read(secret)
		http.SetCookie(w, &http.Cookie{
			Name:     CSRFCookie,
			Value:    base64.RawURLEncoding.EncodeToString(secret),
			Path:     "/",
			HttpOnly: true,
			Secure:   c.secure,
			SameSite: http.SameSiteLaxMode,
		})
	}
	mac := c.mac(secret)
	mask := make([]byte, len(mac))
	_, _ = rand.Read(mask)
	tok := make([]byte, 0, 2*len(mac))
	tok = append(tok, mask...)
	for i := range mac {
		tok = append(tok, mac[i]^mask[i])
	}
	return base64.RawURLEncoding.EncodeToString(tok)
}

// Valid reports whether r (a POST from a browser) carries a token (form field csrf_token, or header
// X-CSRF-Token) matching its umm_csrf cookie, and, when it has an Origin header, comes from our own origin.
// A request that a browser marks Sec-Fetch-Site: cross-site is refused too.
//
// Origin "null" is not a foreign origin: browsers send it for a same-origin form POST from a page whose
// Referrer-Policy is no-referrer, as ours is (Fetch, "append a request Origin header"). Such a request is
// judged by Sec-Fetch-Site when the browser sends it (same-origin only), and by its token in any case.
func (c *CSRF) Valid(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site == "cross-site" {
		return false
	}
	switch o := r.Header.Get("Origin"); {
	case o == "":
	case o == "null":
		if site != "" && site != "same-origin" {
			return false
		}
	case !strings.EqualFold(o, c.requestOrigin(r)):
		return false
	}
	secret, ok := c.secretFrom(r)
	if !ok {
		return false
	}
	tok := r.PostFormValue(CSRFField)
	if tok == "" {
		tok = r.Header.Get(CSRFHeader)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 2*sha256.Size {
		return false
	}
	got := make([]byte, sha256.Size)
	for i := range got {
		got[i] = raw[i] ^ raw[sha256.Size+i]
	}
	return subtle.ConstantTimeCompare(got, c.mac(secret)) == 1
}

// requestOrigin is our own origin: the public URL's, else the one the request was addressed to.
func (c *CSRF) requestOrigin(r *http.Request) string {
	if c.origin != "" {
		return c.origin
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return config.WebOrigin(scheme + "://" + r.Host)
}

func (c *CSRF) mac(secret []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("umm csrf v1\x00"))
	m.Write(secret)
	return m.Sum(nil)
}

func (c *CSRF) secretFrom(r *http.Request) ([]byte, bool) {
	ck, err := r.Cookie(CSRFCookie)
	if err != nil {
		return nil, false
	}
	return decodeSecret(ck.Value)
}

func decodeSecret(v string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != csrfSecretLen {
		return nil, false
	}
	return b, true
}

// secretSetOn finds a umm_csrf cookie already set on this response.
func secretSetOn(w http.ResponseWriter) ([]byte, bool) {
	for _, line := range w.Header().Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == CSRFCookie {
			return decodeSecret(ck.Value)
		}
	}
	return nil, false
}
