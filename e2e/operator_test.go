package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

// TestOperatorCommands runs the umm management commands against the database of a running server, as an
// operator would, and checks that the server acts on what they changed.
func TestOperatorCommands(t *testing.T) {
	backends := storetest.Backends(t)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			t.Run("a user created with the CLI signs in at the running server, and cannot once disabled", func(t *testing.T) {
				const email, password = "carol@example.com", "Teal-Harbor-Password-7"
				s.cli(t, password+"\n", "users", "create", "--tenant", "acme", "--email", email, "--email-verified")
				o := flowOpts{Email: email, Password: password}
				q := codeParams("web", s.RP.URL+"/cb")
				if loc, err := newAgent(s).authorize(authorizeURL(s, "acme", q), o); err != nil || loc.Query().Get("code") == "" {
					t.Fatalf("the new user cannot sign in: %v %v", loc, err)
				}
				s.cli(t, "", "users", "disable", "--tenant", "acme", "--email", email)
				if loc, err := newAgent(s).authorize(authorizeURL(s, "acme", q), o); err == nil {
					t.Fatalf("a disabled user signed in: %s", loc.Redacted())
				} else if !strings.Contains(err.Error(), "sign-in form") && !strings.HasPrefix(err.Error(), "4") {
					t.Fatalf("a disabled user's sign-in: %v, want the sign-in form again", err)
				}
			})
			t.Run("keys rotated with the CLI sign new tokens while old ones still verify", func(t *testing.T) {
				ctx := oidc.ClientContext(testCtx(t, 2*time.Minute), httpClient())
				a := newAgent(s)
				idToken := func() string {
					verifier := oauth2.GenerateVerifier()
					tr := s.redeem(t, a.mustCode(t, verifier), verifier)
					if tr.IDToken == "" {
						t.Fatalf("no id_token: %s", snippet(tr.Raw))
					}
					return tr.IDToken
				}
				old := idToken()
				s.cli(t, "", "keys", "rotate", "--tenant", "acme")
				// On PostgreSQL the rotation's NOTIFY reaches the running server at once. On SQLite the CLI is
				// another process, which in-process messages cannot reach: the server rereads its keys every 5s.
				wait := 2 * time.Second
				if backend == "sqlite" {
					wait = 7 * time.Second
				}
				rotated := time.Now()
				var fresh string
				for {
					fresh = idToken()
					if kid(fresh) != kid(old) {
						break
					}
					if time.Since(rotated) > wait {
						t.Fatalf("%s after the rotation, ID tokens are still signed with key %q", wait, kid(old))
					}
					time.Sleep(100 * time.Millisecond)
				}
				t.Logf("the server signed with the new key %s after the CLI rotated it", time.Since(rotated).Round(10*time.Millisecond))
				v := oidc.NewVerifier(s.Issuer("acme"), oidc.NewRemoteKeySet(ctx, s.Issuer("acme")+"/jwks.json"), &oidc.Config{ClientID: "web"})
				for name, tok := range map[string]string{"before": old, "after": fresh} {
					if _, err := v.Verify(ctx, tok); err != nil {
						t.Errorf("the ID token signed %s the rotation does not verify against the JWKS: %v", name, err)
					}
				}
			})
		})
	}
}

// cli runs a umm management command on the server's configuration, with stdin, and fails on a non-zero exit.
func (s *server) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Flags follow the command words: "users create --config X --tenant acme".
	words := 1
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		words = 2
	}
	argv := append(append(append([]string{}, args[:words]...), "--config", s.cfgPath), args[words:]...)
	cmd := exec.CommandContext(ctx, ummBin, argv...)
	cmd.Env = serverEnv()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("umm %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// kid returns the key id in a JWS's protected header.
func kid(jws string) string {
	h, _, _ := strings.Cut(jws, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var v struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &v)
	return v.Kid
}

// jwtParts decodes a JWT's header and claims without checking anything.
func jwtParts(t *testing.T, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWS compact serialization", snippet(jwt))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("JWT part %d is not base64url JSON", i)
		}
	}
	return header, claims
}
