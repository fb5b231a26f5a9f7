package admin_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func personEntry(uid, mail, given string) ldaptest.Entry {
	return ldaptest.NewEntry("uid="+uid+",ou=people,dc=corp,dc=example", "objectClass", "person", "uid", uid, "mail", mail,
		"givenName", given, "sn", "Staff", "userPassword", uid+"-directory-pass")
}

// TestSyncDirectory links users through an LDAP connection, then changes the directory: sync refreshes the
// profiles of users still there, disables the ones gone, refuses to disable most users at once without
// Force, and changes nothing while the directory cannot be read.
func TestSyncDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		service := ldaptest.NewEntry("cn=umm,dc=corp,dc=example", "objectClass", "person", "cn", "umm", "userPassword", "service-pass")
		dir := ldaptest.Start(t, service, personEntry("ann", "ann@corp.example", "Ann"), personEntry("bob", "bob@corp.example", "Bob"))
		f := newFixture(t, db)
		fed := federation.New(federation.Deps{DB: db, Keyring: f.keyring, PublicURL: "http://127.0.0.1"})
		t.Cleanup(fed.Close)
		svc := admin.New(admin.Deps{DB: db, Keyring: f.keyring, Identity: f.identity, Federation: fed})
		tenant := storetest.Tenant(t, db)
		tt, err := db.GetTenant(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		conn := config.Connection{ID: "directory", Type: config.ConnLDAP, URL: dir.URL(), BaseDN: "ou=people,dc=corp,dc=example",
			BindDN: "cn=umm,dc=corp,dc=example", BindPassword: "service-pass", Timeout: config.Duration(time.Second),
			UserFilter: "(&(objectClass=person)(mail={login}))", Domains: []string{"corp.example"}}
		if _, err := svc.UpsertConnection(ctx, tenant, conn, 0, "test"); err != nil {
			t.Fatal(err)
		}
		c, err := fed.Connector(ctx, tenant, "directory")
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]store.User{}
		for _, uid := range []string{"ann", "bob"} {
			who, err := c.PasswordChecker().Authenticate(ctx, uid+"@corp.example", uid+"-directory-pass")
			if err != nil {
				t.Fatal(err)
			}
			u, err := f.identity.ProvisionFederated(ctx, tt, identity.Upstream{Connection: "directory", Subject: who.Subject,
				Email: who.Email, EmailVerified: who.EmailVerified, Profile: who.Profile})
			if err != nil {
				t.Fatal(err)
			}
			users[uid] = u
		}
		if users["ann"].GivenName != "Ann" {
			t.Fatalf("provisioned ann with given name %q", users["ann"].GivenName)
		}

		t.Run("a directory that cannot be read changes nothing", func(t *testing.T) {
			dir.SetHang(true)
			defer dir.SetHang(false)
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if _, err := svc.SyncDirectory(cctx, tenant, "directory", admin.SyncOptions{}, "test"); err == nil {
				t.Fatal("a sync against a directory that does not answer succeeded")
			}
			for uid, u := range users {
				got, _ := db.GetUser(ctx, tenant, u.ID)
				if got.Disabled {
					t.Errorf("%s was disabled during an outage", uid)
				}
			}
		})

		t.Run("changed entries are refreshed and removed ones disabled", func(t *testing.T) {
			dir.SetAttr("uid=ann,ou=people,dc=corp,dc=example", "givenName", "Annabel")
			dir.Remove("uid=bob,ou=people,dc=corp,dc=example")
			rep, err := svc.SyncDirectory(ctx, tenant, "directory", admin.SyncOptions{}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Read != 2 || rep.Updated != 1 || rep.Disabled != 1 {
				t.Errorf("report %+v, want 2 read, 1 refreshed, 1 disabled", rep)
			}
			ann, _ := db.GetUser(ctx, tenant, users["ann"].ID)
			bob, _ := db.GetUser(ctx, tenant, users["bob"].ID)
			if ann.GivenName != "Annabel" || ann.Disabled {
				t.Errorf("ann after sync: given name %q, disabled %v", ann.GivenName, ann.Disabled)
			}
			if !bob.Disabled {
				t.Error("bob, gone from the directory, is still enabled")
			}
			if n := countEvents(t, db, tenant, events.TypeDirectorySynced); n != 1 {
				t.Errorf("%d connection.synced events, want 1", n)
			}
		})

		t.Run("most users gone at once is refused unless forced", func(t *testing.T) {
			var more []store.User
			for i := range 6 {
				uid := fmt.Sprintf("temp%d", i)
				dir.Add(personEntry(uid, uid+"@corp.example", "Temp"))
				who, err := c.PasswordChecker().Authenticate(ctx, uid+"@corp.example", uid+"-directory-pass")
				if err != nil {
					t.Fatal(err)
				}
				u, err := f.identity.ProvisionFederated(ctx, tt, identity.Upstream{Connection: "directory", Subject: who.Subject,
					Email: who.Email, EmailVerified: true})
				if err != nil {
					t.Fatal(err)
				}
				more = append(more, u)
				dir.Remove("uid=" + uid + ",ou=people,dc=corp,dc=example")
			}
			_, err := svc.SyncDirectory(ctx, tenant, "directory", admin.SyncOptions{}, "test")
			if !errors.Is(err, admin.ErrMassDisable) {
				t.Fatalf("sync with 7 of 8 users gone = %v, want ErrMassDisable", err)
			}
			if u, _ := db.GetUser(ctx, tenant, more[0].ID); u.Disabled {
				t.Error("a refused sync disabled a user")
			}
			rep, err := svc.SyncDirectory(ctx, tenant, "directory", admin.SyncOptions{Force: true}, "test")
			if err != nil || rep.Disabled != 6 {
				t.Fatalf("forced sync = %+v, %v; want the 6 new ones disabled", rep, err)
			}
		})
	})
}
