package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
)

// loadConfig loads --config (when set) and the UMM_* environment. Every problem is listed by key path.
func loadConfig(fs *flag.FlagSet, e *env) (config.Config, error) {
	path := stringFlag(fs, "config")
	cfg, err := config.Load(path, e.environ)
	if err != nil {
		if errors.Is(err, config.ErrNoConfigFile) {
			return cfg, fmt.Errorf("%w (check --config)", err)
		}
		// A mistyped variable may be why a value is missing or wrong: show the warnings with the problems.
		if w := config.EnvWarnings(e.environ); len(w) > 0 {
			return cfg, fmt.Errorf("%w\nwarnings:\n  - %s", err, strings.Join(w, "\n  - "))
		}
		return cfg, err
	}
	return cfg, nil
}

// warnUnknownEnv logs a warning for every UMM_ variable that is no setting (config.EnvWarnings).
func warnUnknownEnv(ctx context.Context, log *slog.Logger, e *env) {
	for _, w := range config.EnvWarnings(e.environ) {
		log.WarnContext(ctx, w)
	}
}

// isTerminal reports whether w is a terminal; log.format auto writes text there and JSON elsewhere.
// Tests replace it: a pseudo-terminal is a process boundary.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger builds the process logger from the log section, writing to w. Management commands pass
// slog.LevelWarn as floor so that routine messages do not drown their output.
func newLogger(c config.Log, w io.Writer, floor slog.Level) *slog.Logger {
	var level slog.Level
	switch c.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	level = max(level, floor)
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" || (c.Format == "auto" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// withServices loads the configuration, opens the store (migrating it) and the management services, runs
// fn and closes everything.
func withServices(ctx context.Context, e *env, fs *flag.FlagSet, fn func(s *server.Services) error) error {
	cfg, err := loadConfig(fs, e)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, e.stderr, slog.LevelWarn)
	warnUnknownEnv(ctx, log, e)
	s, err := server.OpenServices(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}
