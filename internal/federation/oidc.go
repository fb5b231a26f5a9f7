package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
)

// tokenLeeway tolerates clock differences between UMM and a provider when reading exp and iat.
const tokenLeeway = time.Minute

// oidcConn signs in at an OpenID provider with the authorization code flow and PKCE. The presets built
// on OpenID Connect (Google, Microsoft, Apple, GitLab, LinkedIn) are this connector with their own
// settings and checks.
type oidcConn struct {
	env Env
	c   config.Connection
	// base is where the discovery document is (base + /.well-known/openid-configuration).
	base string
	// anyIssuer lets the discovered issuer differ from base (Microsoft's document names the tenant's
	// id, or a template of it, under a URL that may name the tenant by domain). Otherwise the discovered
	// issuer must be base, as OpenID Connect Discovery requires.
	anyIssuer bool
	scopes    []string
	// extra are further authorization request parameters (Apple's response_mode=form_post).
	extra  url.Values
	claims claimMap
	// subjects are the claims tried in turn for the upstream's id of the account.
	subjects []string
	// checkIssuer checks the ID token's iss; nil requires exactly the discovered issuer.
	checkIssuer func(doc providerDoc, iss string, claims map[string]any) error
	// nonceOptional accepts an ID token without nonce (a provider that ignores it); a nonce present
	// must still match.
	nonceOptional bool
	// secret makes the client secret when the connection has none stored (Apple's signed JWT).
	secret func(now time.Time) (string, error)
	// denied are the provider's error codes, besides access_denied, that mean the person said no.
	denied []string
	// finish adjusts the identity with what the provider says its own way (email verification, the
	// fields of Apple's first sign-in).
	finish func(form url.Values, id *Identity) error
}

// newOIDC builds a connector for any OpenID provider named by its issuer.
func newOIDC(ctx context.Context, env Env, c config.Connection) (any, error) {
	if c.Issuer == "" || c.ClientID == "" {
		return nil, errors.New("an OpenID connection needs an issuer and a client_id")
	}
	return &oidcConn{env: env, c: c, base: c.Issuer, scopes: []string{"openid", "email", "profile"},
		claims: claimMap{conn: c.Claims}}, nil
}

func (o *oidcConn) subjectRefs() []string {
	if o.c.SubjectClaim != "" {
		return []string{o.c.SubjectClaim}
	}
	if len(o.subjects) > 0 {
		return o.subjects
	}
	return []string{"sub"}
}

func (o *oidcConn) scopeList() []string {
	if len(o.c.Scopes) > 0 {
		return o.c.Scopes
	}
	return o.scopes
}

// discover fetches the provider's document and holds it to the issuer the connection names.
func (o *oidcConn) discover(ctx context.Context) (providerDoc, error) {
	doc, err := discover(ctx, o.env, o.base)
	if err != nil {
		return doc, err
	}
	// A trailing slash is how issuers are most often mistyped; the tokens' iss is then held to the
	// document's exact spelling.
	if !o.anyIssuer && strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(o.base, "/") {
		return doc, fmt.Errorf("%w: the discovery document names issuer %q, not %q", ErrInvalidResponse, doc.Issuer, o.base)
	}
	return doc, nil
}

func (o *oidcConn) AuthURL(ctx context.Context, b *Begin) (string, error) {
	if err := checkBegin(b, true); err != nil {
		return "", err
	}
	doc, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.c.ClientID},
		"redirect_uri":          {o.env.CallbackURL},
		"scope":                 {strings.Join(o.scopeList(), " ")},
		"state":                 {b.State},
		"nonce":                 {b.Nonce},
		"code_challenge":        {pkceChallenge(b.Verifier)},
		"code_challenge_method": {"S256"},
	}
	if b.LoginHint != "" {
		q.Set("login_hint", b.LoginHint)
	}
	for k, v := range o.extra {
		q[k] = v
	}
	return withQuery(doc.AuthorizationEndpoint, q)
}

// withQuery adds q to u's own query.
func withQuery(u string, q url.Values) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("%w: authorization endpoint %q: %v", ErrInvalidResponse, u, err)
	}
	all := p.Query()
	for k, v := range q {
		all[k] = v
	}
	p.RawQuery = all.Encode()
	return p.String(), nil
}

func (o *oidcConn) clientSecret() (string, error) {
	if o.c.ClientSecret != "" || o.secret == nil {
		return o.c.ClientSecret, nil
	}
	return o.secret(o.env.now())
}

func (o *oidcConn) Exchange(ctx context.Context, r *http.Request, b Begin) (Identity, error) {
	form, code, err := callbackParams(r, b, o.denied)
	if err != nil {
		return Identity{}, err
	}
	doc, err := o.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	// A provider that names itself in the callback (RFC 9207) must name itself: this defends against a
	// code from another provider being sent to this connection's callback.
	if iss := form.Get("iss"); iss != "" && !strings.Contains(doc.Issuer, "{") && iss != doc.Issuer {
		return Identity{}, fmt.Errorf("%w: callback iss %q is not the provider %q", ErrInvalidResponse, clip(iss, 200), doc.Issuer)
	}
	secret, err := o.clientSecret()
	if err != nil {
		return Identity{}, fmt.Errorf("federation: client secret: %w", err)
	}
	params := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.env.CallbackURL},
		"code_verifier": {b.Verifier}}
	ans, err := tokenRequest(ctx, o.env, doc.TokenEndpoint, params, o.c.ClientID, secret, doc.clientAuth())
	if err != nil {
		return Identity{}, err
	}
	if ans.IDToken == "" {
		return Identity{}, fmt.Errorf("%w: token endpoint answer has no id_token", ErrInvalidResponse)
	}
	claims, err := o.verifyIDToken(ctx, doc, ans.IDToken, b.Nonce)
	if err != nil {
		return Identity{}, err
	}
	if doc.UserinfoEndpoint != "" {
		if err := o.mergeUserinfo(ctx, doc.UserinfoEndpoint, ans.AccessToken, claims); err != nil {
			return Identity{}, err
		}
	}
	id := mapIdentity(o.c, o.claims, claims)
	for _, ref := range o.subjectRefs() {
		if v, ok := resolve(claims, ref); ok {
			if id.Subject = stringOf(v); id.Subject != "" {
				break
			}
		}
	}
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: id token has no subject (%s)", ErrInvalidResponse, strings.Join(o.subjectRefs(), ", "))
	}
	if o.finish != nil {
		if err := o.finish(form, &id); err != nil {
			return Identity{}, err
		}
	}
	if o.c.StoreTokens {
		id.Tokens = tokensOf(ans, o.env.now())
	}
	return id, nil
}

func tokensOf(ans tokenAnswer, now time.Time) *Tokens {
	t := &Tokens{AccessToken: ans.AccessToken, RefreshToken: ans.RefreshToken, IDToken: ans.IDToken}
	if ans.ExpiresIn > 0 {
		t.Expiry = now.Add(time.Duration(ans.ExpiresIn) * time.Second)
	}
	return t
}

// mergeUserinfo adds what the userinfo endpoint says and the ID token does not. A userinfo endpoint
// that cannot answer is not a reason to refuse the sign-in (the ID token is enough), but one that
// answers for another account is.
func (o *oidcConn) mergeUserinfo(ctx context.Context, endpoint, accessToken string, claims map[string]any) error {
	ui, err := getJSON(ctx, o.env, "userinfo", endpoint, accessToken, nil)
	if err != nil {
		o.env.log().DebugContext(ctx, "federation: userinfo skipped", "connection", o.c.ID, "err", err)
		return nil
	}
	if sub, want := stringOf(ui["sub"]), stringOf(claims["sub"]); sub == "" || !sameString(sub, want) {
		return fmt.Errorf("%w: userinfo sub is not the id token's", ErrInvalidResponse)
	}
	for k, v := range ui {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}

// verifyIDToken checks the ID token's signature against the provider's keys and its claims against the
// sign-in, and answers its claims.
func (o *oidcConn) verifyIDToken(ctx context.Context, doc providerDoc, raw, nonce string) (map[string]any, error) {
	jws, err := jose.ParseSigned(raw, doc.signingAlgs())
	if err != nil {
		return nil, fmt.Errorf("%w: id token is not a JWT signed with an accepted algorithm: %v", ErrInvalidResponse, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: id token has %d signatures", ErrInvalidResponse, len(jws.Signatures))
	}
	h := jws.Signatures[0].Header
	set, err := providerKeys(ctx, o.env, doc.JWKSURI, false)
	if err != nil {
		return nil, err
	}
	keys := keysFor(set, h.KeyID, h.Algorithm)
	if len(keys) == 0 && h.KeyID != "" {
		// A key not seen yet: the provider may have rolled its keys since they were cached. The ID token
		// comes straight from the token endpoint, so this cannot be driven by a third party.
		if set, err = providerKeys(ctx, o.env, doc.JWKSURI, true); err != nil {
			return nil, err
		}
		keys = keysFor(set, h.KeyID, h.Algorithm)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: id token is signed with key %q, which the provider does not publish", ErrInvalidResponse, clip(h.KeyID, 100))
	}
	var payload []byte
	for _, k := range keys {
		if payload, err = jws.Verify(&k); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: id token signature does not verify", ErrInvalidResponse)
	}
	claims, err := decodeObject(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: id token claims: %v", ErrInvalidResponse, err)
	}
	if err := o.checkClaims(doc, claims, nonce); err != nil {
		return nil, err
	}
	return claims, nil
}

func keysFor(set jose.JSONWebKeySet, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range set.Keys {
		if (kid == "" || k.KeyID == kid) && (k.Algorithm == "" || k.Algorithm == alg) {
			out = append(out, k)
		}
	}
	return out
}

func (o *oidcConn) checkClaims(doc providerDoc, claims map[string]any, nonce string) error {
	iss, _ := claims["iss"].(string)
	if o.checkIssuer != nil {
		if err := o.checkIssuer(doc, iss, claims); err != nil {
			return err
		}
	} else if iss != doc.Issuer {
		return fmt.Errorf("%w: id token issuer %q is not %q", ErrInvalidResponse, clip(iss, 200), doc.Issuer)
	}
	aud := stringsOf(claims["aud"])
	if !slices.Contains(aud, o.c.ClientID) {
		return fmt.Errorf("%w: id token audience %q does not include the client id", ErrInvalidResponse, aud)
	}
	azp, hasAZP := claims["azp"].(string)
	if len(aud) > 1 && !hasAZP {
		return fmt.Errorf("%w: id token has several audiences and no azp", ErrInvalidResponse)
	}
	if hasAZP && azp != o.c.ClientID {
		return fmt.Errorf("%w: id token azp %q is not the client id", ErrInvalidResponse, clip(azp, 200))
	}
	now := o.env.now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return fmt.Errorf("%w: id token has no exp", ErrInvalidResponse)
	}
	if now.After(exp.Add(tokenLeeway)) {
		return fmt.Errorf("%w: id token expired at %s", ErrInvalidResponse, exp.UTC().Format(time.RFC3339))
	}
	iat, ok := numericDate(claims["iat"])
	if !ok {
		return fmt.Errorf("%w: id token has no iat", ErrInvalidResponse)
	}
	if iat.After(now.Add(tokenLeeway)) {
		return fmt.Errorf("%w: id token issued in the future (%s)", ErrInvalidResponse, iat.UTC().Format(time.RFC3339))
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && nbf.After(now.Add(tokenLeeway)) {
		return fmt.Errorf("%w: id token not valid before %s", ErrInvalidResponse, nbf.UTC().Format(time.RFC3339))
	}
	got, has := claims["nonce"].(string)
	switch {
	case !has && o.nonceOptional:
	case !has:
		return fmt.Errorf("%w: id token has no nonce", ErrInvalidResponse)
	case !sameString(got, nonce):
		return fmt.Errorf("%w: id token nonce does not match the sign-in's", ErrInvalidResponse)
	}
	if s, _ := claims["sub"].(string); s == "" {
		return fmt.Errorf("%w: id token has no sub", ErrInvalidResponse)
	}
	return nil
}

// numericDate reads a JWT date (seconds since the epoch, possibly fractional).
func numericDate(v any) (time.Time, bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return time.Time{}, false
		}
	case float64:
		f = x
	default:
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}
