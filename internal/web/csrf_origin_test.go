package web

import (
	"net/url"
	"testing"
)

func TestCSRFComparesOriginsAsBrowsersSendThem(t *testing.T) {
	// A public URL written with the scheme's default port is the origin browsers send without it.
	c := NewCSRF(testKey, true, "https://id.example.com:443")
	ck, tok := csrfForm(t, c, nil)
	r := post(ck, url.Values{CSRFField: {tok}}, map[string]string{"Origin": "https://id.example.com"})
	if !c.Valid(r) {
		t.Error("a same-origin post was refused because the public URL names port 443")
	}
	r = post(ck, url.Values{CSRFField: {tok}}, map[string]string{"Origin": "https://id.example.com:8443"})
	if c.Valid(r) {
		t.Error("another port of the same host was accepted")
	}
}
