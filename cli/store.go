package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/workspace"
)

const storeInitUsage = "keydesk --store URL store init [--from DIR]"

// newStoreCommand is `keydesk store`.
func newStoreCommand(env *Env) *cobra.Command {
	var from string
	initCmd := &cobra.Command{
		Use:   "init [--from DIR]",
		Short: "Create the shared store in PostgreSQL (--store), or move a data folder there",
		Long: "Create the shared store's schema in the database named by --store (or $KEYDESK_STORE) and\n" +
			"its signing material, kept in this computer's OS keyring. With --from DIR, move the local\n" +
			"store in that data folder there instead (keys, audit log, mail settings, digest state),\n" +
			"keeping its signing material, so every key it issued keeps verifying. A database that\n" +
			"already holds a store is refused, and nothing is changed.",
		Args:              noArgs(storeInitUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			if env.StoreURL == "" {
				return usagef("store init needs the shared store's URL: %s (or set KEYDESK_STORE)", storeInitUsage)
			}
			if from != "" {
				if ok, err := workspace.FolderExists(from); err != nil || !ok {
					return usagef("--from %s is not a Keydesk data folder", from)
				}
			}
			res, err := workspace.InitShared(env.Options(), from)
			if err != nil {
				return err
			}
			where := workspace.RedactURL(env.StoreURL)
			if from != "" {
				fmt.Fprintf(env.Stdout, "Moved %d keys from %s to the shared store %s (store %s); they verify there with the same signing material.\n", res.Moved, from, where, res.StoreID)
				return nil
			}
			fmt.Fprintf(env.Stdout, "Created the shared store %s (store %s); its signing material is in this computer's keyring.\n", where, res.StoreID)
			return nil
		},
	}
	initCmd.Flags().StringVar(&from, "from", "", "move the local store in this data folder `DIR` to the shared store")
	_ = initCmd.MarkFlagDirname("from")
	return group("store", "Create the shared store in PostgreSQL", "init", initCmd)
}
