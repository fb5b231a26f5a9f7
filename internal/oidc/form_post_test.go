package oidc

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// formPage is what a form_post page holds.
type formPage struct {
	id, method, action string
	hidden             url.Values
	button, script     bool
	scriptSrc          string
}

var (
	tagRE  = regexp.MustCompile(`<(/?[a-zA-Z]+)((?:\s+[a-zA-Z_:-]+(?:="[^"]*")?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`([a-zA-Z_:-]+)(?:="([^"]*)")?`)
)

// parseFormPage reads the form of a page. html/template always quotes attributes with ", so a small tag
// scanner is enough.
func parseFormPage(t *testing.T, body string) formPage {
	t.Helper()
	fp := formPage{hidden: url.Values{}}
	inForm := false
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		switch strings.ToLower(m[1]) {
		case "form":
			fp.id, fp.method, fp.action = attrs["id"], attrs["method"], attrs["action"]
			inForm = true
		case "/form":
			inForm = false
		case "input":
			if inForm && attrs["type"] == "hidden" {
				fp.hidden.Add(attrs["name"], attrs["value"])
			}
		case "button":
			if inForm && attrs["type"] == "submit" {
				fp.button = true
			}
		case "script":
			fp.script, fp.scriptSrc = true, attrs["src"]
		}
	}
	return fp
}

func TestFormPost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first := codeParams(set("client_id", "first"), set("redirect_uri", "https://first.example.com/cb"),
			set("response_mode", "form_post"), set("state", `"><script>alert(1)</script>`))

		check := func(t *testing.T, w interface {
			Header() http.Header
		}, code int, body string, wantAction string) formPage {
			t.Helper()
			if code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %.300s", code, body)
			}
			h := w.Header()
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Cache-Control") != "no-store" {
				t.Errorf("Content-Type %q Cache-Control %q", h.Get("Content-Type"), h.Get("Cache-Control"))
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://first.example.com") ||
				strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q: want form-action allowing the client's origin, and no inline script", csp)
			}
			if strings.Contains(body, "<script>alert(1)") {
				t.Error("state is not escaped")
			}
			if !strings.Contains(body, f.tenant.Name) {
				t.Errorf("the page does not show the tenant's name %q", f.tenant.Name)
			}
			fp := parseFormPage(t, body)
			if fp.id != "auto-submit" || !strings.EqualFold(fp.method, "post") || fp.action != wantAction {
				t.Errorf("form id %q method %q action %q", fp.id, fp.method, fp.action)
			}
			if !fp.button {
				t.Error("no visible submit button (the page must work without JavaScript)")
			}
			if !fp.script || !strings.HasPrefix(fp.scriptSrc, "/static/form_post.js") {
				t.Errorf("script src %q, want /static/form_post.js", fp.scriptSrc)
			}
			if fp.hidden.Get("state") != `"><script>alert(1)</script>` || fp.hidden.Get("iss") != f.p.issuer(f.tenant.ID) {
				t.Errorf("hidden fields %v", fp.hidden)
			}
			return fp
		}

		t.Run("a code is posted to the redirect URI", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			w := b.get(f.authorizeURL(first))
			fp := check(t, w, w.Code, w.Body.String(), "https://first.example.com/cb")
			if _, err := db.GetAuthCode(ctx, f.tenant.ID, keys.HashToken(fp.hidden.Get("code"))); err != nil {
				t.Errorf("the posted code is not stored: %v", err)
			}
			if fp.hidden.Get("error") != "" || w.Header().Get("Location") != "" {
				t.Errorf("unexpected error or redirect")
			}
		})

		t.Run("an error is posted to the redirect URI", func(t *testing.T) {
			w := f.browser().get(f.authorizeURL(codeParams(set("client_id", "first"), set("redirect_uri", "https://first.example.com/cb"),
				set("response_mode", "form_post"), set("state", `"><script>alert(1)</script>`), set("scope", "nope"))))
			fp := check(t, w, w.Code, w.Body.String(), "https://first.example.com/cb")
			if fp.hidden.Get("error") != "invalid_scope" || fp.hidden.Get("error_description") == "" || fp.hidden.Get("code") != "" {
				t.Errorf("hidden fields %v", fp.hidden)
			}
		})

		t.Run("a registered URI with a query is the form action as registered", func(t *testing.T) {
			c, _ := db.GetClient(ctx, f.tenant.ID, "first")
			c.RedirectURIs = append(c.RedirectURIs, "https://first.example.com/cb?x=1&y=2")
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			b := f.browser()
			b.signIn(f.alice)
			params := codeParams(set("client_id", "first"), set("redirect_uri", "https://first.example.com/cb?x=1&y=2"),
				set("response_mode", "form_post"), set("state", `"><script>alert(1)</script>`))
			w := b.get(f.authorizeURL(params))
			check(t, w, w.Code, w.Body.String(), "https://first.example.com/cb?x=1&y=2")
		})

		t.Run("a javascript: redirect URI is never a form action", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			w := b.get(f.authorizeURL(codeParams(set("client_id", "danger"), set("redirect_uri", "javascript:alert(1)//"),
				set("response_mode", "form_post"))))
			if w.Code != http.StatusBadRequest || strings.Contains(w.Body.String(), "javascript:") {
				t.Errorf("status %d body %.300s", w.Code, w.Body.String())
			}
		})
	})
}
