package login

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/identity/webauthntest"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// startLinkFlow stores, for browser b, the link flow an upstream identity at connection corp with the
// test user's address would have started, and returns its id.
func (b *browser) startLinkFlow(subject string) string {
	e := b.e
	e.t.Helper()
	ctx := context.Background()
	if err := e.db.UpsertConnection(ctx, store.Connection{TenantID: e.tenant.ID, ID: "corp", Type: "oidc", DisplayName: "Corp",
		Config: "{}"}); err != nil {
		e.t.Fatal(err)
	}
	// The browser's binding cookie, as the pages set it.
	b.get(e.path("/login"))
	req := httptest.NewRequest(http.MethodGet, e.srv.URL+e.path("/login"), nil)
	u, _ := url.Parse(e.srv.URL + e.path("/login"))
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	bh := e.sessions.BrowserHash(rec, req, e.tenant.ID)
	b.c.Jar.SetCookies(u, rec.Result().Cookies()) // when the page had not set one yet
	data, _ := json.Marshal(linkState{Connection: "corp", Name: "Corp", Methods: []string{session.MethodFederated},
		Upstream: identity.Upstream{Connection: "corp", Subject: subject, Email: e.user.Email, EmailVerified: true}})
	f, err := e.ids.StartFlow(ctx, e.tenant.ID, store.FlowLink, bh, "", e.user.ID, e.user.Email, string(data))
	if err != nil {
		e.t.Fatal(err)
	}
	return f.ID
}

// TestLinkWithPasskey: the link page of an account with a passkey offers it; the account's passkey links
// the upstream identity (how proved_passkey) and signs in with the upstream and the passkey, while the
// same passkey without user verification proves nothing.
func TestLinkWithPasskey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPasskeyEnv(t, db, nil)
		mine := webauthntest.New(passkeyOrigin)
		owner := e.browser()
		owner.signInDirect()
		owner.addPasskey(mine, "Laptop")

		// Without user verification the passkey proves only that someone holds the device: not the account.
		stranger := e.browser()
		flowID := stranger.startLinkFlow("upstream-1")
		page := stranger.get(e.path("/connections/link?flow=" + flowID))
		wantBody(t, page, "Use a passkey to link", "Sign in and link", "Email me a code", "Don’t link")
		mine.NoUV = true
		if pg := stranger.passkeySignIn(page, e.path("/login/passkey"), mine, url.Values{"flow": {flowID}}); pg.Status == http.StatusSeeOther {
			t.Fatalf("a passkey without user verification linked: %d %q", pg.Status, pg.Location)
		}
		mine.NoUV = false
		if _, err := db.GetIdentity(context.Background(), e.tenant.ID, "corp", "upstream-1"); err == nil {
			t.Fatal("a failed passkey proof linked the identity")
		}

		b := e.browser()
		flowID = b.startLinkFlow("upstream-2")
		page = b.get(e.path("/connections/link?flow=" + flowID))
		pg := b.passkeySignIn(page, e.path("/login/passkey"), mine, url.Values{"flow": {flowID}})
		if pg.Status != http.StatusSeeOther || pg.Location != e.path("/account") {
			t.Fatalf("passkey proof: %d %q %s", pg.Status, pg.Location, pg.Body)
		}
		ui, err := db.GetIdentity(context.Background(), e.tenant.ID, "corp", "upstream-2")
		if err != nil || ui.UserID != e.user.ID {
			t.Fatalf("linked identity %+v, %v; want it on the account", ui, err)
		}
		evs, err := db.ListEvents(context.Background(), e.tenant.ID, 0, events.TypeIdentityLinked, 10)
		if err != nil || len(evs) != 1 || evs[0].Data["how"] != identity.LinkPasskey {
			t.Fatalf("identity.linked events %+v, %v", evs, err)
		}
		ok, err := db.ListEvents(context.Background(), e.tenant.ID, 0, events.TypeLoginSucceeded, 10)
		if err != nil {
			t.Fatal(err)
		}
		last := ok[len(ok)-1]
		amr, _ := last.Data["amr"].([]any)
		var got []string
		for _, m := range amr {
			got = append(got, m.(string))
		}
		if last.Data["connection"] != "corp" || !slices.Contains(got, "fed") || !slices.Contains(got, "swk") {
			t.Errorf("login.succeeded %+v, want the connection and amr with fed and swk", last.Data)
		}
		// The flow is used up.
		if again := b.get(e.path("/connections/link?flow=" + flowID)); again.Status != http.StatusBadRequest {
			t.Errorf("the used link page answered %d", again.Status)
		}
	})
}
