package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const rollUsage = "keydesk keys roll ID [--grace 0|1h|24h|7d|DURATION] [--json]"

// rolledKeyJSON is what `keys roll --json` prints: the create shape, the
// id of the key it replaces and that key's new expiry.
type rolledKeyJSON struct {
	createdKeyJSON
	RolledFrom   string `json:"rolledFrom"`
	OldExpiresAt string `json:"oldExpiresAt"`
}

// newKeysRollCommand is `keydesk keys roll`.
func newKeysRollCommand(env *Env, c *completer) *cobra.Command {
	var grace string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "roll ID [--grace 0|1h|24h|7d|DURATION] [--json]",
		Short: "Replace a key by a new one; the old one keeps working for a grace period",
		Long: "Roll a key: create a new key with the same name and permissions and the same lifetime\n" +
			"length from now, print its secret once (as create does), and shorten the old key's expiry to\n" +
			"the end of the grace period (default 24h; 0 stops it at once; never later than its own expiry).\n" +
			"Switch every service that uses the old key to the new one before the grace period ends.",
		Example: `  keydesk keys roll 3f2a9c0d1e4b5a69
  keydesk keys roll 3f2a9c0d1e4b5a69 --grace 7d --json
  keydesk keys roll 3f2a9c0d1e4b5a69 --grace 0`,
		Args:              exactArgs(1, "keys roll needs exactly one key id (usage: %s)", rollUsage),
		ValidArgsFunction: c.keyIDFirst,
		RunE: func(_ *cobra.Command, args []string) error {
			return runKeysRoll(env, args[0], grace, asJSON)
		},
	}
	cmd.Flags().StringVar(&grace, "grace", core.FormatGrace(core.DefaultGrace), "how long the old key keeps working: `0|1h|24h|7d|DURATION`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new key as JSON")
	_ = cmd.RegisterFlagCompletionFunc("grace", fixedCompletions("0", "1h", "24h", "7d"))
	return cmd
}

// rollError turns the errors of a roll into one sentence with exit status 2
// when the target cannot be rolled.
func rollError(id string, err error) error {
	switch {
	case errors.Is(err, core.ErrNotFound):
		return notFound(id)
	case errors.Is(err, core.ErrKeyExpired):
		return usagef("key %s has expired and cannot be rolled: create a new key instead (keydesk keys create)", id)
	case errors.Is(err, core.ErrAlreadyRolled):
		return usagef("key %s has already been rolled: roll its replacement instead (see keydesk keys list)", id)
	case errors.Is(err, core.ErrTampered):
		return usagef("the stored record of key %s was altered, so it cannot be rolled: delete it and create a new key", id)
	case errors.Is(err, core.ErrKeyChanged):
		return fmt.Errorf("key %s was not rolled: another admin changed it meanwhile; run the command again", id)
	case errors.Is(err, core.ErrRollUnsupported):
		return fmt.Errorf("key %s was not rolled: %w", id, err)
	}
	return asInput(err)
}

func runKeysRoll(env *Env, id, graceText string, asJSON bool) error {
	grace, err := core.ParseGrace(graceText)
	if err != nil {
		return usagef("--grace %q: %v", graceText, err)
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		svc := b.Service()
		r, err := svc.Roll(id, grace)
		if err != nil {
			return rollError(id, err)
		}
		k := r.New
		if asJSON {
			return writeJSON(env.Stdout, rolledKeyJSON{
				createdKeyJSON: newCreatedKeyJSON(k, r.Secret),
				RolledFrom:     r.Old.ID, OldExpiresAt: utcTime(r.Old.ExpiresAt),
			})
		}
		now := svc.Now()
		if err := printNewKey(env.Stdout, fmt.Sprintf("Rolled key %q: created its replacement.", k.Name), k, r.Secret, r.Old.ID, now); err != nil {
			return err
		}
		if r.Old.Expired(now) {
			fmt.Fprintf(env.Stdout, "The old key %s stopped working now (%s).\n", r.Old.ID, localTime(r.Old.ExpiresAt))
		} else {
			fmt.Fprintf(env.Stdout, "The old key %s keeps working until %s (%s): switch its services to the new key before then.\n",
				r.Old.ID, localTime(r.Old.ExpiresAt), core.FormatRelative(r.Old.ExpiresAt, now))
		}
		return nil
	})
}
