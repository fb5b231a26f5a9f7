package playground

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// jwks fetches the tenant's JWKS from the server's own handler.
func (p *Pages) jwks(r *http.Request, tenantID string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	status, body, err := p.call(r, http.MethodGet, "/t/"+tenantID+"/jwks.json", nil)
	if err != nil {
		return set, fmt.Errorf("jwks request: %w", err)
	}
	if status != http.StatusOK {
		return set, fmt.Errorf("jwks request: status %d", status)
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return set, fmt.Errorf("jwks: %w", err)
	}
	return set, nil
}

// verifyJWT checks a compact JWS against the key its kid names in set and returns its claims and the kid.
func verifyJWT(token string, set jose.JSONWebKeySet) (map[string]any, string, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, "", fmt.Errorf("parse: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, "", errors.New("not exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return nil, kid, fmt.Errorf("no key %q in the JWKS", kid)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, kid, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, kid, err
	}
	return claims, kid, nil
}

// decodeJWT returns the header and claims of a compact JWT without verifying it: the playground shows the
// access token as its audience (a resource server) would read it.
func decodeJWT(token string) (header, claims map[string]any, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a compact JWT")
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return nil, nil, err
		}
	}
	return header, claims, nil
}
