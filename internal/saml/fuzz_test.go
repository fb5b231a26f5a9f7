package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzReadMessage feeds SP messages to the SSO and logout endpoints' parser in both bindings. Whatever
// the input, it must not panic, and anything it accepts is one element without comments, processing
// instructions or a DTD, so a signature checker and a reader always see the same text.
func FuzzReadMessage(f *testing.F) {
	for _, seed := range []string{
		`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a" Version="2.0"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">x</saml:Issuer></samlp:AuthnRequest>`,
		`<?xml version="1.0"?><a><!-- c --></a>`,
		`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`,
		`<a><?pi x?></a>`,
		`<a><b>1</b><b>2</b></a>`,
		``,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, xmlBytes []byte, redirect bool) {
		var r *http.Request
		if redirect {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
			fw.Write(xmlBytes)
			fw.Close()
			r = httptest.NewRequest(http.MethodGet, "/sso?SAMLRequest="+url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes())), nil)
		} else {
			body := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(xmlBytes)}}.Encode()
			r = httptest.NewRequest(http.MethodPost, "/sso", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		in, msg := readMessage(r, "SAMLRequest")
		if (in == nil) == (msg == "") {
			t.Fatalf("readMessage = %v, %q: want exactly one of a message and a refusal", in, msg)
		}
		if in == nil {
			return
		}
		if err := onlyElementsAndText(in.root); err != nil {
			t.Fatalf("accepted a message with %v", err)
		}
		if x := string(xmlBytes); strings.Contains(x, "<!--") && !strings.Contains(x, "<![CDATA[") {
			t.Fatalf("accepted a message with a comment: %q", x)
		}
	})
}
