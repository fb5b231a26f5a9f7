package saml

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

func TestSingleLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := f.newPeer(t, "slo", config.SAMLApp{}, true)
	other := f.newPeer(t, "other", config.SAMLApp{}, true)
	nocert := f.newPeer(t, "nocert", config.SAMLApp{}, false)
	if err := f.db.CreateUser(ctx, store.User{TenantID: f.tenant, ID: "u1", Email: "ada@example.com", EmailNorm: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.UpsertClient(ctx, store.Client{TenantID: f.tenant, ClientID: "oidc-rp", RedirectURIs: []string{"https://rp.example.test/cb"},
		FrontchannelLogoutURI: "https://rp.example.test/frontchannel"}); err != nil {
		t.Fatal(err)
	}
	// signedIn starts a live session of u1 with an OpenID Connect client in it and returns its cookie.
	signedIn := func(t *testing.T) (*http.Cookie, string) {
		t.Helper()
		now := time.Now()
		token, sid := keys.NewToken(), keys.NewID()
		if err := f.db.CreateSession(ctx, store.Session{TenantID: f.tenant, ID: sid, UserID: "u1", AuthTime: now, AMR: []string{"pwd"},
			ACR: "1", CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}, keys.HashToken(token)); err != nil {
			t.Fatal(err)
		}
		if err := f.db.AddSessionClient(ctx, f.tenant, sid, "oidc-rp", now); err != nil {
			t.Fatal(err)
		}
		return &http.Cookie{Name: "umm_session", Value: token}, sid
	}
	ended := func(t *testing.T, sid string) bool {
		t.Helper()
		s, err := f.db.GetSession(ctx, f.tenant, sid)
		if err != nil {
			t.Fatal(err)
		}
		return !s.EndedAt.IsZero()
	}
	logoutURL := func(t *testing.T, sp *crewjam.ServiceProvider, opts ...crewjam.LogoutRequestOption) (string, string) {
		t.Helper()
		lr, err := sp.MakeLogoutRequest(f.url("/saml/slo"), "ada@example.com", opts...)
		if err != nil {
			t.Fatal(err)
		}
		u, err := sp.RedirectLogoutRequestURL(lr, "rs")
		if err != nil {
			t.Fatal(err)
		}
		return u.String(), lr.ID
	}

	t.Run("a signed LogoutRequest ends the session, frames the OIDC clients' front-channel logout and answers the SP", func(t *testing.T) {
		cookie, sid := signedIn(t)
		u, id := logoutURL(t, p.ServiceProvider, crewjam.WithSessionIndex(sid))
		resp, body := f.get(t, u, cookie)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "https://rp.example.test/frontchannel?") {
			t.Fatalf("answered %d: %.500s", resp.StatusCode, body)
		}
		if !ended(t, sid) {
			t.Error("the session was not ended")
		}
		_, rest, _ := strings.Cut(body, `id="logout-continue" href="`)
		cont, _, _ := strings.Cut(rest, `"`)
		cont = strings.ReplaceAll(cont, "&amp;", "&")
		if !strings.HasPrefix(cont, p.SloURL.String()+"?") {
			t.Fatalf("continue link %q", cont)
		}
		lresp, err := p.ParseLogoutResponse(httptest.NewRequest(http.MethodGet, cont, nil), []string{id})
		if err != nil || lresp.Status.StatusCode.Value != crewjam.StatusSuccess {
			t.Errorf("the SP refused the LogoutResponse: %v", samlErr(err))
		}
	})

	t.Run("the other SAML apps of the session get a signed LogoutRequest in a frame, and their answers are acknowledged", func(t *testing.T) {
		cookie, sid := signedIn(t)
		for _, id := range []string{sessionClientID(other.EntityID), sessionClientID(p.EntityID)} {
			if err := f.db.AddSessionClient(ctx, f.tenant, sid, id, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		u, _ := logoutURL(t, p.ServiceProvider, crewjam.WithSessionIndex(sid))
		resp, body := f.get(t, u, cookie)
		if resp.StatusCode != http.StatusOK || !ended(t, sid) {
			t.Fatalf("answered %d: %.500s", resp.StatusCode, body)
		}
		var frames []string
		for _, part := range strings.Split(body, `<iframe class="frontchannel-logout" src="`)[1:] {
			src, _, _ := strings.Cut(part, `"`)
			frames = append(frames, strings.ReplaceAll(src, "&amp;", "&"))
		}
		var toOther []string
		for _, fr := range frames {
			if strings.HasPrefix(fr, p.SloURL.String()) {
				t.Errorf("the SP that asked was framed too: %s", fr)
			}
			if strings.HasPrefix(fr, other.SloURL.String()+"?") {
				toOther = append(toOther, fr)
			}
		}
		if len(toOther) != 1 {
			t.Fatalf("frames %v", frames)
		}
		req, err := other.ValidateLogoutRequest(httptest.NewRequest(http.MethodGet, toOther[0], nil))
		if err != nil {
			t.Fatalf("the other SP refused the LogoutRequest: %v", samlErr(err))
		}
		if req.NameID == nil || req.NameID.Value != "ada@example.com" || req.SessionIndex == nil || req.SessionIndex.Value != sid {
			t.Errorf("LogoutRequest %+v", req)
		}
		lr, err := other.MakeLogoutRequest(f.url("/saml/slo"), "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := other.RedirectLogoutRequestURL(lr, "")
		back := strings.Replace(answer.String(), "SAMLRequest=", "SAMLResponse=", 1)
		if resp, body := f.get(t, back); resp.StatusCode != http.StatusOK {
			t.Errorf("an app's LogoutResponse answered %d: %.300s", resp.StatusCode, body)
		}
	})

	t.Run("a LogoutRequest about another session leaves this one alone and still answers success", func(t *testing.T) {
		cookie, sid := signedIn(t)
		u, _ := logoutURL(t, p.ServiceProvider, crewjam.WithSessionIndex("another-session"))
		resp, _ := f.get(t, u, cookie)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != p.SloURL.Host || ended(t, sid) {
			t.Errorf("answered %d %q; ended %v", resp.StatusCode, resp.Header.Get("Location"), ended(t, sid))
		}
	})

	refusals := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"an unsigned LogoutRequest from an SP with a certificate is refused", func(t *testing.T) string {
			sp := *p.ServiceProvider
			sp.SignatureMethod = ""
			u, _ := logoutURL(t, &sp)
			return u
		}},
		{"a LogoutRequest signed with another SP's key is refused", func(t *testing.T) string {
			sp := *other.ServiceProvider
			sp.EntityID = p.EntityID
			u, _ := logoutURL(t, &sp)
			return u
		}},
		{"a LogoutRequest from an unknown SP is refused", func(t *testing.T) string {
			sp := *p.ServiceProvider
			sp.EntityID = "https://unknown.example.test"
			u, _ := logoutURL(t, &sp)
			return u
		}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			cookie, sid := signedIn(t)
			resp, body := f.get(t, tt.url(t), cookie)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || ended(t, sid) {
				t.Errorf("answered %d %q, session ended %v: %.300s", resp.StatusCode, resp.Header.Get("Location"), ended(t, sid), body)
			}
		})
	}

	t.Run("an SP without a certificate may send an unsigned LogoutRequest", func(t *testing.T) {
		cookie, sid := signedIn(t)
		sp := *nocert.ServiceProvider
		sp.SignatureMethod = ""
		u, _ := logoutURL(t, &sp)
		if resp, body := f.get(t, u, cookie); resp.StatusCode != http.StatusOK || !ended(t, sid) {
			t.Errorf("answered %d: %.300s", resp.StatusCode, body)
		}
	})
}
