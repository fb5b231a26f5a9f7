package saml

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/store"
)

// postXML is the HTTP-POST form of req as the SP's page would post it.
func postXML(t *testing.T, req *crewjam.AuthnRequest) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	b, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSSORequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	open := f.newPeer(t, "open", config.SAMLApp{}, true) // checks signatures when present
	strict := f.newPeer(t, "strict", config.SAMLApp{WantAuthnRequestsSigned: true, ACSURLs: []string{"https://strict.example.test/saml/acs2"}}, true)
	nocert := f.newPeer(t, "nocert", config.SAMLApp{}, false)    // cannot check anything
	intruder := f.newPeer(t, "intruder", config.SAMLApp{}, true) // a registered SP with its own key
	ssoURL := f.url("/saml/sso")

	unsigned := func(p *peer) *crewjam.ServiceProvider { sp := *p.ServiceProvider; sp.SignatureMethod = ""; return &sp }
	redirect := func(t *testing.T, sp *crewjam.ServiceProvider, edit func(*crewjam.AuthnRequest), relay string) (string, *crewjam.AuthnRequest) {
		t.Helper()
		req, err := sp.MakeAuthenticationRequest(ssoURL, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(req)
		}
		u, err := req.Redirect(relay, sp)
		if err != nil {
			t.Fatal(err)
		}
		return u.String(), req
	}
	postRequest := func(t *testing.T, sp *crewjam.ServiceProvider) *crewjam.AuthnRequest {
		t.Helper()
		req, err := sp.MakeAuthenticationRequest(ssoURL, crewjam.HTTPPostBinding, crewjam.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	browser := []*http.Cookie{{Name: "umm_browser", Value: strings.Repeat("b", 43)}, {Name: "umm_session", Value: "none"}}

	// accepted checks a 302 to the sign-in page and returns the stored login request.
	accepted := func(t *testing.T, resp *http.Response, body string) store.LoginRequest {
		t.Helper()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Path != "/t/"+f.tenant+"/login" {
			t.Fatalf("answered %d %q: %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		lr, err := f.db.GetLoginRequest(context.Background(), f.tenant, loc.Query().Get("lr"))
		if err != nil {
			t.Fatal(err)
		}
		return lr
	}
	// refused checks an error page that says what is wrong (message key msg) and carries no SAML message.
	refused := func(t *testing.T, resp *http.Response, body, msg string) {
		t.Helper()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(body, "SAMLResponse") {
			t.Fatalf("answered %d %q, want an error page: %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if want := html.EscapeString(i18n.Builtin.Text("en", msg)); !strings.Contains(body, want) {
			t.Errorf("the page does not say %q: %.600s", want, body)
		}
	}

	t.Run("a signed HTTP-Redirect request becomes a saml login request with its ACS, RelayState and ID", func(t *testing.T) {
		u, req := redirect(t, strict.ServiceProvider, func(r *crewjam.AuthnRequest) { yes := true; r.ForceAuthn = &yes }, "relay")
		resp, body := f.get(t, u)
		lr := accepted(t, resp, body)
		if lr.Kind != store.LoginKindSAML || lr.ClientID != strict.EntityID || lr.Params.RedirectURI != strict.AcsURL.String() ||
			lr.Params.State != "relay" || lr.Params.SAMLRequestID != req.ID || !lr.Params.RequireLogin || len(lr.BrowserHash) == 0 {
			t.Errorf("login request = %+v", lr)
		}
	})
	t.Run("a request for a multi-factor context makes two factors essential", func(t *testing.T) {
		for _, tt := range []struct {
			rac  *crewjam.RequestedAuthnContext
			want bool
		}{
			{&crewjam.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRefs: []string{acREFEDSMFA}}, true},
			{&crewjam.RequestedAuthnContext{Comparison: "minimum", AuthnContextClassRefs: []string{acPasswordProtectedTransport}}, false},
			{&crewjam.RequestedAuthnContext{Comparison: "better", AuthnContextClassRefs: []string{acPasswordProtectedTransport}}, true},
			{&crewjam.RequestedAuthnContext{Comparison: "maximum", AuthnContextClassRefs: []string{acREFEDSMFA}}, false},
			{nil, false},
		} {
			u, _ := redirect(t, strict.ServiceProvider, func(r *crewjam.AuthnRequest) { r.RequestedAuthnContext = tt.rac }, "")
			resp, body := f.get(t, u)
			lr := accepted(t, resp, body)
			if got := lr.Params.ACREssential && slices.Equal(lr.Params.ACRValues, []string{"2"}); got != tt.want {
				t.Errorf("%+v: acr_values %v essential %v, want two factors %v", tt.rac, lr.Params.ACRValues, lr.Params.ACREssential, tt.want)
			}
		}
	})
	t.Run("an unsigned HTTP-Redirect request is accepted from an SP that does not require signing", func(t *testing.T) {
		u, _ := redirect(t, unsigned(open), nil, "")
		resp, body := f.get(t, u)
		if lr := accepted(t, resp, body); lr.Params.RequireLogin {
			t.Errorf("RequireLogin without ForceAuthn")
		}
	})
	t.Run("an HTTP-POST request with an enveloped signature is accepted", func(t *testing.T) {
		req := postRequest(t, strict.ServiceProvider)
		v := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(postXML(t, req)))}, "RelayState": {"p"}}
		resp, body := f.postForm(t, ssoURL, v, browser...)
		lr := accepted(t, resp, body)
		if lr.Params.SAMLRequestID != req.ID || lr.Params.State != "p" {
			t.Errorf("login request = %+v", lr)
		}
	})
	t.Run("a cross-site HTTP-POST request without the browser's cookies is bounced to a GET that is accepted", func(t *testing.T) {
		req := postRequest(t, strict.ServiceProvider)
		v := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(postXML(t, req)))}, "RelayState": {"p"}}
		resp, body := f.postForm(t, ssoURL, v)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), ssoURL+"?") {
			t.Fatalf("answered %d %q: %.200s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		resp, body = f.get(t, resp.Header.Get("Location"))
		accepted(t, resp, body)
	})

	// wrappedPost posts strict's signed request for its first ACS URL wrapped in one for its second
	// (registered too, so only the signature can refuse it).
	wrappedPost := func(id string, sigOnOuter bool) (*http.Response, string) {
		x := wrapped(t, postXML(t, postRequest(t, strict.ServiceProvider)), id, strict.app.ACSURLs[1], sigOnOuter)
		return f.postForm(t, ssoURL, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(x))}}, browser...)
	}

	refusals := []struct {
		name, msg string
		do        func(t *testing.T) (*http.Response, string)
	}{
		{"a request from an unknown issuer is refused", "saml.error.unknown_sp", func(t *testing.T) (*http.Response, string) {
			sp := unsigned(open)
			sp.EntityID = "https://unknown.example.test/saml/metadata"
			u, _ := redirect(t, sp, nil, "")
			return f.get(t, u)
		}},
		{"an ACS URL not registered for the SP is refused", "saml.error.acs", func(t *testing.T) (*http.Response, string) {
			u, _ := redirect(t, strict.ServiceProvider, func(r *crewjam.AuthnRequest) { r.AssertionConsumerServiceURL = "https://attacker.example.test/acs" }, "")
			return f.get(t, u)
		}},
		{"an ACS URL of another registered SP is refused", "saml.error.acs", func(t *testing.T) (*http.Response, string) {
			u, _ := redirect(t, unsigned(open), func(r *crewjam.AuthnRequest) { r.AssertionConsumerServiceURL = nocert.AcsURL.String() }, "")
			return f.get(t, u)
		}},
		{"an unsigned request to an SP that requires signing is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			u, _ := redirect(t, unsigned(strict), nil, "")
			return f.get(t, u)
		}},
		{"a tampered HTTP-Redirect signature is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			u, _ := redirect(t, strict.ServiceProvider, nil, "relay")
			return f.get(t, strings.Replace(u, "RelayState=relay", "RelayState=other", 1))
		}},
		{"a request signed with another SP's key is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			sp := *intruder.ServiceProvider
			sp.EntityID = strict.EntityID
			sp.AcsURL = strict.AcsURL
			u, _ := redirect(t, &sp, nil, "")
			return f.get(t, u)
		}},
		{"SHA-1 signatures are refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			sp := *strict.ServiceProvider
			sp.SignatureMethod = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
			u, _ := redirect(t, &sp, nil, "")
			return f.get(t, u)
		}},
		{"an HTTP-POST request whose signed content was changed is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			x := strings.Replace(postXML(t, postRequest(t, open.ServiceProvider)), open.AcsURL.String(), nocert.AcsURL.String(), 1)
			return f.postForm(t, ssoURL, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(x))}}, browser...)
		}},
		{"signature wrapping (the signed request inside an unsigned one naming another ACS) is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			return wrappedPost("_evil", false)
		}},
		{"signature wrapping that keeps the signed ID and signature on the outer request is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			return wrappedPost("", true)
		}},
		{"signature wrapping with the signature on an outer request of another ID is refused", "saml.error.signature", func(t *testing.T) (*http.Response, string) {
			return wrappedPost("_evil", true)
		}},
		{"a comment in a signed Issuer is refused", "saml.error.malformed", func(t *testing.T) (*http.Response, string) {
			x := postXML(t, postRequest(t, strict.ServiceProvider))
			x = strings.Replace(x, strict.EntityID+"</saml:Issuer>", strings.TrimSuffix(strict.EntityID, "metadata")+"<!---->metadata</saml:Issuer>", 1)
			if !strings.Contains(x, "<!---->") {
				t.Fatal("no Issuer to inject into")
			}
			return f.postForm(t, ssoURL, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(x))}}, browser...)
		}},
		{"a request that is not deflated is refused", "saml.error.malformed", func(t *testing.T) (*http.Response, string) {
			return f.get(t, ssoURL+"?SAMLRequest="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("<x/>"))))
		}},
		{"a request without SAMLRequest is refused", "saml.error.missing", func(t *testing.T) (*http.Response, string) {
			return f.get(t, ssoURL)
		}},
		{"a request meant for another IdP is refused", "saml.error.destination", func(t *testing.T) (*http.Response, string) {
			u, _ := redirect(t, unsigned(open), func(r *crewjam.AuthnRequest) { r.Destination = "https://other-idp.example.test/sso" }, "")
			parsed, _ := url.Parse(u)
			return f.get(t, ssoURL+"?"+parsed.RawQuery)
		}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.do(t)
			refused(t, resp, body, tt.msg)
		})
	}

	t.Run("a passive request without a session is answered NoPassive at the ACS", func(t *testing.T) {
		u, req := redirect(t, strict.ServiceProvider, func(r *crewjam.AuthnRequest) { yes := true; r.IsPassive = &yes }, "rs")
		resp, body := f.get(t, u)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+strict.AcsURL.String()+`"`) {
			t.Fatalf("answered %d: %.300s", resp.StatusCode, body)
		}
		x := formValue(t, body, "SAMLResponse")
		if !strings.Contains(x, crewjam.StatusNoPassive) || !strings.Contains(x, `InResponseTo="`+req.ID+`"`) {
			t.Errorf("response %s", x)
		}
	})
}

// wrapped moves a signed request inside an outer copy that names acs: the outer request gets id (or
// keeps the signed one when id is empty), and keeps the signature when sigOnOuter.
func wrapped(t *testing.T, signed, id, acs string, sigOnOuter bool) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(signed); err != nil {
		t.Fatal(err)
	}
	inner := doc.Root().Copy()
	outer := doc.Root().Copy()
	if id != "" {
		outer.CreateAttr("ID", id)
	}
	outer.CreateAttr("AssertionConsumerServiceURL", acs)
	if !sigOnOuter {
		outer.RemoveChild(xmlSignature(outer))
	}
	ext := outer.CreateElement("samlp:Extensions")
	ext.AddChild(inner)
	out := etree.NewDocument()
	out.SetRoot(outer)
	s, err := out.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// formValue is the decoded value of the hidden input name of a page.
func formValue(t *testing.T, body, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="`+name+`" value="`)
	if !ok {
		t.Fatalf("no %s in %.300s", name, body)
	}
	v, _, _ := strings.Cut(rest, `"`)
	b, err := base64.StdEncoding.DecodeString(html.UnescapeString(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
