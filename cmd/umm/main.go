// Command umm is UMM's single binary: the server (umm serve), schema migrations and the management
// commands for tenants, clients, users and signing keys. It loads the configuration (config.Load), builds
// the logger and hands both to package server, which wires everything else.
//
// Exit codes: 0 success, 1 runtime error (including an invalid configuration), 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default behaviour so a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(),
		self: selfCommand(os.Args[0])})
	stop()
	os.Exit(code)
}

// env is the process's outside world, so that tests can run commands in-process.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
	self    string // how the operator runs this program, for commands we suggest; "" is go run ./cmd/umm
}

// invocation is how to run umm in a command printed for the operator.
func (e *env) invocation() string {
	if e.self == "" {
		return "go run ./cmd/umm"
	}
	return e.self
}

// selfCommand is how the operator ran this program, from argv[0]: "go run ./cmd/umm" when go run built it
// in a temporary directory (the README's quick start), else argv[0] as typed (bin/umm, umm).
func selfCommand(arg0 string) string {
	if strings.Contains(filepath.ToSlash(arg0), "/go-build") {
		return ""
	}
	return arg0
}

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// command is one runnable subcommand ("serve", "users create"). Commands take flags only: the runner
// refuses positional arguments and checks the required flags before run is called.
type command struct {
	name     string
	short    string // one line for the command list
	summary  string
	run      func(ctx context.Context, e *env, fs *flag.FlagSet) error
	flags    func(fs *flag.FlagSet) // registers the command's own flags (besides --config)
	required []string               // flags that must be set, checked in this order
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func init() {
	register(serveCommand())
	register(migrateCommand())
	register(versionCommand())
	register(tenantsCreateCommand())
	register(tenantsListCommand())
	register(clientsCreateCommand())
	register(clientsListCommand())
	register(clientsDeleteCommand())
	register(usersCreateCommand())
	register(usersListCommand())
	register(usersSetPasswordCommand())
	register(usersDisableCommand())
	register(usersEnableCommand())
	register(usersUnlockCommand())
	register(usersDeleteCommand())
	register(keysRotateCommand())
	register(tenantsUpdateCommand())
	register(tenantsDeleteCommand())
	register(clientsUpdateCommand())
	register(clientsRotateSecretCommand())
	register(usersUpdateCommand())
	register(keysListCommand())
	register(keysRevokeCommand())
	register(keysRotateMasterCommand())
	register(invitationsCreateCommand())
	register(invitationsListCommand())
	register(invitationsResendCommand())
	register(invitationsRevokeCommand())
	register(usersMFAListCommand())
	register(usersMFAResetCommand())
	register(connectionsListCommand())
	register(connectionsSyncCommand())
	register(connectionsSetCommand())
	register(connectionsDeleteCommand())
	register(samlAppsSetCommand())
	register(samlAppsListCommand())
	register(samlAppsDeleteCommand())
	register(eventsListCommand())
	register(webhooksCreateCommand())
	register(webhooksListCommand())
	register(webhooksUpdateCommand())
	register(webhooksDeleteCommand())
	register(webhooksRotateSecretCommand())
	register(webhooksDeliveriesCommand())
	register(webhooksRedeliverCommand())
}

// usageError is a mistake in the command line; it exits 2 after printing the command's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, _ := find(args[1:]); c != nil {
				fs := newFlagSet(c, e.stdout)
				fs.Usage()
				return exitOK
			}
		}
		printUsage(e.stdout)
		return exitOK
	}
	c, rest := find(args)
	if c == nil {
		if groupExists(args[0]) {
			fmt.Fprintf(e.stderr, "umm %s: missing or unknown subcommand\n\n", args[0])
		} else {
			fmt.Fprintf(e.stderr, "umm: unknown command %q\n\n", args[0])
		}
		printUsage(e.stderr)
		return exitUsage
	}
	fs := newFlagSet(c, e.stderr)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage // the flag package printed the problem and the usage
	}
	err := c.check(fs)
	if err == nil {
		err = c.run(ctx, e, fs)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "umm %s: %s\n\n", c.name, ue.msg)
		fs.SetOutput(e.stderr)
		fs.Usage()
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "umm %s: %s\n", c.name, personMessage(c, fs, err))
		return exitRuntime
	}
}

// check refuses positional arguments and names the first required flag that is not set.
func (c *command) check(fs *flag.FlagSet) error {
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	return required(fs, c.required...)
}

// find returns the command named by the first one or two words of args and the remaining arguments.
func find(args []string) (*command, []string) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slicesEqual(args[:len(words)], words) {
			return c, args[len(words):]
		}
	}
	return nil, nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func groupExists(name string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

// newFlagSet builds the command's FlagSet with --config and its own flags.
func newFlagSet(c *command, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("umm "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.String("config", "", "configuration `file` (YAML); without it the built-in defaults and UMM_* variables apply")
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: umm %s [flags]\n\n%s\n\nFlags:\n", c.name, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `umm is UMM, an OpenID Connect provider for your customers' identities.

Usage: umm <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	byName := map[string]*command{}
	for _, c := range commands {
		names = append(names, c.name)
		byName[c.name] = c
	}
	sort.SliceStable(names, func(i, j int) bool { return order(names[i]) < order(names[j]) })
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s %s\n", n, byName[n].short)
	}
	fmt.Fprint(w, `
Every command takes --config FILE (YAML); UMM_* environment variables override the file.
Run "umm help <command>" or "umm <command> -h" for the command's flags.
Passwords are read from the terminal without echo, or from standard input when it is not a terminal;
never from the command line.
`)
}

// order keeps the usage list in a reading order: serve first, then maintenance, then management.
func order(name string) string {
	for i, p := range []string{"serve", "migrate", "version", "tenants", "clients", "users", "invitations", "connections", "saml-apps", "events", "webhooks", "keys"} {
		if strings.HasPrefix(name, p) {
			return fmt.Sprintf("%02d %s", i, name)
		}
	}
	return "99 " + name
}

// newTable writes the aligned columns of the list commands to w; Flush prints them.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// tableTime is how the list commands show a time: UTC, to the minute.
func tableTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// listFlag is a repeatable flag that also accepts comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// listValue returns the values of a listFlag registered on fs.
func listValue(fs *flag.FlagSet, name string) []string {
	if f := fs.Lookup(name); f != nil {
		if l, ok := f.Value.(*listFlag); ok {
			return *l
		}
	}
	return nil
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// stringFlag returns the value of a string flag registered on fs.
func stringFlag(fs *flag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// required checks that each named flag is set.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(stringFlag(fs, n)) == "" {
			return usagef("--%s is required", n)
		}
	}
	return nil
}
