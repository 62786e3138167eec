package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

const verifyUsage = "keydesk keys verify [--op OPERATION_ID | --scope SCOPE] [--json]   (the key is read from stdin)"

// readKey reads the key a command is given: on a terminal without echo
// (it stays off the screen and the scrollback), else the first line of
// standard input (readLine: at most 4,096 bytes; a key is 53 characters),
// trimmed. No key is bad input, with how to pipe one into command.
func (e *Env) readKey(command string) (string, error) {
	var key string
	var err error
	if e.isTerminal() {
		key, err = e.readSecret("Paste the key and press Enter: ")
	} else {
		key, err = readLine(e.Stdin)
	}
	if err != nil {
		return "", err
	}
	if key = strings.TrimSpace(key); key == "" {
		return "", usagef("no key on standard input: pipe the key in, e.g. %s < key.txt", command)
	}
	return key, nil
}

// newKeysVerifyCommand is `keydesk keys verify`.
func newKeysVerifyCommand(env *Env, c *completer) *cobra.Command {
	var opID, scope string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify [--op OPERATION_ID | --scope SCOPE] [--json]",
		Short: "Check a key read from stdin (exit 0 allowed, 1 denied)",
		Long: "Check a key, read from the first line of standard input (never from the arguments, so that\n" +
			"it stays out of shell history; on a terminal it is read without echo). Exit status 0 means\n" +
			"allowed, 1 denied. It is an admin's test: the key's Last used does not change (only\n" +
			"verifications through the API and the gateway endpoint count as use).",
		Example: `  keydesk keys verify --op messaging.channels.list < key.txt && echo allowed
  printf '%s\n' "$KEY" | keydesk keys verify --scope messaging:read --json`,
		Args:              exactArgs(0, "keys verify reads the key from standard input, not from its arguments, so that it stays out of shell history (usage: %s)", verifyUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runKeysVerify(env, opID, scope, asJSON)
		},
	}
	cmd.Flags().StringVar(&opID, "op", "", "check that the key allows this `OPERATION_ID`")
	cmd.Flags().StringVar(&scope, "scope", "", "check that the key holds the authority of this `SCOPE`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON (as the HTTP API does)")
	_ = cmd.RegisterFlagCompletionFunc("op", c.operations)
	_ = cmd.RegisterFlagCompletionFunc("scope", c.scopes)
	return cmd
}

func runKeysVerify(env *Env, opID, scope string, asJSON bool) error {
	if opID != "" && scope != "" {
		return usagef("use either --op or --scope, not both")
	}
	if s := scope; s != "" {
		if ns, rest, ok := strings.Cut(s, ":"); !ok || ns == "" || rest == "" || strings.ContainsAny(s, " \t") {
			return usagef("--scope %q is not a scope: it looks like section:Name, section:read or section:*", s)
		}
	}
	// Check the operation against this run's catalog before reading the
	// key or opening the store.
	if opID != "" {
		cat, err := storeCatalog(env)
		if err != nil {
			return err
		}
		if _, ok := cat.Operation(opID); !ok {
			return usagef("%s %q (see keydesk catalog)", core.ErrUnknownOperation, opID)
		}
	}
	secret, err := env.readKey("keydesk keys verify")
	if err != nil {
		return err
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		var target core.Target
		what := "this operation"
		if opID != "" {
			op, ok := b.Service().Catalog().Operation(opID)
			if !ok {
				return usagef("%s %q (see keydesk catalog)", core.ErrUnknownOperation, opID)
			}
			target.Operation = op
			what = fmt.Sprintf("operation %s (%s %s)", op.ID, op.Method, op.Path)
		} else if scope != "" {
			target.Scope = scope
			what = "scope " + scope
		}
		v := b.Service().Verify(secret, target)
		msg := verifyMessage(v, what, b.Service().Now())
		if asJSON {
			// The HTTP API's answer, with the command line's fuller message.
			j := server.NewVerifyResponse(v)
			j.Message = msg
			if err := writeJSON(env.Stdout, j); err != nil {
				return err
			}
		} else if v.Allowed {
			fmt.Fprintln(env.Stdout, msg)
			fmt.Fprintf(env.Stdout, "Key %q (%s), scopes %s, expires %s.\n", v.Key.Name, v.Key.ID,
				strings.Join(v.Key.Scopes, " "), localTime(v.Key.ExpiresAt))
		} else {
			fmt.Fprintln(env.Stderr, "keydesk: "+msg)
		}
		if !v.Allowed {
			return ErrDenied
		}
		return nil
	})
}
