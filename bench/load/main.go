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
	"math/rand/v2"
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
	serverCore, loadCore     int
}

func main() {
	var o options
	flag.StringVar(&o.umm, "umm", "bin/umm", "path of the umm binary")
	flag.StringVar(&o.hydra, "hydra", "bench/hydra/bin/hydra", "path of the hydra v2.3.0 binary")
	flag.StringVar(&o.dbs, "db", "sqlite,postgres", "databases to run on: sqlite, postgres")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432", "PostgreSQL server URL (without database)")
	flag.DurationVar(&o.d, "d", 10*time.Second, "duration of each load phase")
	flag.StringVar(&o.out, "out", "bench/out", "directory for logs and the results table")
	flag.IntVar(&o.serverCore, "server-core", 0, "CPU core the servers are pinned to")
	flag.IntVar(&o.loadCore, "load-core", 1, "CPU core the load generator is pinned to")
	flag.Parse()
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

type row struct {
	name       string
	umm, hydra float64
	unit       string
	note       string
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
	log.Printf("[%s] starting UMM", db)
	u, ummReady, ummIdle, err := startUMM(o, dir, logDir, ummDB)
	if err != nil {
		return err
	}
	ummRes := measure(o, u, true)
	u.proc.stop()

	log.Printf("[%s] starting Hydra (default configuration)", db)
	if err := migrateHydra(o, hydraDSN, logDir); err != nil {
		return err
	}
	hDefault, hReady, hIdle, err := startHydra(o, logDir, "hydra-default", hydraDSN, nil)
	if err != nil {
		return err
	}
	hydraRes := measure(o, hDefault, false)
	hDefault.proc.stop()

	log.Printf("[%s] starting Hydra (client-secret hashing at one iteration)", db)
	h1, _, _, err := startHydra(o, logDir, "hydra-1iter", hydraDSN, []string{"OAUTH2_HASHERS_ALGORITHM=pbkdf2", "OAUTH2_HASHERS_PBKDF2_ITERATIONS=1"})
	if err != nil {
		return err
	}
	h1cc16 := runLoad(h1.PID(), 16, o.d, nil, ccWork(h1))
	h1cc64 := runLoad(h1.PID(), 64, o.d, nil, ccWork(h1))
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

	argonRate := ummRes.argon2

	fmt.Fprintf(report, "\n## %s (phase %s, server on core %d, load on core %d)\n\n", db, o.d, o.serverCore, o.loadCore)
	fmt.Fprintf(report, "| measure | UMM | Hydra | UMM/Hydra | UMM p50 / p99 | Hydra p50 / p99 | UMM CPU ms/req | Hydra CPU ms/req | failed UMM / Hydra |\n|---|---|---|---|---|---|---|---|---|\n")
	line := func(name string, a, b result) {
		fmt.Fprintf(report, "| %s | %.0f/s | %.0f/s | %.2fx | %s / %s | %s / %s | %.3f | %.3f | %d / %d |\n", name, a.rate(), b.rate(), ratio(a.rate(), b.rate()),
			ms(a.P50), ms(a.P99), ms(b.P50), ms(b.P99), a.cpuPerReq(), b.cpuPerReq(), a.Failures, b.Failures)
		for _, r := range []result{a, b} {
			if r.FirstErr != "" {
				fmt.Fprintf(report, "|  ↳ first error | %.200s |||||||\n", strings.ReplaceAll(r.FirstErr, "|", "/"))
			}
		}
	}
	line("client_credentials c=16 vs Hydra default", ummRes.cc16, hydraRes.cc16)
	line("client_credentials c=64 vs Hydra default", ummRes.cc64, hydraRes.cc64)
	line("client_credentials c=16 vs Hydra 1-iteration hashing", ummRes.cc16, h1cc16)
	line("client_credentials c=64 vs Hydra 1-iteration hashing", ummRes.cc64, h1cc64)
	line("client_credentials c=64 vs Hydra JWT mode (1 iteration)", ummRes.cc64, hjcc64)
	line("introspection c=16 (Hydra: admin API, no client auth)", ummRes.introspect, hydraRes.introspect)
	line("JWKS c=16", ummRes.jwks, hydraRes.jwks)
	line("authorization-code flows with SSO session c=1 (Hydra 1-iteration)", ummRes.code1, h1code1)
	line("authorization-code flows with SSO session c=16 (Hydra 1-iteration)", ummRes.code, h1code)
	fmt.Fprintf(report, "\n| measure | UMM | Hydra | UMM/Hydra |\n|---|---|---|---|\n")
	fmt.Fprintf(report, "| start to first ready (restart, migrated DB) | %s | %s | %.2fx |\n", ms(ummReady), ms(hReady), ratio(float64(ummReady), float64(hReady)))
	fmt.Fprintf(report, "| idle RSS | %.1f MB | %.1f MB | %.2fx |\n", float64(ummIdle)/1024, float64(hIdle)/1024, ratio(float64(ummIdle), float64(hIdle)))
	fmt.Fprintf(report, "| peak RSS under load | %.1f MB | %.1f MB | %.2fx |\n", float64(ummRes.peak)/1024, float64(hydraRes.peak)/1024, ratio(float64(ummRes.peak), float64(hydraRes.peak)))
	fmt.Fprintf(report, "\n| password logins (UMM, c=8, argon2id m=19456 KiB t=2 p=1) | pure argon2id on the server core | ratio | UMM peak RSS during logins |\n|---|---|---|---|\n")
	fmt.Fprintf(report, "| %.1f/s (p50 %s, p99 %s, failed %d) | %.1f/s | %.2fx | %.1f MB |\n", ummRes.login.rate(), ms(ummRes.login.P50), ms(ummRes.login.P99),
		ummRes.login.Failures, argonRate, ratio(ummRes.login.rate(), argonRate), float64(ummRes.login.PeakRSS)/1024)
	if ummRes.login.FirstErr != "" {
		fmt.Fprintf(report, "\nfirst login error: %.300s\n", ummRes.login.FirstErr)
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

type measured struct {
	cc16, cc64, introspect, jwks, code1, code, login result
	peak                                             int64
	argon2                                           float64 // pure argon2id/s on the server core, around the login phase
}

func ccWork(t target) worker {
	return func(ctx context.Context, c *http.Client) error {
		_, err := t.ClientCredentials(ctx, c)
		return err
	}
}

// measure runs the shared phases on t (and the password-login phase on UMM).
func measure(o options, t target, isUMM bool) measured {
	var m measured
	m.cc16 = runLoad(t.PID(), 16, o.d, nil, ccWork(t))
	m.cc64 = runLoad(t.PID(), 64, o.d, nil, ccWork(t))
	c := newClient(4)
	var tokens []string
	for range 200 {
		tok, err := t.ClientCredentials(context.Background(), c)
		if err == nil {
			tokens = append(tokens, tok)
		}
	}
	m.introspect = runLoad(t.PID(), 16, o.d, nil, func(ctx context.Context, c *http.Client) error {
		if len(tokens) == 0 {
			return fmt.Errorf("no tokens to introspect")
		}
		return t.Introspect(ctx, c, tokens[rand.IntN(len(tokens))])
	})
	m.jwks = runLoad(t.PID(), 16, o.d, nil, t.JWKS)
	m.code1 = runLoad(t.PID(), 1, o.d, t.SignIn, t.CodeFlow)
	m.code = runLoad(t.PID(), 16, o.d, t.SignIn, t.CodeFlow)
	if u, ok := t.(*ummTarget); ok && isUMM {
		before := pureArgon2Rate(o.serverCore, 3*time.Second)
		m.login = runLoad(t.PID(), 8, o.d, nil, u.PasswordLogin)
		m.argon2 = (before + pureArgon2Rate(o.serverCore, 3*time.Second)) / 2
	}
	for _, r := range []result{m.cc16, m.cc64, m.introspect, m.jwks, m.code, m.login} {
		m.peak = max(m.peak, r.PeakRSS)
	}
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
			argon2.IDKey([]byte("Bench-Password-9"), salt, 2, 19*1024, 1, 32)
			n++
		}
		ch <- float64(n) / time.Since(start).Seconds()
	}()
	return <-ch
}
