package umm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The stand-ins for the PostgreSQL and Debian commands .ci/postgres runs. They keep the state of the
// pretend machine as files in $STATE and log every call to $STATE/log.
var ciStubs = map[string]string{
	"apt-get": `echo "apt-get $*" >>"$STATE/log"
if [ "$1" = install ]; then cp "$STUBS/pg/"* "$STUBS/installed/"; touch "$STATE/role"; fi`,
	"pg_lsclusters": `[ -e "$STATE/nocluster" ] && exit 0
if [ -e "$STATE/online" ]; then s=online; else s=down; fi
echo "15 main 5432 $s postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log"`,
	"pg_createcluster": `echo "pg_createcluster $*" >>"$STATE/log"; rm -f "$STATE/nocluster"`,
	"pg_ctlcluster": `echo "pg_ctlcluster $*" >>"$STATE/log"
[ -e "$STATE/wontstart" ] && exit 1
touch "$STATE/online"`,
	"pg_isready": `[ -e "$STATE/online" ]`,
	"psql": `echo "psql $*" >>"$STATE/log"
[ -e "$STATE/online" ] || exit 2
case "$1" in postgres://*) [ -e "$STATE/db" ] && [ -e "$STATE/trust" ] && echo 1 && exit 0; exit 2 ;; esac
for q; do :; done
case "$q" in
  *pg_roles*) [ -e "$STATE/role" ] && echo 1 ;;
  *pg_database*) [ -e "$STATE/db" ] && echo 1 ;;
  *"CREATE ROLE"*) touch "$STATE/role" ;;
  *"CREATE DATABASE"*) touch "$STATE/db" ;;
  *hba_file*) echo "$STATE/pg_hba.conf" ;;
  *pg_reload_conf*) [ "$(head -n 1 "$STATE/pg_hba.conf")" = "host test postgres 127.0.0.1/32 trust" ] && touch "$STATE/trust"; echo t ;;
esac
exit 0`,
	"runuser": `echo "runuser $*" >>"$STATE/log"; shift 3; exec "$@"`,
}

var pgCommands = []string{"pg_lsclusters", "pg_createcluster", "pg_ctlcluster", "pg_isready", "psql"}

// TestCIProvisionsPostgreSQL runs .ci/postgres on pretend machines (stand-in commands on an otherwise
// empty PATH) in each state it must handle, and checks what it did.
func TestCIProvisionsPostgreSQL(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	const debianHBA = "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
	const trustLine = "host test postgres 127.0.0.1/32 trust"
	tests := []struct {
		name      string
		state     []string // files in $STATE: installed, online, role, db, trust, nocluster, wontstart
		wantExit  int
		want      []string // log lines that must appear, in order
		wantNot   []string
		wantTrust bool // pg_hba.conf starts with the trust line
	}{
		{"a machine where the URL works is left alone", []string{"installed", "online", "role", "db", "trust"}, 0,
			nil, []string{"apt-get", "pg_ctlcluster", "CREATE", "pg_reload_conf"}, false},
		{"a fresh machine gets PostgreSQL installed, started, the database and the trust line", nil, 0,
			[]string{"apt-get update", "apt-get install -y postgresql", "pg_ctlcluster --skip-systemctl-redirect 15 main start",
				"CREATE DATABASE \"test\" OWNER \"postgres\"", "pg_reload_conf"}, []string{"CREATE ROLE", "pg_createcluster"}, true},
		{"an installed but stopped server is started", []string{"installed", "role", "db", "trust"}, 0,
			[]string{"pg_ctlcluster --skip-systemctl-redirect 15 main start"}, []string{"apt-get", "CREATE", "pg_reload_conf"}, false},
		{"an installation without a cluster gets one", []string{"installed", "nocluster", "role"}, 0,
			[]string{"pg_createcluster --port 5432 15 main", "pg_ctlcluster --skip-systemctl-redirect 15 main start", "CREATE DATABASE"}, []string{"apt-get"}, true},
		{"a running server with password authentication gets the database and the trust line", []string{"installed", "online", "role"}, 0,
			[]string{"CREATE DATABASE", "pg_reload_conf"}, []string{"apt-get", "pg_ctlcluster", "CREATE ROLE"}, true},
		{"a missing role is created", []string{"installed", "online", "db"}, 0,
			[]string{"CREATE ROLE \"postgres\" LOGIN SUPERUSER", "pg_reload_conf"}, []string{"CREATE DATABASE"}, true},
		{"a server that does not start fails the run", []string{"installed", "wontstart"}, 1,
			[]string{"pg_ctlcluster --skip-systemctl-redirect 15 main start"}, []string{"CREATE"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stubs, state := filepath.Join(dir, "stubs"), filepath.Join(dir, "state")
			for _, d := range []string{"bin", "pg", "installed", ""} {
				if err := os.MkdirAll(filepath.Join(stubs, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(state, 0o755); err != nil {
				t.Fatal(err)
			}
			libDir := filepath.Join(dir, "lib")
			if err := os.MkdirAll(filepath.Join(libDir, "15"), 0o755); err != nil {
				t.Fatal(err)
			}
			// The few ordinary commands the script uses, and nothing else from the machine.
			for _, c := range []string{"bash", "cat", "grep", "mv", "chown", "chmod", "seq", "sleep", "find", "sort", "tail", "head", "touch", "cp", "rm"} {
				p, err := exec.LookPath(c)
				if err != nil {
					t.Skipf("no %s", c)
				}
				if err := os.Symlink(p, filepath.Join(stubs, "bin", c)); err != nil {
					t.Fatal(err)
				}
			}
			for name, body := range ciStubs {
				sub := "bin"
				for _, pc := range pgCommands {
					if pc == name {
						sub = "pg"
					}
				}
				if err := os.WriteFile(filepath.Join(stubs, sub, name), []byte("#!"+bash+"\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range tt.state {
				if s == "installed" {
					for _, pc := range pgCommands {
						b, _ := os.ReadFile(filepath.Join(stubs, "pg", pc))
						if err := os.WriteFile(filepath.Join(stubs, "installed", pc), b, 0o755); err != nil {
							t.Fatal(err)
						}
					}
					continue
				}
				if err := os.WriteFile(filepath.Join(state, s), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(state, "pg_hba.conf"), []byte(debianHBA), 0o640); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command(bash, ".ci/postgres")
			cmd.Env = []string{"PATH=" + filepath.Join(stubs, "bin") + ":" + filepath.Join(stubs, "installed"),
				"STATE=" + state, "STUBS=" + stubs, "PG_WAIT_SECONDS=2", "PG_LIB_DIR=" + libDir}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			logb, _ := os.ReadFile(filepath.Join(state, "log"))
			log := string(logb)
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d\noutput:\n%s\ncalls:\n%s", code, tt.wantExit, out, log)
			}
			rest := log
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("no call with %q (in this order) in:\n%s", w, log)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.wantNot {
				if strings.Contains(log, w) {
					t.Errorf("a call with %q was made:\n%s", w, log)
				}
			}
			hba, _ := os.ReadFile(filepath.Join(state, "pg_hba.conf"))
			if got := strings.HasPrefix(string(hba), trustLine+"\n"); got != tt.wantTrust {
				t.Errorf("pg_hba.conf starts with the trust line: %v, want %v:\n%s", got, tt.wantTrust, hba)
			}
			if !strings.HasSuffix(string(hba), debianHBA) {
				t.Errorf("the rest of pg_hba.conf was changed:\n%s", hba)
			}
		})
	}
}
