package main

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestUsersProfileAttributes(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "")
	run := func(args ...string) result {
		return umm(t, "", nil, append(args, "--config", cfg)...)
	}
	open := func(t *testing.T) *store.DB {
		t.Helper()
		db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(filepath.Dir(cfg), "umm.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	profile := func(t *testing.T) store.Profile {
		t.Helper()
		db := open(t)
		us, err := db.ListUsers(context.Background(), "acme", "", 10)
		if err != nil || len(us) != 1 {
			t.Fatalf("users = %v, %v", us, err)
		}
		return us[0].Profile
	}

	if r := run("tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatalf("tenants create: %s", r.stderr)
	}
	// The schema comes from the seed at start (or later the API); here it is written as the seed would store it.
	db := open(t)
	ten, err := db.GetTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	ten.Settings.Profile = config.ProfileSchema{Fields: []config.ProfileField{
		{Name: "company", Type: "string", MaxLength: ptr(10)}, {Name: "newsletter", Type: "boolean"},
		{Name: "seats", Type: "integer", Min: ptr[int64](1)}}}
	if err := db.UpdateTenant(context.Background(), ten); err != nil {
		t.Fatal(err)
	}

	t.Run("create refuses invalid values, naming each, and creates nothing", func(t *testing.T) {
		r := run("users", "create", "--tenant", "acme", "--email", "ada@example.com", "--no-password",
			"--attr", "company=Acme Corporation", "--attr", "seats=0", "--attr", "fax=1")
		for _, w := range []string{"attributes.company: must be at most 10 characters", "attributes.seats: must be at least 1",
			"attributes.fax: is neither a standard claim nor a field of the tenant's profile"} {
			if r.code != exitRuntime || !strings.Contains(r.stderr, w) {
				t.Errorf("exit %d, stderr does not say %q:\n%s", r.code, w, r.stderr)
			}
		}
		if list := run("users", "list", "--tenant", "acme").stdout; strings.Contains(list, "ada@example.com") {
			t.Fatal("the user was created anyway")
		}
	})
	t.Run("an --attr without = is a usage error", func(t *testing.T) {
		r := run("users", "create", "--tenant", "acme", "--email", "ada@example.com", "--no-password", "--attr", "company")
		if r.code != exitUsage || !strings.Contains(r.stderr, `"company" is not name=value`) {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
	})
	t.Run("create stores typed values", func(t *testing.T) {
		r := run("users", "create", "--tenant", "acme", "--email", "ada@example.com", "--no-password",
			"--attr", "company=Acme", "--attr", "newsletter=yes", "--attr", "seats=3", "--attr", "phone_number=+49 30 123456",
			"--attr", "address.locality=Berlin")
		if r.code != exitOK {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		want := store.Profile{
			Claims:     map[string]any{"phone_number": "+4930123456", "address": map[string]string{"locality": "Berlin"}},
			Attributes: map[string]any{"company": "Acme", "newsletter": true, "seats": int64(3)},
		}
		if got := profile(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("profile = %#v\nwant %#v", got, want)
		}
	})
	t.Run("update sets and clears only the values given", func(t *testing.T) {
		r := run("users", "update", "--tenant", "acme", "--email", "ada@example.com", "--attr", "seats=", "--attr", "birthdate=1990-12-10")
		if r.code != exitOK {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		got := profile(t)
		if _, ok := got.Attributes["seats"]; ok || got.Claims["birthdate"] != "1990-12-10" || got.Attributes["company"] != "Acme" {
			t.Fatalf("profile = %#v", got)
		}
		r = run("users", "update", "--tenant", "acme", "--email", "ada@example.com", "--attr", "birthdate=10.12.1990")
		if r.code != exitRuntime || !strings.Contains(r.stderr, "attributes.birthdate: is not a date (YYYY-MM-DD)") {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
	})
}
