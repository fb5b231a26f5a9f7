package login

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// A SAML sign-in is a login request of kind saml whose client is a SAML app: the pages show the app's
// name, apply its MFA policy, never ask for consent, and finish at the SAML IdP's resume step.
func TestSAMLLoginRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Open(t))
	ctx := context.Background()
	for entity, app := range map[string]config.SAMLApp{
		"https://wiki.example.test":  {ACSURLs: []string{"https://wiki.example.test/acs"}},
		"https://vault.example.test": {ACSURLs: []string{"https://vault.example.test/acs"}, MFAPolicy: config.MFARequired},
	} {
		b, _ := json.Marshal(app)
		if err := e.db.UpsertSAMLApp(ctx, store.SAMLApp{TenantID: e.tenant.ID, EntityID: entity, Name: "App " + entity[8:12],
			Config: string(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// start stores a pending saml login request for entity, bound to a new browser, as the SAML IdP does.
	start := func(t *testing.T, entity string) (*browser, string) {
		t.Helper()
		b := e.browser()
		b.get(e.path("/authorize?client_id=first")) // sets the browser cookie, as any flow does
		now := e.clock.Now()
		lr := store.LoginRequest{TenantID: e.tenant.ID, ID: keys.NewID(), Kind: store.LoginKindSAML, ClientID: entity,
			Params:      store.AuthorizeParams{RedirectURI: entity + "/acs", MaxAge: -1},
			BrowserHash: keys.HashToken(b.cookie("umm_browser")), CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
		if err := e.db.CreateLoginRequest(ctx, lr); err != nil {
			t.Fatal(err)
		}
		return b, lr.ID
	}

	t.Run("the sign-in names the app and ends at the SAML resume step without consent", func(t *testing.T) {
		b, id := start(t, "https://wiki.example.test")
		pg := b.get(e.path("/login?lr=" + id))
		wantBody(t, pg, "App wiki")
		done := b.signIn(pg, testEmail, testPassword)
		wantStatus(t, done, http.StatusSeeOther, e.path("/saml/resume?lr="+id))
		if lr := e.loginRequest(id); lr.Status != store.LoginAuthenticated || lr.UserID != e.user.ID {
			t.Errorf("login request %+v", lr)
		}
	})

	t.Run("an app's MFA policy applies to its sign-ins", func(t *testing.T) {
		b, id := start(t, "https://vault.example.test")
		done := b.signIn(b.get(e.path("/login?lr="+id)), testEmail, testPassword)
		if done.Status != http.StatusSeeOther || !strings.Contains(done.Location, "/login/mfa") {
			t.Errorf("after the password: %d %q, want the second-factor pages", done.Status, done.Location)
		}
		if lr := e.loginRequest(id); lr.Status != store.LoginPending {
			t.Errorf("the request was completed with one factor: %+v", lr)
		}
	})

	t.Run("a deleted app stops the sign-in", func(t *testing.T) {
		b, id := start(t, "https://wiki.example.test")
		pg := b.get(e.path("/login?lr=" + id))
		if err := e.db.DeleteSAMLApp(ctx, e.tenant.ID, "https://wiki.example.test"); err != nil {
			t.Fatal(err)
		}
		done := b.signIn(pg, testEmail, testPassword)
		if done.Status != http.StatusBadRequest || e.loginRequest(id).Status != store.LoginPending {
			t.Errorf("after the app was deleted: %d %q", done.Status, done.Location)
		}
	})
}
