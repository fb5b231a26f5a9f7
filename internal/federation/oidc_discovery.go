package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// upstreamCacheTTL is how long a provider's discovery document and keys are reused. Providers announce
// key rollover well ahead, and a token signed with a key not yet seen makes UMM fetch the keys again.
const upstreamCacheTTL = time.Hour

// providerDoc is the part of an OpenID provider's discovery document UMM uses.
type providerDoc struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	IssParameter          bool     `json:"authorization_response_iss_parameter_supported"`
}

type cachedDoc struct {
	doc     providerDoc
	fetched time.Time
}

type cachedKeys struct {
	keys    jose.JSONWebKeySet
	fetched time.Time
}

// The caches are per process and keyed by URL, so every connection (of every tenant) to the same
// provider shares one copy. Failed fetches are not cached: the next sign-in tries again.
var (
	docCache  sync.Map // discovery URL -> cachedDoc
	keysCache sync.Map // jwks_uri -> cachedKeys
)

// discover fetches (or reuses) the discovery document under base.
func discover(ctx context.Context, env Env, base string) (providerDoc, error) {
	u := strings.TrimSuffix(base, "/") + "/.well-known/openid-configuration"
	now := env.now()
	if v, ok := docCache.Load(u); ok {
		cd := v.(cachedDoc)
		if now.Sub(cd.fetched) < upstreamCacheTTL && !cd.fetched.After(now) {
			return cd.doc, nil
		}
	}
	raw, err := getBody(ctx, env, "discovery", u, "", nil)
	if err != nil {
		// Whatever went wrong, the provider cannot be used now; the page says to try again later.
		return providerDoc{}, fmt.Errorf("%w (%v)", ErrUnavailable, err)
	}
	var doc providerDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return providerDoc{}, fmt.Errorf("%w: discovery document: %v", ErrUnavailable, err)
	}
	if doc.Issuer == "" || doc.AuthorizationEndpoint == "" || doc.TokenEndpoint == "" || doc.JWKSURI == "" {
		return providerDoc{}, fmt.Errorf("%w: discovery document lacks issuer, authorization, token or jwks endpoint", ErrUnavailable)
	}
	docCache.Store(u, cachedDoc{doc: doc, fetched: now})
	return doc, nil
}

// signingAlgs are the ID token algorithms UMM accepts: the asymmetric ones the provider announces
// (RS256 when it announces none, as OpenID Connect makes it mandatory). "none" and the HMAC algorithms
// are never accepted.
func (d providerDoc) signingAlgs() []jose.SignatureAlgorithm {
	allowed := []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	var out []jose.SignatureAlgorithm
	for _, a := range d.SigningAlgs {
		if slices.Contains(allowed, jose.SignatureAlgorithm(a)) {
			out = append(out, jose.SignatureAlgorithm(a))
		}
	}
	if len(out) == 0 {
		out = []jose.SignatureAlgorithm{jose.RS256}
	}
	return out
}

// clientAuth picks client_secret_basic unless the provider announces only client_secret_post (OpenID
// Connect makes basic the default when nothing is announced).
func (d providerDoc) clientAuth() clientAuth {
	if len(d.TokenAuthMethods) == 0 || slices.Contains(d.TokenAuthMethods, "client_secret_basic") {
		return authBasic
	}
	if slices.Contains(d.TokenAuthMethods, "client_secret_post") {
		return authPost
	}
	return authBasic
}

// providerKeys fetches (or reuses) the key set at u; fresh forces a fetch.
func providerKeys(ctx context.Context, env Env, u string, fresh bool) (jose.JSONWebKeySet, error) {
	now := env.now()
	if v, ok := keysCache.Load(u); ok && !fresh {
		ck := v.(cachedKeys)
		if now.Sub(ck.fetched) < upstreamCacheTTL && !ck.fetched.After(now) {
			return ck.keys, nil
		}
	}
	raw, err := getBody(ctx, env, "jwks", u, "", nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("%w: jwks: %v", ErrInvalidResponse, err)
	}
	// A key of a kind UMM cannot use (an encryption key, a new curve) must not hide the others.
	var set jose.JSONWebKeySet
	for _, k := range doc.Keys {
		var key jose.JSONWebKey
		if json.Unmarshal(k, &key) == nil && key.Valid() && key.IsPublic() && (key.Use == "" || key.Use == "sig") {
			set.Keys = append(set.Keys, key)
		}
	}
	keysCache.Store(u, cachedKeys{keys: set, fetched: now})
	return set, nil
}
