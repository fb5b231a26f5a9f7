package admin_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

type fixture struct {
	db       *store.DB
	keyring  *keys.Keyring
	identity *identity.Service
	admin    *admin.Service
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	kr := keys.NewKeyring(master)
	sec := config.Default().Security
	sec.Argon2MemoryKiB, sec.Argon2Iterations = 8*1024, 1 // fast hashes for tests
	id := identity.New(db, sec, nil)
	return &fixture{db: db, keyring: kr, identity: id, admin: admin.New(admin.Deps{DB: db, Keyring: kr, Identity: id})}
}

// countEvents counts a tenant's events of one type.
func countEvents(t *testing.T, db *store.DB, tenantID, typ string) int {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), tenantID, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestClientValidation(t *testing.T) {
	const jwks = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
	web := admin.ClientInput{ClientID: "web", Secret: "a-long-enough-secret", RedirectURIs: []string{"https://app.example.com/cb"}}
	with := func(f func(*admin.ClientInput)) admin.ClientInput {
		c := web
		f(&c)
		return c
	}
	tests := []struct {
		name string
		in   admin.ClientInput
		want string // substring of the error; "" for valid
	}{
		{"a confidential web client is valid", web, ""},
		{"a public client with PKCE semantics is valid", with(func(c *admin.ClientInput) {
			c.Secret, c.TokenEndpointAuthMethod = "", "none"
		}), ""},
		{"a private_key_jwt client with inline keys is valid", with(func(c *admin.ClientInput) {
			c.Secret, c.JWKS = "", jwks
		}), ""},
		{"a machine client without redirect URIs gets client_credentials", with(func(c *admin.ClientInput) {
			c.RedirectURIs = nil
		}), ""},
		{"a relative redirect URI is refused", with(func(c *admin.ClientInput) {
			c.RedirectURIs = []string{"/cb"}
		}), "redirect_uris[0]"},
		{"a redirect URI with a fragment is refused", with(func(c *admin.ClientInput) {
			c.RedirectURIs = []string{"https://app.example.com/cb#x"}
		}), "fragment"},
		{"a javascript redirect URI is refused", with(func(c *admin.ClientInput) {
			c.RedirectURIs = []string{"javascript:alert(1)"}
		}), "javascript"},
		{"an unknown grant type is refused", with(func(c *admin.ClientInput) {
			c.GrantTypes = []string{"password"}
		}), `grant_types: "password" is not one of`},
		{"an unknown auth method is refused", with(func(c *admin.ClientInput) {
			c.TokenEndpointAuthMethod = "tls_client_auth"
		}), "token_endpoint_auth_method"},
		{"a public client with a secret is refused", with(func(c *admin.ClientInput) {
			c.TokenEndpointAuthMethod = "none"
		}), "has no secret"},
		{"a public client cannot use client_credentials", with(func(c *admin.ClientInput) {
			c.Secret, c.TokenEndpointAuthMethod, c.GrantTypes = "", "none", []string{"client_credentials"}
		}), "client_credentials needs a confidential client"},
		{"client_secret_post needs a secret", with(func(c *admin.ClientInput) {
			c.Secret, c.TokenEndpointAuthMethod = "", "client_secret_post"
		}), "client_secret: required"},
		{"a short secret is refused", with(func(c *admin.ClientInput) {
			c.Secret = "short"
		}), "at least 8"},
		{"private_key_jwt needs jwks or jwks_uri", with(func(c *admin.ClientInput) {
			c.Secret, c.TokenEndpointAuthMethod = "", "private_key_jwt"
		}), "needs jwks"},
		{"private keys in jwks are refused", with(func(c *admin.ClientInput) {
			c.Secret, c.JWKS = "", `{"keys":[{"kty":"EC","d":"secret"}]}`
		}), "private key material"},
		{"a plain-http jwks_uri is refused", with(func(c *admin.ClientInput) {
			c.Secret, c.JWKSURI = "", "http://keys.example.com/jwks.json"
		}), "must use https"},
		{"authorization_code needs a redirect URI", with(func(c *admin.ClientInput) {
			c.RedirectURIs, c.GrantTypes = nil, []string{"authorization_code"}
		}), "needs at least one redirect URI"},
		{"refresh_token alone is refused", with(func(c *admin.ClientInput) {
			c.GrantTypes = []string{"refresh_token"}
		}), "refresh_token needs"},
		{"an unknown ID token alg is refused", with(func(c *admin.ClientInput) {
			c.IDTokenAlg = "HS256"
		}), "id_token_signed_response_alg"},
		{"a scope with a space is refused", with(func(c *admin.ClientInput) {
			c.Scopes = []string{"openid profile"}
		}), "scopes[0]"},
		{"a client id with a space is refused", with(func(c *admin.ClientInput) {
			c.ClientID = "my app"
		}), "client_id"},
		{"https logout URIs are valid", with(func(c *admin.ClientInput) {
			c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = "https://app.example.com/bc", true
			c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired = "https://app.example.com/fc?x=1", true
		}), ""},
		{"http logout URIs on loopback are valid", with(func(c *admin.ClientInput) {
			c.BackchannelLogoutURI, c.FrontchannelLogoutURI = "http://127.0.0.1:9000/bc", "http://localhost:9000/fc"
		}), ""},
		{"a plain-http backchannel_logout_uri is refused", with(func(c *admin.ClientInput) {
			c.BackchannelLogoutURI = "http://app.example.com/bc"
		}), "backchannel_logout_uri"},
		{"a relative frontchannel_logout_uri is refused", with(func(c *admin.ClientInput) {
			c.FrontchannelLogoutURI = "/fc"
		}), "frontchannel_logout_uri"},
		{"a logout URI with a fragment is refused", with(func(c *admin.ClientInput) {
			c.BackchannelLogoutURI = "https://app.example.com/bc#x"
		}), "fragment"},
		{"a javascript logout URI is refused", with(func(c *admin.ClientInput) {
			c.FrontchannelLogoutURI = "javascript:alert(1)"
		}), "frontchannel_logout_uri"},
		{"session_required without a URI is refused", with(func(c *admin.ClientInput) {
			c.FrontchannelLogoutSessionRequired = true
		}), "needs frontchannel_logout_uri"},
	}
	db := storetest.Open(t)
	f := newFixture(t, db)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := storetest.Tenant(t, db) // each case starts with no stored client
			_, err := f.admin.UpsertClient(context.Background(), tenant, tt.in, "test")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("UpsertClient: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UpsertClient error = %v, want one containing %q", err, tt.want)
			}
			if !admin.IsInvalid(err) {
				t.Errorf("error %v is not an *InvalidError", err)
			}
		})
	}
}

func TestClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tenant := storetest.Tenant(t, db)
		in := admin.ClientInput{ClientID: "web", Name: "Web", RedirectURIs: []string{"https://app.example.com/cb"}}

		c, secret, err := f.admin.CreateClient(ctx, tenant, in, "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a created confidential client gets a 256-bit secret stored only as its hash", func(t *testing.T) {
			if len(secret) != 43 {
				t.Fatalf("secret has %d characters, want 43 (32 bytes base64url)", len(secret))
			}
			if c.TokenEndpointAuthMethod != "client_secret_basic" || strings.Contains(string(c.SecretHash), string(secret)) {
				t.Fatalf("client = %+v", c)
			}
			if !f.keyring.CheckSecret(string(secret), c.SecretHash) {
				t.Fatal("the stored hash does not verify the secret")
			}
			if n := countEvents(t, db, tenant, "client.upserted"); n != 1 {
				t.Fatalf("%d client.upserted events, want 1", n)
			}
		})
		t.Run("creating the same client again is a conflict", func(t *testing.T) {
			if _, _, err := f.admin.CreateClient(ctx, tenant, in, "test"); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("an update without a secret keeps the stored one", func(t *testing.T) {
			in := in
			in.RedirectURIs = []string{"https://app.example.com/other"}
			got, err := f.admin.UpsertClient(ctx, tenant, in, "test")
			if err != nil {
				t.Fatal(err)
			}
			if !f.keyring.CheckSecret(string(secret), got.SecretHash) || got.RedirectURIs[0] != "https://app.example.com/other" {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("a public client is created without a secret", func(t *testing.T) {
			pub := admin.ClientInput{ClientID: "spa", RedirectURIs: []string{"http://localhost:3000/cb"}, TokenEndpointAuthMethod: "none"}
			c, secret, err := f.admin.CreateClient(ctx, tenant, pub, "test")
			if err != nil {
				t.Fatal(err)
			}
			if secret != "" || c.SecretHash != nil || !c.Public() {
				t.Fatalf("client %+v, secret %q", c, string(secret))
			}
		})
		t.Run("a client in a missing tenant is not found", func(t *testing.T) {
			if _, _, err := f.admin.CreateClient(ctx, "nope-"+tenant, in, "test"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("deleting a client records an event, and deleting it again is not found", func(t *testing.T) {
			if err := f.admin.DeleteClient(ctx, tenant, "spa", "test"); err != nil {
				t.Fatal(err)
			}
			if err := f.admin.DeleteClient(ctx, tenant, "spa", "test"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if n := countEvents(t, db, tenant, "client.deleted"); n != 1 {
				t.Fatalf("%d client.deleted events, want 1", n)
			}
		})
	})
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tenant := storetest.Tenant(t, db)
		u, err := f.admin.CreateUser(ctx, tenant, admin.UserInput{Email: "Ada@Example.com", Password: "correct horse battery", Roles: []string{"admin"}}, "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Run("the new user can sign in and has its roles", func(t *testing.T) {
			got, err := f.identity.Authenticate(ctx, tenant, "ada@example.com", "correct horse battery", "192.0.2.1")
			if err != nil || got.ID != u.ID {
				t.Fatalf("Authenticate = %+v, %v", got, err)
			}
			if len(got.Roles) != 1 || got.Roles[0] != "admin" {
				t.Fatalf("roles = %v", got.Roles)
			}
		})
		t.Run("a user is found by email or by id", func(t *testing.T) {
			for _, ref := range []string{"ADA@example.com", u.ID} {
				if got, err := f.admin.FindUser(ctx, tenant, ref); err != nil || got.ID != u.ID {
					t.Fatalf("FindUser(%q) = %+v, %v", ref, got, err)
				}
			}
			if _, err := f.admin.FindUser(ctx, tenant, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("a duplicate email is a conflict", func(t *testing.T) {
			_, err := f.admin.CreateUser(ctx, tenant, admin.UserInput{Email: "ada@example.com"}, "test")
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("a weak password is refused naming the field", func(t *testing.T) {
			_, err := f.admin.CreateUser(ctx, tenant, admin.UserInput{Email: "bob@example.com", Password: "short"}, "test")
			if !admin.IsInvalid(err) || !strings.HasPrefix(err.Error(), "password: ") {
				t.Fatalf("err = %v, want an invalid password", err)
			}
			if err := f.admin.SetPassword(ctx, tenant, u.ID, "short", "test"); !admin.IsInvalid(err) {
				t.Fatalf("SetPassword err = %v, want invalid", err)
			}
		})
		t.Run("a disabled user cannot sign in, and deletion removes the user", func(t *testing.T) {
			if err := f.admin.SetDisabled(ctx, tenant, u.ID, true, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.identity.Authenticate(ctx, tenant, "ada@example.com", "correct horse battery", "192.0.2.1"); err == nil {
				t.Fatal("a disabled user signed in")
			}
			if err := f.admin.DeleteUser(ctx, tenant, u.ID, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.admin.FindUser(ctx, tenant, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestTenants(t *testing.T) {
	db := storetest.Open(t)
	f := newFixture(t, db)
	ctx := context.Background()
	t.Run("an invalid tenant id is refused", func(t *testing.T) {
		_, err := f.admin.CreateTenant(ctx, admin.TenantInput{ID: "Not Valid"}, "test")
		if !admin.IsInvalid(err) || !strings.HasPrefix(err.Error(), "id: ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a tenant is created with its id as name by default, once", func(t *testing.T) {
		tn, err := f.admin.CreateTenant(ctx, admin.TenantInput{ID: "acme"}, "test")
		if err != nil || tn.Name != "acme" {
			t.Fatalf("CreateTenant = %+v, %v", tn, err)
		}
		if _, err := f.admin.CreateTenant(ctx, admin.TenantInput{ID: "acme"}, "test"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
	})
}
