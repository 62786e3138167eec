// Package cli is Keydesk's command line, run from the same binary as the
// window and built on cobra: one file per command (keys_create.go,
// mail_set.go, ...), generated help, man pages and shell completion. What
// varies between the program and its tests (standard streams, environment,
// terminal, context, window) comes in through Env.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/msg"
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

// Error returns the message, one sentence for the user.
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
	// StoreURL is --store, else KEYDESK_STORE: the shared store in
	// PostgreSQL instead of the data folder.
	StoreURL string
	// CatalogFile is --catalog: a JSON catalog replacing the embedded one.
	CatalogFile string
	// catalog is CatalogFile once read and checked (loadCatalog), so the
	// file is parsed once per run.
	catalog *core.Catalog
	// KeyFile is --keyfile: the store's signing material is in the data
	// folder's passphrase-protected keydesk.key, not the OS keyring.
	KeyFile bool
	// PassphraseStdin is --passphrase-stdin: passphrases are read from
	// standard input, one line each.
	PassphraseStdin bool
	// keyFilePass is the key file's passphrase read from the first line of
	// standard input (--keyfile --passphrase-stdin), before the command
	// reads anything else there.
	keyFilePass *string
	// Getenv reads the environment (os.Getenv outside tests).
	Getenv func(string) string
	// Terminal is standard input as an interactive terminal (nil: never
	// a terminal): questions are asked and secrets read without echo
	// only there.
	Terminal Terminal
	// Context ends long-running commands (serve) besides SIGINT and
	// SIGTERM; nil means context.Background().
	Context context.Context
	// OpenWindow opens the window when no command is given; nil means
	// this build has none.
	OpenWindow WindowOpener
	// Version is the program's version (FyneApp.toml's), printed by
	// --version; empty leaves the flag out.
	Version string
}

// context returns the run's context.
func (e *Env) context() context.Context {
	if e.Context == nil {
		return context.Background()
	}
	return e.Context
}

// AllowNowEnv is the environment variable that lets --now work on a real
// data folder (tests set it to 1); otherwise --now needs --demo, so that
// nobody backdates the audit log or stretches a key's lifetime.
const AllowNowEnv = "KEYDESK_ALLOW_NOW"

// Options returns the backend options for this run.
func (e *Env) Options() workspace.Options {
	o := workspace.Options{Dir: e.DataDir, Demo: e.Demo, CatalogFile: e.CatalogFile, Catalog: e.catalog, StoreURL: e.StoreURL}
	if e.KeyFile {
		o.KeyFile, o.Passphrase = true, e.keyFilePassphrase
	}
	if e.Now != nil {
		o.Now = *e.Now
	}
	return o
}

// Open opens the data folder (or the demo store) for a command.
func (e *Env) Open() (*workspace.Workspace, error) {
	w, err := workspace.Open(e.Options())
	return w, asBadInput(err)
}

// WindowOpener opens the desktop window on the store that opts name and
// closes it when the window closes. main supplies gui.Run, so that this
// package does not import the GUI. The window reads which store was chosen
// from opts: a Dir, StoreURL, Demo or KeyFile set means the person named
// one (flags or environment); none set lets the window reopen the store it
// showed last. For the key file (KeyFile), Passphrase is set only when the
// passphrase comes without asking (KEYDESK_PASSPHRASE_FILE or
// --passphrase-stdin); nil lets the window ask for it.
type WindowOpener func(opts workspace.Options) error

// windowOptions returns the options the window opens its store with: those
// of a command, except that the key file's passphrase is never asked on the
// terminal (the window asks for it instead).
func (e *Env) windowOptions() workspace.Options {
	o := e.Options()
	if e.KeyFile && e.Getenv(PassphraseFileEnv) == "" && e.keyFilePass == nil {
		o.Passphrase = nil
	}
	return o
}

// Main runs the command line and returns the exit status.
func Main(args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if args == nil {
		args = []string{}
	}
	root := NewCommand(env)
	root.SetArgs(args)
	err := root.Execute()
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrDenied):
		return ExitFailed
	}
	text := workspace.Advice(err)
	if text == "" {
		text = sentence(err.Error())
	}
	fmt.Fprintln(env.Stderr, "keydesk: "+text)
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailed
}

// sentence makes an error message read as one sentence.
func sentence(s string) string {
	if s = msg.Sentence(s); s == "" {
		return "Unknown error."
	}
	return s
}

// withWorkspace opens the workspace (data folder, demo or shared store),
// runs fn and closes it again (which flushes last-used times), reporting
// the first error.
func withWorkspace(env *Env, fn func(b *workspace.Workspace) error) (err error) {
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
