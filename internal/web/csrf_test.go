package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// csrfForm renders a form: it returns the cookie the browser got and the token in the form.
func csrfForm(t *testing.T, c *CSRF, cookie *http.Cookie) (*http.Cookie, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/t/acme/login", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	tok := c.Token(w, r)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == CSRFCookie {
			return ck, tok
		}
	}
	return cookie, tok
}

func TestCSRF(t *testing.T) {
	c := NewCSRF(testKey, true, "https://id.example.com/base")
	cookie, token := csrfForm(t, c, nil)
	otherCookie, otherToken := csrfForm(t, c, nil)

	t.Run("the cookie is HttpOnly, Lax, Secure and site-wide", func(t *testing.T) {
		if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
			t.Errorf("cookie = %+v", cookie)
		}
	})
	t.Run("an existing cookie is reused and not set again", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		c.Token(w, r)
		if len(w.Result().Cookies()) != 0 {
			t.Errorf("set %v", w.Result().Cookies())
		}
	})
	t.Run("two tokens in one response share one new cookie", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		w := httptest.NewRecorder()
		t1, t2 := c.Token(w, r), c.Token(w, r)
		cks := w.Result().Cookies()
		if len(cks) != 1 {
			t.Fatalf("set %d cookies", len(cks))
		}
		for _, tok := range []string{t1, t2} {
			if !c.Valid(post(cks[0], url.Values{CSRFField: {tok}}, nil)) {
				t.Error("a token of the response is not valid with its cookie")
			}
		}
	})
	t.Run("tokens are masked so each differs", func(t *testing.T) {
		_, again := csrfForm(t, c, cookie)
		if again == token {
			t.Error("two tokens are equal")
		}
	})

	tests := []struct {
		name    string
		cookie  *http.Cookie
		form    url.Values
		headers map[string]string
		want    bool
	}{
		{"the token of the browser's cookie is valid", cookie, url.Values{CSRFField: {token}}, nil, true},
		{"the token in the X-CSRF-Token header is valid", cookie, nil, map[string]string{CSRFHeader: token}, true},
		{"a same-origin Origin header is accepted", cookie, url.Values{CSRFField: {token}}, map[string]string{"Origin": "https://id.example.com"}, true},
		{"a same-origin fetch is accepted", cookie, url.Values{CSRFField: {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"a missing token is invalid", cookie, url.Values{}, nil, false},
		{"a missing cookie is invalid", nil, url.Values{CSRFField: {token}}, nil, false},
		{"a token of another browser's cookie is invalid", cookie, url.Values{CSRFField: {otherToken}}, nil, false},
		{"a token used with another cookie is invalid", otherCookie, url.Values{CSRFField: {token}}, nil, false},
		{"a tampered token is invalid", cookie, url.Values{CSRFField: {flip(token)}}, nil, false},
		{"a truncated token is invalid", cookie, url.Values{CSRFField: {token[:40]}}, nil, false},
		{"a token that is not base64 is invalid", cookie, url.Values{CSRFField: {"!!!" + token[3:]}}, nil, false},
		{"the cookie value used as the token is invalid", cookie, url.Values{CSRFField: {cookie.Value}}, nil, false},
		{"a cross-site Origin is invalid even with a good token", cookie, url.Values{CSRFField: {token}}, map[string]string{"Origin": "https://evil.example"}, false},
		{"an http Origin for an https site is invalid", cookie, url.Values{CSRFField: {token}}, map[string]string{"Origin": "http://id.example.com"}, false},
		// Chromium sends Origin: null for a same-origin form POST under Referrer-Policy: no-referrer.
		{"a null Origin from our own page is accepted", cookie, url.Values{CSRFField: {token}},
			map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}, true},
		{"a null Origin from a browser without Sec-Fetch-Site is judged by its token", cookie, url.Values{CSRFField: {token}},
			map[string]string{"Origin": "null"}, true},
		{"a null Origin without a token is invalid", cookie, url.Values{}, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}, false},
		{"a null Origin from another site is invalid even with a good token", cookie, url.Values{CSRFField: {token}},
			map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, false},
		{"a null Origin from a sibling site is invalid even with a good token", cookie, url.Values{CSRFField: {token}},
			map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-site"}, false},
		{"a cross-site fetch is invalid even with a good token", cookie, url.Values{CSRFField: {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"a malformed cookie is invalid", &http.Cookie{Name: CSRFCookie, Value: "short"}, url.Values{CSRFField: {token}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Valid(post(tt.cookie, tt.form, tt.headers)); got != tt.want {
				t.Errorf("Valid = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("a token made with another key is invalid", func(t *testing.T) {
		c2 := NewCSRF([]byte("another key of at least sixteen bytes"), true, "https://id.example.com")
		_, tok := csrfForm(t, c2, cookie)
		if c.Valid(post(cookie, url.Values{CSRFField: {tok}}, nil)) {
			t.Error("valid across keys")
		}
	})
	t.Run("a malformed cookie is replaced when a form is rendered", func(t *testing.T) {
		ck, tok := csrfForm(t, c, &http.Cookie{Name: CSRFCookie, Value: "short"})
		if ck.Value == "short" || !c.Valid(post(ck, url.Values{CSRFField: {tok}}, nil)) {
			t.Errorf("cookie %+v not replaced by a working one", ck)
		}
	})
	t.Run("without a public origin the request's own host is the origin", func(t *testing.T) {
		c := NewCSRF(testKey, false, "")
		ck, tok := csrfForm(t, c, nil)
		if ck.Secure {
			t.Error("cookie is Secure although secure is false")
		}
		r := post(ck, url.Values{CSRFField: {tok}}, map[string]string{"Origin": "http://example.com"})
		if !c.Valid(r) { // httptest requests are addressed to example.com
			t.Error("same-host origin refused")
		}
		r = post(ck, url.Values{CSRFField: {tok}}, map[string]string{"Origin": "http://evil.example"})
		if c.Valid(r) {
			t.Error("other origin accepted")
		}
	})
	t.Run("a short key is refused at construction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("NewCSRF accepted a 3-byte key")
			}
		}()
		NewCSRF([]byte("abc"), false, "")
	})
}

func post(cookie *http.Cookie, form url.Values, headers map[string]string) *http.Request {
	r := httptest.NewRequest("POST", "/t/acme/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// flip changes one character in the middle of s.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
