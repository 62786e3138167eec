package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/workspace"
)

const restoreUsage = "keydesk restore FILE [--passphrase-stdin] [--force]"

// newRestoreCommand is `keydesk restore`.
func newRestoreCommand(env *Env) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE [--passphrase-stdin] [--force]",
		Short: "Restore an encrypted backup into the data folder and its signing key into the keyring",
		Long: "Restore a backup written by keydesk backup into the data folder (--data, KEYDESK_DATA or the\n" +
			"default), after checking every record, and put its signing key into this computer's OS\n" +
			"keyring (with --keyfile: into the data folder's keydesk.key, protected by the backup's\n" +
			"passphrase or the one in KEYDESK_PASSPHRASE_FILE). A folder that holds a store is refused\n" +
			"unless --force, which keeps the old file as keydesk.db.replaced-<UTC time>.\n\n" +
			"Keys deleted after the backup was taken come back: on a terminal you are asked first.",
		Example: `  keydesk restore ~/keydesk-2026-11-30.kdbackup
  keydesk --data /srv/keydesk restore backup.kdbackup --force --passphrase-stdin < passphrase.txt
  keydesk --keyfile restore backup.kdbackup    # no OS keyring: keep the signing key in keydesk.key`,
		Args: exactArgs(1, "restore needs exactly one backup file (usage: %s)", restoreUsage),
		RunE: func(_ *cobra.Command, args []string) error {
			return runRestore(env, args[0], force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace a store already in the data folder (its file is kept), without asking")
	return cmd
}

func runRestore(env *Env, file string, force bool) error {
	if env.Demo {
		return usagef("restore into a data folder, not the demo store")
	}
	if env.StoreURL != "" {
		return usagef("restore writes a data folder, not a shared store; to move a restored folder into PostgreSQL, use keydesk --store URL store init --from DIR")
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("the backup file %s does not exist", file)
	} else if err != nil {
		return usagef("cannot read the backup file %s: %v", file, errors.Unwrap(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return usagef("%s is a folder, not a backup file", file)
	}
	pass, err := env.existingPassphrase("the backup")
	if err != nil {
		return err
	}
	opts := workspace.RestoreOptions{Dir: env.DataDir, Passphrase: pass, Force: force, KeyFile: env.KeyFile, Actor: workspace.Actor()}
	if env.Now != nil {
		opts.Now = *env.Now
	}
	if env.KeyFile {
		p, ok, err := env.passphraseFromFile()
		if err != nil {
			return err
		}
		if ok {
			opts.KeyFilePassphrase = p
		}
	}
	pending, err := workspace.PrepareRestore(env.context(), f, opts)
	if err != nil {
		return asBadInput(err)
	}
	taken := pending.Manifest.TakenAt.UTC().Format("2006-01-02 15:04 UTC")
	fmt.Fprintf(env.Stderr, "keydesk: note: a restore brings back the keys deleted after the backup was taken (%s).\n", taken)
	for _, ev := range pending.DeletedSince {
		fmt.Fprintf(env.Stderr, "keydesk: note: key %q (%s) was deleted %s by %s and comes back.\n", ev.KeyName, ev.KeyID, ev.Time.UTC().Format("2006-01-02 15:04 UTC"), ev.Actor)
	}
	if !force && env.isTerminal() && !env.PassphraseStdin {
		what := "Restore into " + pending.Dir
		if pending.Replaces {
			what += ", replacing its store"
		}
		if !env.confirm(what + "?") {
			pending.Abort()
			fmt.Fprintln(env.Stdout, "Nothing was restored.")
			return nil
		}
	}
	res, err := pending.Commit()
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, res.String())
	if res.Replaced != "" {
		fmt.Fprintf(env.Stdout, "The replaced store was kept as %s.\n", res.Replaced)
	}
	if n := len(pending.DeletedSince); n > 0 {
		fmt.Fprintf(env.Stdout, "%d keys deleted after the backup are back:\n", n)
		for _, ev := range pending.DeletedSince {
			fmt.Fprintf(env.Stdout, "  %s  %s (deleted %s)\n", ev.KeyID, ev.KeyName, ev.Time.UTC().Format(time.RFC3339))
		}
	}
	if res.KeyFile {
		fmt.Fprintln(env.Stdout, "The signing key is in the data folder's keydesk.key; use --keyfile with this folder.")
	} else {
		fmt.Fprintln(env.Stdout, "The signing key is in this computer's OS keyring.")
	}
	return nil
}
