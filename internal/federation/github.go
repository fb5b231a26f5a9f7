package federation

import (
	"context"
	"net/http"
	"strings"

	"github.com/umm-project/umm/internal/config"
)

// newGitHub signs in with GitHub (OAuth 2.0 and its REST API). The subject is the account's numeric
// id: the login can be renamed and then taken by someone else.
func newGitHub(env Env, c config.Connection) *oauth2Conn {
	o := &oauth2Conn{env: env, c: c,
		authURL:     or(c.AuthorizationURL, "https://github.com/login/oauth/authorize"),
		tokenURL:    or(c.TokenURL, "https://github.com/login/oauth/access_token"),
		userinfoURL: or(c.UserinfoURL, "https://api.github.com/user"),
		scopes:      []string{"read:user", "user:email"}, auth: authPost, subjects: []string{"/id"},
		claims: claimMap{conn: c.Claims, pointers: true, defaults: map[string]string{
			"name": "/name", "preferred_username": "/login", "picture": "/avatar_url", "email": "/email",
			// The profile has no verification flag; the address list below has one per address.
			"email_verified": ""}}}
	emailsURL := githubEmailsURL(o.userinfoURL)
	o.finish = func(ctx context.Context, token string, id *Identity) error {
		// The profile shows only the address the person chose to make public, verified or not. The
		// address list (user:email scope) says which is primary and whether it is verified.
		list, err := getJSONArray(ctx, env, "github emails", emailsURL, token, githubHeader)
		if err != nil {
			env.log().DebugContext(ctx, "federation: github addresses skipped", "connection", c.ID, "err", err)
			id.EmailVerified = false
			return nil
		}
		id.Claims["emails"] = list
		for _, e := range list {
			if truthy(e["primary"]) && truthy(e["verified"]) {
				if addr := stringOf(e["email"]); addr != "" {
					id.Email, id.EmailVerified = addr, true
					return nil
				}
			}
		}
		id.EmailVerified = false
		return nil
	}
	return o
}

// githubHeader asks GitHub's REST API for its documented JSON form.
var githubHeader = http.Header{"Accept": {"application/vnd.github+json"}, "X-Github-Api-Version": {"2022-11-28"}}

// githubEmailsURL is the address list beside the profile URL: api.github.com/user/emails, or the same
// under a GitHub Enterprise Server's /api/v3.
func githubEmailsURL(userinfo string) string {
	u := userinfo
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return strings.TrimSuffix(u, "/") + "/emails"
}
