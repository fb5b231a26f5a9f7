package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

func serveCommand() *command {
	return &command{
		name:  "serve",
		short: "start the server (migrates and applies the seed first)",
		summary: `Start the server. Applies pending migrations and the configuration's tenants: block (the seed)
first; with no configuration it uses SQLite and a generated master key under ./data and creates tenant
"default". Stops gracefully on SIGINT or SIGTERM, finishing requests in flight.`,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			cfg, err := loadConfig(fs, e)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, e.stderr, slog.LevelDebug)
			warnUnknownEnv(ctx, log, e)
			// Listen before anything else: a busy port is reported before the banner and before the
			// database or the master key is created.
			ln, err := server.Listen(cfg.Server.Addr)
			if err != nil {
				return err
			}
			srv, err := server.New(ctx, cfg, log)
			if err != nil {
				ln.Close()
				return err
			}
			fmt.Fprint(e.stderr, srv.Banner(e.invocation(), stringFlag(fs, "config")))
			return srv.RunOn(ctx, ln)
		},
	}
}

func migrateCommand() *command {
	return &command{
		name:  "migrate",
		short: "apply pending database migrations and exit",
		summary: `Apply pending database migrations and exit. Safe to run from several nodes at once (it takes a
lock); umm serve also migrates at start.`,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			cfg, err := loadConfig(fs, e)
			if err != nil {
				return err
			}
			db, err := store.Open(ctx, cfg.Database.URL)
			if err != nil {
				return err
			}
			defer db.Close()
			db.SetMaxOpenConns(cfg.Database.MaxOpenConns)
			before, _ := db.SchemaVersion(ctx) // no table yet: 0
			if err := db.Migrate(ctx); err != nil {
				return err
			}
			after, err := db.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if after == before {
				fmt.Fprintf(e.stdout, "schema is up to date at version %d\n", after)
			} else {
				fmt.Fprintf(e.stdout, "schema migrated from version %d to %d\n", before, after)
			}
			return nil
		},
	}
}

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise the module version or
// the VCS revision from the build information is shown.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "devel " + rev + modified
	}
	return "devel"
}

func versionCommand() *command {
	return &command{
		name:    "version",
		short:   "print the version",
		summary: "Print the version of this binary, its Go version and the newest database schema it knows.",
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			goVersion := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			fmt.Fprintf(e.stdout, "umm %s (%s, schema %d)\n", versionString(), goVersion, store.LatestVersion())
			return nil
		},
	}
}
