package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const deleteUsage = "keydesk keys delete ID [--yes]"

// errNeedYes is the refusal to delete without confirmation.
func errNeedYes(k *core.Key) error {
	return usagef("not deleting key %q (%s) without confirmation: pass --yes to delete it from a script", k.Name, k.ID)
}

// newKeysDeleteCommand is `keydesk keys delete`.
func newKeysDeleteCommand(env *Env, c *completer) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "delete ID [--yes]",
		Short:             "Delete a key: it no longer verifies",
		Long:              "Delete a key. On a terminal it asks first; from a script (stdin not a terminal) it needs --yes.",
		Args:              exactArgs(1, "keys delete needs exactly one key id (usage: %s)", deleteUsage),
		ValidArgsFunction: c.keyIDFirst,
		RunE: func(_ *cobra.Command, args []string) error {
			return runKeysDelete(env, args[0], yes)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "delete without asking")
	return cmd
}

func runKeysDelete(env *Env, id string, yes bool) error {
	return withWorkspace(env, func(b *workspace.Workspace) error {
		k, err := getKey(b.Service(), id)
		if err != nil {
			return err
		}
		if !yes {
			// End of input still counts as "no", so nothing is
			// deleted without an answer.
			if !env.isTerminal() {
				return errNeedYes(k)
			}
			fmt.Fprintf(env.Stderr, "Delete key %q (%s)? [y/N] ", k.Name, k.ID)
			line, err := bufio.NewReader(env.Stdin).ReadString('\n')
			if err != nil && line == "" {
				fmt.Fprintln(env.Stderr)
				return errNeedYes(k)
			}
			switch strings.ToLower(strings.TrimSpace(line)) {
			case "y", "yes":
			default:
				fmt.Fprintf(env.Stdout, "Kept key %q (%s); nothing was deleted.\n", k.Name, k.ID)
				return nil
			}
		}
		if _, err := b.Service().Delete(id); errors.Is(err, core.ErrNotFound) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Deleted key %q (%s). It no longer verifies.\n", k.Name, k.ID)
		return nil
	})
}
