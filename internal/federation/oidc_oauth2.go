package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/config"
)

// oauth2Conn signs in at a plain OAuth 2.0 server: there is no ID token, so who the person is comes
// from the server's profile (userinfo) endpoint, read with the access token. GitHub and Facebook are
// this connector with their own settings.
type oauth2Conn struct {
	env                            Env
	c                              config.Connection
	authURL, tokenURL, userinfoURL string
	scopes                         []string
	auth                           clientAuth
	claims                         claimMap
	// subjects are the JSON pointers tried in turn for the account's id.
	subjects []string
	denied   []string
	// userinfoQuery adds parameters to the profile request (Facebook's appsecret_proof).
	userinfoQuery func(accessToken string) url.Values
	// finish adjusts the identity with what the server says its own way (GitHub's verified addresses).
	finish func(ctx context.Context, accessToken string, id *Identity) error
}

// newOAuth2 builds a connector for any OAuth 2.0 server from its three endpoints.
func newOAuth2(ctx context.Context, env Env, c config.Connection) (any, error) {
	if c.ClientID == "" || c.AuthorizationURL == "" || c.TokenURL == "" || c.UserinfoURL == "" {
		return nil, errors.New("an OAuth 2.0 connection needs a client_id and its authorization, token and userinfo URLs")
	}
	return &oauth2Conn{env: env, c: c, authURL: c.AuthorizationURL, tokenURL: c.TokenURL, userinfoURL: c.UserinfoURL,
		scopes: c.Scopes, auth: authAuto, claims: claimMap{conn: c.Claims, pointers: true},
		subjects: []string{"/sub", "/id"}}, nil
}

func (o *oauth2Conn) subjectRefs() []string {
	if o.c.SubjectClaim != "" {
		return []string{o.c.SubjectClaim}
	}
	return o.subjects
}

func (o *oauth2Conn) AuthURL(ctx context.Context, b *Begin) (string, error) {
	if err := checkBegin(b, false); err != nil {
		return "", err
	}
	scopes := o.scopes
	if len(o.c.Scopes) > 0 {
		scopes = o.c.Scopes
	}
	// PKCE goes along even though many OAuth 2.0 servers ignore it: those that honour it then refuse a
	// code stolen from another browser.
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.c.ClientID},
		"redirect_uri":          {o.env.CallbackURL},
		"state":                 {b.State},
		"code_challenge":        {pkceChallenge(b.Verifier)},
		"code_challenge_method": {"S256"},
	}
	if len(scopes) > 0 {
		q.Set("scope", strings.Join(scopes, " "))
	}
	if b.LoginHint != "" {
		q.Set("login_hint", b.LoginHint)
	}
	return withQuery(o.authURL, q)
}

func (o *oauth2Conn) Exchange(ctx context.Context, r *http.Request, b Begin) (Identity, error) {
	_, code, err := callbackParams(r, b, o.denied)
	if err != nil {
		return Identity{}, err
	}
	params := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.env.CallbackURL},
		"code_verifier": {b.Verifier}}
	ans, err := tokenRequest(ctx, o.env, o.tokenURL, params, o.c.ClientID, o.c.ClientSecret, o.auth)
	if err != nil {
		return Identity{}, err
	}
	u := o.userinfoURL
	if o.userinfoQuery != nil {
		p, err := url.Parse(u)
		if err != nil {
			return Identity{}, fmt.Errorf("%w: userinfo URL: %v", ErrInvalidResponse, err)
		}
		q := p.Query()
		for k, v := range o.userinfoQuery(ans.AccessToken) {
			q[k] = v
		}
		p.RawQuery = q.Encode()
		u = p.String()
	}
	doc, err := getJSON(ctx, o.env, "userinfo", u, ans.AccessToken, nil)
	if err != nil {
		return Identity{}, err
	}
	id := mapIdentity(o.c, o.claims, doc)
	for _, ref := range o.subjectRefs() {
		if v, ok := resolve(doc, ref); ok {
			if id.Subject = stringOf(v); id.Subject != "" {
				break
			}
		}
	}
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: userinfo has no subject at %s", ErrInvalidResponse, strings.Join(o.subjectRefs(), ", "))
	}
	if o.finish != nil {
		if err := o.finish(ctx, ans.AccessToken, &id); err != nil {
			return Identity{}, err
		}
	}
	if o.c.StoreTokens {
		id.Tokens = tokensOf(ans, o.env.now())
	}
	return id, nil
}
