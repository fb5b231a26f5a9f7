// Command load is UMM's load harness: it starts UMM and Ory Hydra as real processes pinned to one core,
// drives them from the other core with the same operations, and prints each figure beside its ratio
// UMM/Hydra. It is a benchmark, never a test: numbers depend on the machine, so only ratios from the same
// run are compared. Usage (from the repository root, after building both binaries):
//
//	go build -o bin/umm ./cmd/umm
//	(cd bench/hydra && CGO_ENABLED=1 go build -tags sqlite,sqlite_omit_load_extension -o bin/hydra github.com/ory/hydra/v2)
//	go run ./bench/load -db sqlite,postgres -d 10s
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/crypto/argon2"
	"golang.org/x/sys/unix"
)

type options struct {
	umm, hydra, dbs, pg, out string
	d                        time.Duration
	mint                     time.Duration // time to mint the token pool of an introspection phase
	poolLimit                int           // most tokens in that pool
	serverCore, loadCore     int
}

func main() {
	var o options
	flag.StringVar(&o.umm, "umm", "bin/umm", "path of the umm binary")
	flag.StringVar(&o.hydra, "hydra", "bench/hydra/bin/hydra", "path of the hydra v2.3.0 binary")
	flag.StringVar(&o.dbs, "db", "sqlite,postgres", "databases to run on: sqlite, postgres")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432", "PostgreSQL server URL (without database)")
	flag.DurationVar(&o.d, "d", 10*time.Second, "duration of each load phase")
	flag.DurationVar(&o.mint, "mint", 0, "most time spent minting the tokens of the distinct-token introspection phase (0: five times -d)")
	flag.IntVar(&o.poolLimit, "pool", 200000, "most tokens minted for the distinct-token introspection phase")
	flag.StringVar(&o.out, "out", "bench/out", "directory for logs and the results table")
	flag.IntVar(&o.serverCore, "server-core", 0, "CPU core the servers are pinned to")
	flag.IntVar(&o.loadCore, "load-core", 1, "CPU core the load generator is pinned to")
	flag.Parse()
	if o.mint <= 0 {
		o.mint = 5 * o.d
	}
	pinSelf(o.loadCore)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		log.Fatal(err)
	}
	var report strings.Builder
	for _, db := range strings.Split(o.dbs, ",") {
		if err := runDB(o, strings.TrimSpace(db), &report); err != nil {
			log.Fatalf("%s: %v", db, err)
		}
	}
	fmt.Print(report.String())
	_ = os.WriteFile(filepath.Join(o.out, "results.md"), []byte(report.String()), 0o644)
}

// pinSelf re-executes the harness under taskset so every thread runs on the load core.
func pinSelf(core int) {
	if os.Getenv("BENCH_LOADGEN_PINNED") != "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command("taskset", append([]string{"-c", fmt.Sprint(core), exe}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), "BENCH_LOADGEN_PINNED=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		log.Fatal(err)
	}
	os.Exit(0)
}

func freshPGDatabase(base, name string) (string, error) {
	db, err := sql.Open("pgx", base+"/postgres?sslmode=disable")
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", err
	}
	return base + "/" + name + "?sslmode=disable", nil
}

func runDB(o options, db string, report *strings.Builder) error {
	dir, err := os.MkdirTemp("", "umm-bench-"+db+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logDir := filepath.Join(o.out, db)
	_ = os.MkdirAll(logDir, 0o755)

	var ummDB, hydraDSN string
	switch db {
	case "sqlite":
		ummDB = "sqlite:" + filepath.Join(dir, "umm.db")
		hydraDSN = "sqlite://" + filepath.Join(dir, "hydra.db") + "?_fk=true&mode=rwc"
	case "postgres":
		if ummDB, err = freshPGDatabase(o.pg, "umm_bench"); err != nil {
			return err
		}
		if hydraDSN, err = freshPGDatabase(o.pg, "hydra_bench"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown database %q", db)
	}
	rep := dbReport{db: db, phase: o.d, serverCore: o.serverCore, loadCore: o.loadCore}

	log.Printf("[%s] starting UMM", db)
	u, ummReady, ummIdle, err := startUMM(o, dir, logDir, ummDB)
	if err != nil {
		return err
	}
	um := measureUMM(o, u)
	u.proc.stop()
	rep.ummReady, rep.ummIdle = ummReady, ummIdle

	log.Printf("[%s] starting Hydra (default configuration)", db)
	if err := migrateHydra(o, hydraDSN, logDir); err != nil {
		return err
	}
	hDefault, hReady, hIdle, err := startHydra(o, logDir, "hydra-default", hydraDSN, nil)
	if err != nil {
		return err
	}
	rep.peerReady, rep.peerIdle = hReady, hIdle
	hcc16 := runLoad(hDefault.PID(), 16, o.d, nil, ccWork(hDefault))
	hcc64 := runLoad(hDefault.PID(), 64, o.d, nil, ccWork(hDefault))
	hjwks := runLoad(hDefault.PID(), 16, o.d, nil, hDefault.JWKS)
	hDefault.proc.stop()

	// Introspection and code flows run on the instance with one-iteration client-secret hashing:
	// introspection through Hydra's admin API authenticates no client, and the flows would otherwise be
	// measuring PBKDF2 at the token exchange.
	log.Printf("[%s] starting Hydra (client-secret hashing at one iteration)", db)
	h1, _, _, err := startHydra(o, logDir, "hydra-1iter", hydraDSN, []string{"OAUTH2_HASHERS_ALGORITHM=pbkdf2", "OAUTH2_HASHERS_PBKDF2_ITERATIONS=1"})
	if err != nil {
		return err
	}
	h1cc16 := runLoad(h1.PID(), 16, o.d, nil, ccWork(h1))
	h1cc64 := runLoad(h1.PID(), 64, o.d, nil, ccWork(h1))
	h1introCached := introspectCached(o, h1, 16)
	h1intro := introspectDistinct(o, h1, 16, h1introCached.rate())
	h1code1 := runLoad(h1.PID(), 1, o.d, h1.SignIn, h1.CodeFlow)
	h1code := runLoad(h1.PID(), 16, o.d, h1.SignIn, h1.CodeFlow)
	h1.proc.stop()

	log.Printf("[%s] starting Hydra (JWT access tokens, one-iteration hashing)", db)
	hj, _, _, err := startHydra(o, logDir, "hydra-jwt", hydraDSN, []string{"STRATEGIES_ACCESS_TOKEN=jwt", "OAUTH2_HASHERS_ALGORITHM=pbkdf2", "OAUTH2_HASHERS_PBKDF2_ITERATIONS=1"})
	if err != nil {
		return err
	}
	hjcc64 := runLoad(hj.PID(), 64, o.d, nil, ccWork(hj))
	hj.proc.stop()

	rep.rows = []comparison{
		{"client_credentials c=16 vs Hydra default", um.cc16, hcc16},
		{"client_credentials c=64 vs Hydra default", um.cc64, hcc64},
		{"client_credentials c=16 vs Hydra 1-iteration hashing", um.cc16, h1cc16},
		{"client_credentials c=64 vs Hydra 1-iteration hashing", um.cc64, h1cc64},
		{"client_credentials c=64 vs Hydra JWT mode (1 iteration)", um.cc64, hjcc64},
		{"introspection c=16, distinct tokens, each introspected once (Hydra: admin API, no client auth)", um.introspect, h1intro},
		{"introspection c=16, cached: one token again and again (UMM answers from its per-node cache)", um.introspectCached, h1introCached},
		{"JWKS c=16", um.jwks, hjwks},
		{"authorization-code flows with SSO session c=1 (Hydra 1-iteration)", um.code1, h1code1},
		{"authorization-code flows with SSO session c=16 (Hydra 1-iteration)", um.code, h1code},
	}
	rep.ummPeak = um.login.peakRSS
	for _, r := range []result{um.cc16, um.cc64, um.introspect, um.introspectCached, um.jwks, um.code1, um.code} {
		rep.ummPeak = max(rep.ummPeak, r.PeakRSS)
	}
	for _, r := range []result{hcc16, hcc64, hjwks, h1cc16, h1cc64, h1intro, h1introCached, h1code1, h1code, hjcc64} {
		rep.peerPeak = max(rep.peerPeak, r.PeakRSS)
	}
	rep.login = um.login
	report.WriteString(render(rep))
	return nil
}

type ummMeasured struct {
	cc16, cc64, introspect, introspectCached, jwks, code1, code result
	login                                                       loginMeasure
}

func ccWork(t target) worker {
	return func(ctx context.Context, c *http.Client) error {
		_, err := t.ClientCredentials(ctx, c)
		return err
	}
}

// measureUMM runs every phase on UMM, the password logins last with their reference: the pure argon2id
// rate on the server core just before and just after.
func measureUMM(o options, u *ummTarget) ummMeasured {
	var m ummMeasured
	m.cc16 = runLoad(u.PID(), 16, o.d, nil, ccWork(u))
	m.cc64 = runLoad(u.PID(), 64, o.d, nil, ccWork(u))
	m.introspectCached = introspectCached(o, u, 16)
	m.introspect = introspectDistinct(o, u, 16, m.introspectCached.rate())
	m.jwks = runLoad(u.PID(), 16, o.d, nil, u.JWKS)
	m.code1 = runLoad(u.PID(), 1, o.d, u.SignIn, u.CodeFlow)
	m.code = runLoad(u.PID(), 16, o.d, u.SignIn, u.CodeFlow)
	m.login.argonBefore = pureArgon2Rate(o.serverCore, 3*time.Second)
	m.login.logins = runLoad(u.PID(), 8, o.d, nil, u.PasswordLogin)
	m.login.argonAfter = pureArgon2Rate(o.serverCore, 3*time.Second)
	m.login.peakRSS = m.login.logins.PeakRSS
	return m
}

func startUMM(o options, dir, logDir, dbURL string) (*ummTarget, time.Duration, int64, error) {
	port := freePort()
	cfg, err := ummConfig(dir, port, dbURL)
	if err != nil {
		return nil, 0, 0, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// First start migrates, seeds and creates keys; the measured start is the restart.
	p, err := startPinned(logDir, "umm-first", o.serverCore, nil, o.umm, "serve", "--config", cfg)
	if err != nil {
		return nil, 0, 0, err
	}
	if _, err := p.waitReady(base+"/readyz", 60*time.Second); err != nil {
		p.stop()
		return nil, 0, 0, err
	}
	p.stop()
	p, err = startPinned(logDir, "umm", o.serverCore, nil, o.umm, "serve", "--config", cfg)
	if err != nil {
		return nil, 0, 0, err
	}
	ready, err := p.waitReady(base+"/readyz", 60*time.Second)
	if err != nil {
		p.stop()
		return nil, 0, 0, err
	}
	u := &ummTarget{proc: p, base: base, issuer: base + "/t/bench"}
	// Warm the tenant's keys, then let the process settle before reading idle RSS.
	_ = u.JWKS(context.Background(), newClient(1))
	time.Sleep(2 * time.Second)
	return u, ready, rssKiB(p.pid()), nil
}

func hydraEnv(dsn string, public, admin int, extra []string) []string {
	env := []string{
		"DSN=" + dsn,
		"SECRETS_SYSTEM=bench-system-secret-0123456789abcdef",
		fmt.Sprintf("URLS_SELF_ISSUER=http://127.0.0.1:%d", public),
		"URLS_LOGIN=http://127.0.0.1:9/login", "URLS_CONSENT=http://127.0.0.1:9/consent",
		fmt.Sprintf("SERVE_PUBLIC_PORT=%d", public), fmt.Sprintf("SERVE_ADMIN_PORT=%d", admin),
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_ADMIN_HOST=127.0.0.1",
		"LOG_LEVEL=error",
	}
	return append(env, extra...)
}

func migrateHydra(o options, dsn, logDir string) error {
	cmd := exec.Command(o.hydra, "migrate", "sql", "up", "-e", "--yes")
	cmd.Env = append(os.Environ(), "DSN="+dsn)
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(logDir, "hydra-migrate.log"), out, 0o644)
	if err != nil {
		// Older CLI form.
		cmd = exec.Command(o.hydra, "migrate", "sql", "-e", "--yes")
		cmd.Env = append(os.Environ(), "DSN="+dsn)
		if out, err = cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("hydra migrate: %v: %s", err, out)
		}
	}
	return nil
}

func startHydra(o options, logDir, name, dsn string, extra []string) (*hydraTarget, time.Duration, int64, error) {
	public, admin := freePort(), freePort()
	p, err := startPinned(logDir, name, o.serverCore, hydraEnv(dsn, public, admin, extra), o.hydra, "serve", "all", "--dev")
	if err != nil {
		return nil, 0, 0, err
	}
	h := &hydraTarget{proc: p, public: fmt.Sprintf("http://127.0.0.1:%d", public), admin: fmt.Sprintf("http://127.0.0.1:%d", admin)}
	ready, err := p.waitReady(h.public+"/health/ready", 60*time.Second)
	if err != nil {
		p.stop()
		return nil, 0, 0, err
	}
	if err := h.createClient(newClient(1)); err != nil {
		p.stop()
		return nil, 0, 0, err
	}
	_ = h.JWKS(context.Background(), newClient(1))
	time.Sleep(2 * time.Second)
	return h, ready, rssKiB(p.pid()), nil
}

// pureArgon2Rate is argon2id hashes per second with UMM's default parameters, computed on one OS thread
// pinned to core (the server's core, while the server is idle), so it is the ceiling for password logins
// on that core.
func pureArgon2Rate(core int, d time.Duration) float64 {
	ch := make(chan float64)
	go func() {
		runtime.LockOSThread() // the thread dies with the goroutine, so its affinity never leaks
		var set unix.CPUSet
		set.Set(core)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			log.Printf("pin argon2id measurement to core %d: %v", core, err)
		}
		salt := make([]byte, 16)
		n := 0
		start := time.Now()
		for time.Since(start) < d {
			argon2.IDKey([]byte("Quiet-Lantern-Password-9"), salt, 2, 19*1024, 1, 32)
			n++
		}
		ch <- float64(n) / time.Since(start).Seconds()
	}()
	return <-ch
}
