// Package cli is Keydesk's command line: every subcommand of SPEC §4, run
// from the same binary as the window. Each group of subcommands lives in its
// own file and registers itself with register.
package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/keydesk/keydesk/workspace"
)

// Exit statuses.
const (
	ExitOK     = 0
	ExitFailed = 1 // a failed operation, or a denied verify
	ExitUsage  = 2 // bad usage or input
)

// UsageError is bad usage or input: exit status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// usagef returns a UsageError with a formatted message.
func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// ErrDenied is returned by commands (verify) whose answer is "no": exit 1
// with nothing more printed on stderr than the command printed itself.
var ErrDenied = errors.New("denied")

// Env is what a command runs with.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// DataDir is --data, else KEYDESK_DATA, else the OS default.
	DataDir string
	// Now is the --now clock, or nil for the real clock.
	Now *time.Time
	// Demo is --demo: a throw-away store with sample keys and an
	// in-memory keyring.
	Demo bool
	// CatalogFile is --catalog: a JSON catalog replacing the embedded one.
	CatalogFile string
	// Getenv reads the environment (os.Getenv outside tests).
	Getenv func(string) string
	// Terminal is standard input as an interactive terminal (nil: never
	// a terminal): questions are asked and secrets read without echo
	// only there.
	Terminal Terminal
}

// AllowNowEnv is the environment variable that lets --now work on a real
// data folder (tests set it to 1); otherwise --now needs --demo, so that
// nobody backdates the audit log or stretches a key's lifetime.
const AllowNowEnv = "KEYDESK_ALLOW_NOW"

// Options returns the backend options for this run.
func (e *Env) Options() workspace.Options {
	o := workspace.Options{Dir: e.DataDir, Demo: e.Demo, CatalogFile: e.CatalogFile}
	if e.Now != nil {
		o.Now = *e.Now
	}
	return o
}

// Open opens the data folder (or the demo store) for a command.
func (e *Env) Open() (*workspace.Workspace, error) { return workspace.Open(e.Options()) }

type command struct {
	summary string
	run     func(env *Env, args []string) error
}

var commands = map[string]command{}

// register adds a top-level subcommand; each file calls it from init.
func register(name, summary string, run func(env *Env, args []string) error) {
	if _, dup := commands[name]; dup {
		panic("cli: command registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// OpenWindow opens the desktop window; it calls open (off the UI goroutine)
// to open the data folder and closes the folder when the window closes. main
// sets it, so that this package does not import the GUI.
var OpenWindow func(open func() (*workspace.Workspace, error)) error

// Main runs the command line and returns the exit status.
func Main(args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	err := run(args, env)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrDenied):
		return ExitFailed
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "keydesk: "+sentence(err.Error()))
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailed
}

// sentence makes an error message read as one sentence.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "unknown error."
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}

func run(args []string, env *Env) error {
	fs := flag.NewFlagSet("keydesk", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "", "data folder (default: KEYDESK_DATA, else the OS's per-user data folder)")
	now := fs.String("now", "", "run with the clock set to this RFC 3339 time")
	demo := fs.Bool("demo", false, "a throw-away store with sample keys and an in-memory keyring")
	catalogFile := fs.String("catalog", "", "a JSON permission catalog replacing the embedded one (same shape as `keydesk catalog --json`)")
	help := fs.Bool("help", false, "show help")
	fs.BoolVar(help, "h", false, "show help")
	if err := fs.Parse(args); err != nil {
		return usagef("%v (see keydesk --help)", err)
	}
	if *help {
		printUsage(env.Stdout)
		return nil
	}
	env.DataDir = *data
	if env.DataDir == "" {
		env.DataDir = env.Getenv("KEYDESK_DATA")
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return usagef("--now must be an RFC 3339 time such as 2026-11-27T11:00:00Z")
		}
		if !*demo && env.Getenv(AllowNowEnv) != "1" {
			return usagef("--now works only with --demo (a throw-away store), so that it cannot backdate the audit log or stretch a key's lifetime")
		}
		env.Now = &t
	}
	env.Demo = *demo
	env.CatalogFile = *catalogFile
	if env.CatalogFile != "" {
		// Check the file before anything opens the store, so that a bad
		// catalog is one sentence and touches nothing.
		if _, err := loadCatalog(env); err != nil {
			return err
		}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if OpenWindow == nil {
			return errors.New("this build has no window; use a subcommand (see keydesk --help)")
		}
		return OpenWindow(env.Open)
	}
	if rest[0] == "help" {
		printUsage(env.Stdout)
		return nil
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		return usagef("unknown command %q (see keydesk --help)", rest[0])
	}
	return cmd.run(env, rest[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: keydesk [--data DIR] [--now RFC3339] [--catalog FILE] [--demo] [COMMAND ...]")
	fmt.Fprintln(w, "\nWith no command, opens the Company API Keys window.")
	fmt.Fprintln(w, "\nGlobal flags:")
	fmt.Fprintln(w, "  --data DIR       data folder (default: $KEYDESK_DATA, else the OS's per-user data folder)")
	fmt.Fprintln(w, "  --now RFC3339    run with the clock set to this time (demos and tests)")
	fmt.Fprintln(w, "  --catalog FILE   a JSON permission catalog replacing the embedded one (see keydesk catalog --json)")
	fmt.Fprintln(w, "  --demo           a throw-away store with sample keys and an in-memory keyring")
	fmt.Fprintln(w, "\nCommands (keydesk COMMAND --help for details):")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

// newFlagSet returns a subcommand's flag set: errors are returned, never
// printed, so that Main reports them as one sentence.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses a subcommand's arguments, allowing flags before and
// after positional arguments ("keys rename ID NAME --json" as well as
// "keys rename --json ID NAME"); everything after "--" is positional. It
// returns the positional arguments. On -h or --help it prints usage and the
// flags to env.Stdout and returns flag.ErrHelp (exit 0).
func parseFlags(env *Env, fs *flag.FlagSet, usage string, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(env.Stdout, "Usage: "+usage)
				fs.SetOutput(env.Stdout)
				fs.PrintDefaults()
				fs.SetOutput(io.Discard)
				return nil, flag.ErrHelp
			}
			return nil, usagef("%v (usage: %s)", err, usage)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set appends one value.
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// withBackend opens the data folder, runs fn and closes the folder again
// (which flushes last-used times), reporting the first error.
func withBackend(env *Env, fn func(b *workspace.Workspace) error) (err error) {
	b, err := env.Open()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the data folder: %w", cerr)
		}
	}()
	return fn(b)
}

// Time formats of the command line: people read local times, JSON carries
// RFC 3339 in UTC.
const localLayout = "2006-01-02 15:04 MST"

func localTime(t time.Time) string { return t.Local().Format(localLayout) }

func utcTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
