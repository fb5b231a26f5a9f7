package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/server"
)

// TestConnectionsCommands sets, lists, syncs and deletes a tenant's connections from the command line: a
// file's connection is validated like the configuration's, its secret is never printed, a second set
// without the secret keeps it, and sync reports the directory's users.
func TestConnectionsCommands(t *testing.T) {
	dir := ldaptest.Start(t,
		ldaptest.NewEntry("cn=umm,dc=corp,dc=example", "objectClass", "person", "cn", "umm", "userPassword", "service-pass"),
		ldaptest.NewEntry("uid=ann,ou=people,dc=corp,dc=example", "objectClass", "person", "uid", "ann", "mail", "ann@corp.example",
			"userPassword", "ann-pass"))
	cfgPath := writeConfig(t, "")
	run := func(t *testing.T, stdin string, args ...string) result {
		t.Helper()
		return umm(t, stdin, nil, append(args, "--config", cfgPath)...)
	}
	if r := run(t, "", "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	file := filepath.Join(t.TempDir(), "directory.yaml")
	conn := "id: directory\ntype: ldap\nurl: " + dir.URL() + "\nbind_dn: cn=umm,dc=corp,dc=example\nbind_password: service-pass\n" +
		"base_dn: ou=people,dc=corp,dc=example\nuser_filter: (mail={login})\ndomains: [corp.example]\n"
	if err := os.WriteFile(file, []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "connections", "set", "--tenant", "acme", "--file", file); r.code != exitOK || !strings.Contains(r.stdout, "saved connection directory (ldap)") {
		t.Fatalf("set: %d %s %s", r.code, r.stdout, r.stderr)
	}
	bad := "id: corp\ntype: oidc\nissuer: http://login.corp.example\nclient_id: umm\n"
	if r := run(t, bad, "connections", "set", "--tenant", "acme", "--file", "-"); r.code != exitRuntime ||
		!strings.Contains(r.stderr, "plain http only on a loopback host") {
		t.Fatalf("a plain http issuer: %d %s", r.code, r.stderr)
	}
	// Changing the settings without the secret keeps the stored one.
	noSecret := strings.Replace(conn, "bind_password: service-pass\n", "", 1) + "display_name: Corp directory\n"
	if r := run(t, noSecret, "connections", "set", "--tenant", "acme", "--file", "-"); r.code != exitOK {
		t.Fatalf("set without the secret: %d %s", r.code, r.stderr)
	}
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := server.OpenServices(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := svc.Admin.ListConnections(context.Background(), "acme")
	svc.Close()
	if err != nil || len(cs) != 1 || cs[0].BindPassword != "service-pass" || cs[0].DisplayName != "Corp directory" {
		t.Fatalf("stored connections %+v, %v; want the new name and the kept password", cs, err)
	}
	r := run(t, "", "connections", "list", "--tenant", "acme")
	if r.code != exitOK || !strings.Contains(r.stdout, "directory") || !strings.Contains(r.stdout, "Corp directory") ||
		!strings.Contains(r.stdout, "corp.example") || strings.Contains(r.stdout, "service-pass") {
		t.Fatalf("list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "connections", "sync", "--tenant", "acme", "--id", "directory"); r.code != exitOK ||
		!strings.Contains(r.stdout, "0 users read") {
		t.Fatalf("sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "connections", "delete", "--tenant", "acme", "--id", "directory"); r.code != exitOK {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "connections", "delete", "--tenant", "acme", "--id", "directory"); r.code != exitRuntime ||
		!strings.Contains(r.stderr, "no connection \"directory\"") {
		t.Fatalf("delete again: %d %s", r.code, r.stderr)
	}
}

// TestSAMLAppsCommands registers, lists and removes a SAML service provider from the command line; a file
// with a problem is refused with the key that is wrong.
func TestSAMLAppsCommands(t *testing.T) {
	cfgPath := writeConfig(t, "")
	run := func(t *testing.T, stdin string, args ...string) result {
		t.Helper()
		return umm(t, stdin, nil, append(args, "--config", cfgPath)...)
	}
	if r := run(t, "", "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	app := "entity_id: https://wiki.acme.example/saml\nname: Wiki\nacs_urls: [https://wiki.acme.example/saml/acs]\nnameid_format: persistent\n"
	if r := run(t, app, "saml-apps", "set", "--tenant", "acme", "--file", "-"); r.code != exitOK ||
		!strings.Contains(r.stdout, "saved SAML app https://wiki.acme.example/saml") {
		t.Fatalf("set: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "entity_id: x\nacs_url: https://x.example/acs\n", "saml-apps", "set", "--tenant", "acme", "--file", "-"); r.code == exitOK ||
		!strings.Contains(r.stderr, "acs_url") {
		t.Fatalf("an unknown key: %d %s", r.code, r.stderr)
	}
	r := run(t, "", "saml-apps", "list", "--tenant", "acme")
	if r.code != exitOK || !strings.Contains(r.stdout, "/t/acme/saml/metadata") || !strings.Contains(r.stdout, "Wiki") ||
		!strings.Contains(r.stdout, "persistent") {
		t.Fatalf("list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "saml-apps", "delete", "--tenant", "acme", "--entity-id", "https://wiki.acme.example/saml"); r.code != exitOK {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "saml-apps", "list", "--tenant", "acme"); strings.Contains(r.stdout, "Wiki") {
		t.Fatalf("list after delete: %s", r.stdout)
	}
}
