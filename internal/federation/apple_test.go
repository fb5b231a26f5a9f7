package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
)

const (
	appleTeam  = "TEAM123456"
	appleKeyID = "KEY1234567"
	appleSvcID = "com.example.umm"
)

func appleP8(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// checkAppleSecret is what Apple's token endpoint checks of the client secret JWT.
func checkAppleSecret(pub *ecdsa.PublicKey, now time.Time) func(string) error {
	return func(secret string) error {
		jws, err := jose.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		if kid := jws.Signatures[0].Header.KeyID; kid != appleKeyID {
			return fmt.Errorf("kid %q", kid)
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			return err
		}
		var c struct {
			Iss, Sub, Aud string
			Iat, Exp      int64
		}
		if err := json.Unmarshal(payload, &c); err != nil {
			return err
		}
		if c.Iss != appleTeam || c.Sub != appleSvcID || c.Aud != "https://appleid.apple.com" {
			return fmt.Errorf("claims %+v", c)
		}
		if c.Iat != now.Unix() || c.Exp != now.Add(5*time.Minute).Unix() || c.Exp-c.Iat > 15777000 {
			return fmt.Errorf("lifetime %d..%d", c.Iat, c.Exp)
		}
		return nil
	}
}

func newAppleFake(t *testing.T, pub *ecdsa.PublicKey) *fakeOP {
	f := newFakeOP(t, testNow)
	f.set(func() {
		f.clientID, f.secret, f.auth = appleSvcID, "", "post"
		f.methods = []string{"client_secret_post"}
		f.noUserinfo, f.formPost = true, true
		f.sub = "001234.abcdef.1234"
		f.claims = map[string]any{"name": nil, "email": "x7@privaterelay.appleid.com", "email_verified": "true",
			"is_private_email": "true"}
		f.checkSecret = checkAppleSecret(pub, testNow)
	})
	return f
}

func appleFor(t *testing.T, f *fakeOP, key string) Redirector {
	t.Helper()
	impl, err := builders[config.ConnApple](context.Background(), testEnv(testNow), config.Connection{ID: "x", Type: config.ConnApple,
		Issuer: f.srv.URL, ClientID: appleSvcID, TeamID: appleTeam, KeyID: appleKeyID, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return impl.(Redirector)
}

func TestAppleSignIn(t *testing.T) {
	t.Parallel()
	key, p8 := appleP8(t)
	f := newAppleFake(t, &key.PublicKey)
	f.set(func() {
		f.formExtra = url.Values{"user": {`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"other@example.com"}`}}
	})
	conn := appleFor(t, f, p8)
	b := newBegin()
	u, err := conn.AuthURL(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	if q.Query().Get("response_mode") != "form_post" || q.Query().Get("scope") != "name email" {
		t.Errorf("authorize URL %q", u)
	}
	cb := authorize(t, conn, &b)
	if cb.Method != "POST" {
		t.Fatalf("callback method %s, want the form post", cb.Method)
	}
	id, err := conn.Exchange(context.Background(), cb, b)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if id.Subject != "001234.abcdef.1234" || id.Email != "x7@privaterelay.appleid.com" || !id.EmailVerified {
		t.Errorf("identity = %+v", id)
	}
	if id.Profile["given_name"] != "Ada" || id.Profile["family_name"] != "Lovelace" || id.Profile["name"] != "Ada Lovelace" {
		t.Errorf("profile = %v", id.Profile)
	}
	f.set(func() {
		if f.lastToken.Get("client_id") != appleSvcID || f.lastToken.Get("client_secret") == "" {
			t.Errorf("token request = %v", f.lastToken)
		}
	})
}

func TestAppleLaterSignInHasNoName(t *testing.T) {
	t.Parallel()
	key, p8 := appleP8(t)
	f := newAppleFake(t, &key.PublicKey)
	conn := appleFor(t, f, p8)
	b := newBegin()
	id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if len(id.Profile) != 0 {
		t.Errorf("profile = %v, want empty", id.Profile)
	}
}

func TestAppleRefusals(t *testing.T) {
	t.Parallel()
	t.Run("client secret signed with another key", func(t *testing.T) {
		t.Parallel()
		key, _ := appleP8(t)
		_, otherP8 := appleP8(t)
		f := newAppleFake(t, &key.PublicKey)
		conn := appleFor(t, f, otherP8)
		b := newBegin()
		_, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
		if !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("Exchange err = %v, want invalid_client", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		key, p8 := appleP8(t)
		f := newAppleFake(t, &key.PublicKey)
		f.set(func() { f.deny = "user_cancelled_authorize" })
		conn := appleFor(t, f, p8)
		b := newBegin()
		if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); !errors.Is(err, ErrDenied) {
			t.Fatalf("Exchange err = %v, want ErrDenied", err)
		}
	})
	t.Run("unverified address", func(t *testing.T) {
		t.Parallel()
		key, p8 := appleP8(t)
		f := newAppleFake(t, &key.PublicKey)
		f.set(func() { f.claims["email_verified"] = "false" })
		conn := appleFor(t, f, p8)
		b := newBegin()
		id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
		if err != nil || id.EmailVerified {
			t.Fatalf("Exchange = %+v, %v; want an unverified address", id, err)
		}
	})
}

func TestAppleKeyAndStaticSecret(t *testing.T) {
	t.Parallel()
	env := testEnv(testNow)
	for name, key := range map[string]string{"not PEM": "nope", "RSA key": rsaPKCS8(t)} {
		if _, err := newPreset(context.Background(), env, config.Connection{ID: "x", Type: config.ConnApple, ClientID: appleSvcID,
			TeamID: appleTeam, KeyID: appleKeyID, PrivateKey: key}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	impl, err := newPreset(context.Background(), env, config.Connection{ID: "x", Type: config.ConnApple, ClientID: appleSvcID,
		ClientSecret: "pre-made-jwt"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := impl.(*oidcConn).clientSecret(); s != "pre-made-jwt" || err != nil {
		t.Errorf("static secret = %q, %v", s, err)
	}
}

func rsaPKCS8(t *testing.T) string {
	der, err := x509.MarshalPKCS8PrivateKey(testRSAKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
