package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/server/servertest"
)

// TestFederationPagesInEveryLanguage renders every page of the upstream sign-in in every language UMM
// ships: the sign-in page's buttons, the continue page of home-realm discovery, the link page with its
// errors and the code form, its outcomes, the account's Linked accounts section with its refusal, and the
// connection's error pages. None may show a raw message key or fall back to another language.
func TestFederationPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	users := upstreamUser(true)
	for _, lang := range i18n.Languages {
		users = append(users, config.UserSeed{Email: lang + "@up.example", Password: upPassword, GivenName: "Ada", EmailVerified: true})
	}
	srv := fedServer(t, "sqlite", nil, fedOptions{upUsers: users,
		conn: func(c *config.Connection) { c.Domains = []string{"corp.example"} }})
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			pages := map[string]string{}
			tp := srv.TenantURL("")

			// The sign-in page with the button, and the continue page.
			b := browserIn(t, srv, lang)
			authz, _, _ := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			form, _, body := b.GetForm(servertest.Location(t, resp).String(), "/login")
			pages["sign-in page with a connection"] = body
			_, pages["continue page"] = b.Submit(form, url.Values{"email": {"someone@corp.example"}, "password": {"x"}})

			// The link page, its errors, the code form and the outcomes.
			b = browserIn(t, srv, lang)
			authz, _, _ = authorizeURL(srv, nil)
			resp, _ = b.Get(authz)
			resp, body = upstreamSignIn(t, srv, b, servertest.Location(t, resp), srv.User.Email, upPassword)
			pages["link page"] = body
			forms := linkForms(t, resp, body)
			_, pages["link page with a wrong password"] = b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {"wrong-password-1"}})
			_, pages["link page without a choice"] = b.Submit(forms["cancel"], url.Values{"action": {""}})
			resp, body = b.Submit(forms["send_code"], url.Values{"action": {"send_code"}})
			resp, body = follow(t, srv, b, resp, body)
			pages["link page with the code sent"] = body
			codeForms := linkForms(t, resp, body)
			_, pages["link page with a wrong code"] = b.Submit(codeForms["code"], url.Values{"action": {"code"}, "code": {"000000"}})
			_, pages["link cancelled"] = b.Submit(forms["cancel"], url.Values{"action": {"cancel"}})
			_, pages["link ended"] = b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {srv.User.Password}})

			// The account's section, and unlinking the only way in.
			b = browserIn(t, srv, lang)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ = b.Get(authz)
			resp, body = upstreamSignIn(t, srv, b, servertest.Location(t, resp), lang+"@up.example", upPassword)
			redeem(t, srv, resp, body, state, verifier)
			unlink, body := unlinkForm(t, srv, b)
			pages["linked accounts"] = body
			resp, _ = b.Submit(unlink, nil)
			_, pages["unlink refused"] = b.Follow(resp)
			_, pages["linked outcomes"] = b.Get(tp + "/account/linked?done=identity_linked&error=identity_taken")
			_, pages["unlinked"] = b.Get(tp + "/account/linked?done=identity_unlinked&error=identity_unknown")

			// Error pages.
			e := browserIn(t, srv, lang)
			_, pages["unknown connection"] = e.Get(tp + "/connections/nope/start")
			_, pages["callback without its flow"] = e.Get(tp + "/connections/" + upConnection + "/callback?state=" + servertest.RandomString(16))
			_, pages["incomplete callback"] = e.Get(tp + "/connections/" + upConnection + "/callback")
			_, pages["link page without its flow"] = e.Get(tp + "/connections/link?flow=" + servertest.RandomString(16))
			resp, body = e.PostForm(tp+"/connections/"+upConnection+"/callback", url.Values{"state": {"x"}})
			pages["posted answer without its flow"] = body
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("a posted answer without its flow answered %d", resp.StatusCode)
			}

			for name, body := range pages {
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s: not <html lang=%q>:\n%s", name, lang, body)
				}
				if k := rawKey.FindString(body); k != "" {
					t.Errorf("%s shows the raw key %q:\n%s", name, k, body)
				}
				if !strings.Contains(body, i18n.Builtin.Text(lang, "layout.secured_by")) {
					t.Errorf("%s: the layout is not in %s", name, lang)
				}
			}
		})
	}
}
