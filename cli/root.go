package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/workspace"
)

// globalFlags are the flags every command takes (before or after the
// command's name).
type globalFlags struct {
	data, now, catalog, store string
	demo                      bool
	keyfile, passStdin        bool
}

// NewCommand returns the keydesk command tree for env: the root command
// with its global flags and every subcommand. Main executes it; the man
// page generator (cmd/mangen) documents it.
func NewCommand(env *Env) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "keydesk [--data DIR] [--now RFC3339] [--catalog FILE] [--demo] [--keyfile] [--passphrase-stdin] [COMMAND]",
		Short: "Issue, list and verify Company API Keys",
		Long: "Keydesk issues and manages Company API Keys.\n\n" +
			"With no command, it opens the Company API Keys window; with a command, it runs it here.\n" +
			"Errors are one sentence on stderr. Exit status: 0 success, 1 a failed operation or a\n" +
			"denied verify, 2 bad usage or input.",
		Args:              argsNone("unknown command %q (see keydesk --help)"),
		ValidArgsFunction: cobra.NoFileCompletions,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Version:           env.Version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.apply(env, cmd.Name() == "serve"); err != nil {
				return err
			}
			// Once per run: every user of this computer can read a
			// process's arguments.
			if pw, _ := workspace.CheckStoreURL(g.store); pw {
				fmt.Fprintln(env.Stderr, "keydesk: warning: "+workspace.PasswordInArgs)
			}
			return env.readKeyFilePassphrase(cmd.Name())
		},
		RunE: func(*cobra.Command, []string) error {
			if env.OpenWindow == nil {
				return errors.New("this build has no window; use a subcommand (see keydesk --help)")
			}
			return env.OpenWindow(env.windowOptions())
		},
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(flagError)
	root.CompletionOptions.HiddenDefaultCmd = false

	pf := root.PersistentFlags()
	pf.StringVar(&g.data, "data", "", "data folder `DIR` (default: $KEYDESK_DATA, else the OS's per-user data folder)")
	pf.StringVar(&g.now, "now", "", "run with the clock set to this `RFC3339` time (only with --demo, or when KEYDESK_ALLOW_NOW=1)")
	pf.StringVar(&g.catalog, "catalog", "", "a JSON permission catalog `FILE` replacing the embedded one (same shape as keydesk catalog --json)")
	pf.BoolVar(&g.demo, "demo", false, "a throw-away store with sample keys and an in-memory keyring")
	pf.StringVar(&g.store, "store", "", "the shared store in PostgreSQL at this libpq `URL` instead of a data folder (default: $KEYDESK_STORE)")
	pf.BoolVar(&g.keyfile, "keyfile", false, "keep the store's signing key in the data folder's passphrase-protected keydesk.key instead of the OS keyring")
	pf.BoolVar(&g.passStdin, "passphrase-stdin", false, "read passphrases (backup, restore, credential, --keyfile) from standard input, one line each")
	_ = root.MarkPersistentFlagFilename("data")
	_ = root.MarkPersistentFlagFilename("catalog", "json")
	_ = root.RegisterFlagCompletionFunc("now", cobra.NoFileCompletions)

	c := &completer{env: env, g: g}
	root.AddCommand(
		newKeysCommand(env, c),
		newCatalogCommand(env),
		newRequestCommand(env),
		newAuditCommand(env),
		newDigestCommand(env),
		newMailCommand(env),
		newServeCommand(env),
		newStoreCommand(env),
		newCredentialCommand(env),
		newBackupCommand(env),
		newRestoreCommand(env),
	)
	// `keydesk completion SHELL` (cobra's), with bad usage as elsewhere.
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "completion" {
			sub.Long += "\nSee the README (Command line, Shell completion) for how to enable it in each shell.\n"
			groupOnly(sub, "completion", "bash, zsh, fish or powershell")
		}
	}

	// The Use lines spell out the flags.
	var noFlagsInUse func(*cobra.Command)
	noFlagsInUse = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, sub := range c.Commands() {
			noFlagsInUse(sub)
		}
	}
	noFlagsInUse(root)
	return root
}

// apply checks the global flags and sets env from them. serving is true
// for serve, where --data may come with --store: the folder where a replica
// keeps the highest generation of the store it has seen.
func (g *globalFlags) apply(env *Env, serving bool) error {
	env.DataDir = g.data
	if env.DataDir == "" {
		env.DataDir = env.Getenv("KEYDESK_DATA")
	}
	env.Now = nil
	if g.now != "" {
		t, err := time.Parse(time.RFC3339, g.now)
		if err != nil {
			return usagef("--now must be an RFC 3339 time such as 2026-11-27T11:00:00Z")
		}
		if !g.demo && env.Getenv(AllowNowEnv) != "1" {
			return usagef("--now works only with --demo (a throw-away store), so that it cannot backdate the audit log or stretch a key's lifetime")
		}
		env.Now = &t
	}
	env.Demo = g.demo
	env.StoreURL = g.store
	if env.StoreURL == "" && !g.demo && g.data == "" {
		env.StoreURL = env.Getenv("KEYDESK_STORE")
	}
	if env.StoreURL != "" && (g.demo || (g.data != "" && !(serving && g.store != ""))) {
		return usagef("--store names a shared store; it cannot be combined with --data or --demo")
	}
	if env.StoreURL != "" {
		if _, err := workspace.CheckStoreURL(env.StoreURL); err != nil {
			return &UsageError{Msg: workspace.Advice(err)}
		}
	}
	env.KeyFile, env.PassphraseStdin = g.keyfile, g.passStdin
	env.CatalogFile, env.catalog = g.catalog, nil
	if env.CatalogFile != "" {
		// Check the file before anything opens the store, so that a bad
		// catalog is one sentence and touches nothing.
		if _, err := loadCatalog(env); err != nil {
			return err
		}
	}
	return nil
}

// flagError reports a flag that cannot be parsed as bad usage, in the words
// of Go's flag package.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		msg = "flag provided but not defined: " + name
	} else if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		msg = "flag provided but not defined: " + rest
	}
	return usagef("%s (see %s --help)", msg, c.CommandPath())
}

// argsNone refuses positional arguments with the message format (which gets
// the first argument).
func argsNone(format string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef(format, args[0])
		}
		return nil
	}
}

// noArgs refuses positional arguments, naming the command's usage.
func noArgs(usage string) cobra.PositionalArgs {
	return argsNone("unexpected argument %q (usage: " + strings.ReplaceAll(usage, "%", "%%") + ")")
}

// exactArgs refuses, as bad usage with the sentence format (given a), any
// number of arguments other than n.
func exactArgs(n int, format string, a ...any) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef(format, a...)
		}
		return nil
	}
}

// group returns a command that only holds subcommands: without one it is
// bad usage (exit 2), "help" shows its help, and an unknown name is refused
// with the list of subcommands.
func group(use, short, names string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{
		Use:               use,
		Short:             short,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	g.AddCommand(subs...)
	groupOnly(g, use, names)
	return g
}

// groupOnly makes g, a command holding subcommands (names, in words),
// refuse to run without one.
func groupOnly(g *cobra.Command, use, names string) {
	g.Args = func(_ *cobra.Command, args []string) error {
		if len(args) > 0 && args[0] != "help" {
			return usagef("unknown %s subcommand %q: use %s", use, args[0], names)
		}
		return nil
	}
	g.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s needs a subcommand: %s (see keydesk %s --help)", use, names, use)
		}
		return c.Help()
	}
}
