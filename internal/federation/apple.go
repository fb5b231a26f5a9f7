package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
)

// appleAudience is the audience Apple requires of the client secret JWT, whatever endpoint is used.
const appleAudience = "https://appleid.apple.com"

// appleSecretLifetime is how long a generated client secret is good for. Apple accepts up to six
// months; a fresh one is made for every sign-in, so a few minutes is plenty and a leaked one is soon
// useless.
const appleSecretLifetime = 5 * time.Minute

// newApple signs in with Apple. Apple answers with a form POST to the callback (it requires that when
// the name or email scope is asked for), and authenticates the client with a JWT signed by the team's
// .p8 key rather than a fixed secret.
func newApple(env Env, c config.Connection, oidc func(string, ...string) *oidcConn) (*oidcConn, error) {
	o := oidc("https://appleid.apple.com", "name", "email")
	o.extra = url.Values{"response_mode": {"form_post"}}
	// Cancelling on Apple's page comes back as user_cancelled_authorize.
	o.denied = []string{"user_cancelled_authorize"}
	if c.ClientSecret == "" {
		if c.TeamID == "" || c.KeyID == "" || c.PrivateKey == "" {
			return nil, errors.New("an Apple connection needs a client_secret, or a team_id, key_id and private_key")
		}
		key, err := parseAppleKey(c.PrivateKey)
		if err != nil {
			return nil, err
		}
		o.secret = func(now time.Time) (string, error) { return appleClientSecret(key, c.KeyID, c.TeamID, c.ClientID, now) }
	}
	o.finish = appleFirstSignIn
	return o, nil
}

// parseAppleKey reads the .p8 key Apple hands out: a PKCS#8 PEM of a P-256 key.
func parseAppleKey(p string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(p)))
	if block == nil {
		return nil, errors.New("apple private_key: not a PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("apple private_key: not a PKCS#8 key")
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("apple private_key: not a P-256 key")
	}
	return ec, nil
}

// appleClientSecret makes the ES256 JWT Apple takes as the client secret.
func appleClientSecret(key *ecdsa.PrivateKey, keyID, teamID, clientID string, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), keyID))
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{"iss": teamID, "iat": now.Unix(),
		"exp": now.Add(appleSecretLifetime).Unix(), "aud": appleAudience, "sub": clientID})
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// appleUser is the user form field of an Apple callback.
type appleUser struct {
	Name struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"name"`
	Email string `json:"email"`
}

// appleFirstSignIn takes the person's name from the user field Apple posts on the first sign-in only
// (its ID tokens never carry names). The field is not signed, so only the name is taken from it (the
// address comes from the ID token) and only to fill the profile.
func appleFirstSignIn(form url.Values, id *Identity) error {
	raw := form.Get("user")
	if raw == "" {
		return nil
	}
	var u appleUser
	if json.Unmarshal([]byte(raw), &u) != nil {
		// Only a nicety is lost: the identity itself comes from the ID token.
		return nil
	}
	first, last := strings.TrimSpace(u.Name.FirstName), strings.TrimSpace(u.Name.LastName)
	if first != "" {
		id.Profile["given_name"] = first
	}
	if last != "" {
		id.Profile["family_name"] = last
	}
	if full := strings.TrimSpace(first + " " + last); full != "" && id.Profile["name"] == "" {
		id.Profile["name"] = full
	}
	return nil
}
