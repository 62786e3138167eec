package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const renameUsage = "keydesk keys rename ID NAME"

// newKeysRenameCommand is `keydesk keys rename`.
func newKeysRenameCommand(env *Env, c *completer) *cobra.Command {
	return &cobra.Command{
		Use:               "rename ID NAME",
		Short:             "Rename a key (its secret, scopes and expiry stay)",
		Args:              exactArgs(2, "keys rename needs an id and a new name, quoted if it has spaces (usage: %s)", renameUsage),
		ValidArgsFunction: c.keyIDFirst,
		RunE: func(_ *cobra.Command, args []string) error {
			return runKeysRename(env, args[0], args[1])
		},
	}
}

func runKeysRename(env *Env, id, name string) error {
	if _, err := core.CleanName(name); err != nil {
		return asInput(err)
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		old, err := getKey(b.Service(), id)
		if err != nil {
			return err
		}
		k, err := b.Service().Rename(id, name)
		if errors.Is(err, core.ErrNotFound) {
			return notFound(id)
		} else if err != nil {
			return asInput(err)
		}
		fmt.Fprintf(env.Stdout, "Renamed key %s from %q to %q.\n", k.ID, old.Name, k.Name)
		return nil
	})
}
