package federation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/umm-project/umm/internal/config"
)

// newPreset builds a social preset. Each preset's endpoints give way to the connection's issuer,
// authorization_url, token_url and userinfo_url when set (a test double, a regional or on-premises
// installation), and its scopes and claim mapping to the connection's own.
func newPreset(ctx context.Context, env Env, c config.Connection) (any, error) {
	if c.ClientID == "" {
		return nil, errors.New("a preset connection needs a client_id")
	}
	oidc := func(issuer string, scopes ...string) *oidcConn {
		return &oidcConn{env: env, c: c, base: or(c.Issuer, issuer), scopes: scopes, claims: claimMap{conn: c.Claims}}
	}
	switch c.Type {
	case config.ConnGoogle:
		o := oidc("https://accounts.google.com", "openid", "email", "profile")
		// Google documents that its ID tokens name the issuer with or without the scheme.
		o.checkIssuer = func(doc providerDoc, iss string, _ map[string]any) error {
			if iss == doc.Issuer || (doc.Issuer == "https://accounts.google.com" && iss == "accounts.google.com") {
				return nil
			}
			return fmt.Errorf("%w: id token issuer %q is not %q", ErrInvalidResponse, clip(iss, 200), doc.Issuer)
		}
		return o, nil
	case config.ConnMicrosoft:
		return newMicrosoft(env, c, oidc), nil
	case config.ConnApple:
		return newApple(env, c, oidc)
	case config.ConnGitLab:
		return oidc("https://gitlab.com", "openid", "email", "profile"), nil
	case config.ConnLinkedIn:
		o := oidc("https://www.linkedin.com/oauth", "openid", "profile", "email")
		// LinkedIn drops the nonce from its ID tokens. The state, and the code being redeemed by UMM
		// itself with the client secret, still bind the answer to this sign-in; a nonce that is present
		// must match.
		o.nonceOptional = true
		return o, nil
	case config.ConnGitHub:
		return newGitHub(env, c), nil
	case config.ConnFacebook:
		return newFacebook(env, c), nil
	}
	return nil, fmt.Errorf("type %q is not a preset", c.Type)
}

// tenantGUID is the form of an Entra ID tenant id.
var tenantGUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// newMicrosoft signs in with Microsoft Entra ID (work and school accounts) and personal Microsoft
// accounts, through the v2.0 endpoint of the connection's tenant (common when none).
//
// The account's subject is its object id (oid) when the token carries it: Microsoft assigns it, it
// never changes, and it is the same for every application of the tenant, so registering a new client
// keeps people's links. (sub is different for each application.) Tokens without oid fall back to sub.
func newMicrosoft(env Env, c config.Connection, oidc func(string, ...string) *oidcConn) *oidcConn {
	tenant := c.Tenant
	if tenant == "" {
		tenant = "common"
	}
	o := oidc("https://login.microsoftonline.com/"+url.PathEscape(tenant)+"/v2.0", "openid", "email", "profile")
	// The document of a tenant named by domain, or of common/organizations/consumers, names the issuer
	// by tenant id, or as a template for any tenant.
	o.anyIssuer = true
	o.subjects = []string{"oid", "sub"}
	o.checkIssuer = func(doc providerDoc, iss string, claims map[string]any) error {
		want := doc.Issuer
		if strings.Contains(want, "{tenantid}") {
			// Multi-tenant: the token's own tenant goes into the template, so a token of one tenant
			// cannot claim another's issuer.
			tid, _ := claims["tid"].(string)
			if !tenantGUID.MatchString(tid) {
				return fmt.Errorf("%w: id token tid %q is not a tenant id", ErrInvalidResponse, clip(tid, 64))
			}
			want = strings.ReplaceAll(want, "{tenantid}", tid)
		}
		if iss != want {
			return fmt.Errorf("%w: id token issuer %q is not %q", ErrInvalidResponse, clip(iss, 200), want)
		}
		return nil
	}
	o.finish = func(_ url.Values, id *Identity) error {
		// Microsoft does not say whether the address was verified: a tenant's administrator can set
		// any address on an account. Only the optional xms_edov claim (the address's domain is one the
		// tenant has proven it owns) vouches for it.
		id.EmailVerified = id.Email != "" && truthy(id.Claims["xms_edov"])
		return nil
	}
	return o
}

// newFacebook signs in with Facebook Login (OAuth 2.0 and the Graph API).
func newFacebook(env Env, c config.Connection) *oauth2Conn {
	o := &oauth2Conn{env: env, c: c,
		authURL:     or(c.AuthorizationURL, "https://www.facebook.com/v21.0/dialog/oauth"),
		tokenURL:    or(c.TokenURL, "https://graph.facebook.com/v21.0/oauth/access_token"),
		userinfoURL: or(c.UserinfoURL, "https://graph.facebook.com/me?fields=id,name,email,first_name,last_name,picture"),
		scopes:      []string{"email", "public_profile"}, auth: authPost, subjects: []string{"/id"},
		claims: claimMap{conn: c.Claims, pointers: true, defaults: map[string]string{
			"given_name": "/first_name", "family_name": "/last_name", "picture": "/picture/data/url"}}}
	// With "Require App Secret" on, the Graph API only answers calls that prove the app's secret
	// alongside the token; sending the proof always works whether or not the setting is on.
	o.userinfoQuery = func(token string) url.Values {
		m := hmac.New(sha256.New, []byte(c.ClientSecret))
		m.Write([]byte(token))
		return url.Values{"appsecret_proof": {hex.EncodeToString(m.Sum(nil))}}
	}
	o.finish = func(_ context.Context, _ string, id *Identity) error {
		// The Graph API has no field saying whether the address was confirmed, and an account can
		// carry an address its owner never proved; so Facebook never vouches for it.
		id.EmailVerified = false
		return nil
	}
	return o
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

var presetNames = map[string]string{
	config.ConnGoogle: "Google", config.ConnApple: "Apple", config.ConnMicrosoft: "Microsoft",
	config.ConnGitHub: "GitHub", config.ConnGitLab: "GitLab", config.ConnFacebook: "Facebook",
	config.ConnLinkedIn: "LinkedIn",
}

// PresetName is the provider's name for a preset type ("" for other types), for the sign-in buttons.
func PresetName(typ string) string { return presetNames[typ] }

// presetMarks are simple monochrome marks for the sign-in buttons: a letter on a round or square tile.
// They are not the providers' brand artwork; a connection's own logo replaces them.
var presetMarks = map[string]struct{ letter, shape string }{
	config.ConnGoogle:    {"G", "circle"},
	config.ConnApple:     {"A", "circle"},
	config.ConnMicrosoft: {"M", "square"},
	config.ConnGitHub:    {"Gh", "circle"},
	config.ConnGitLab:    {"GL", "square"},
	config.ConnFacebook:  {"f", "circle"},
	config.ConnLinkedIn:  {"in", "square"},
}

// PresetLogo is a data: URL of a small SVG mark for a preset type ("" for other types).
func PresetLogo(typ string) string {
	m, ok := presetMarks[typ]
	if !ok {
		return ""
	}
	tile := `<circle cx="12" cy="12" r="11" fill="currentColor"/>`
	if m.shape == "square" {
		tile = `<rect x="1" y="1" width="22" height="22" rx="4" fill="currentColor"/>`
	}
	size := "13"
	if len(m.letter) > 1 {
		size = "10"
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" color="#333">` + tile +
		`<text x="12" y="12" dy="0.35em" text-anchor="middle" font-family="Helvetica,Arial,sans-serif" font-weight="700" font-size="` +
		size + `" fill="#fff">` + m.letter + `</text></svg>`
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg))
}
