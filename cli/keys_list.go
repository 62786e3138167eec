package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const listUsage = "keydesk keys list [--json] [--expired | --active]"

// listedKeyJSON is one element of `keys list --json`.
type listedKeyJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Hint       string   `json:"hint"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"createdAt"`
	ExpiresAt  string   `json:"expiresAt"`
	Expired    bool     `json:"expired"`
	LastUsedAt *string  `json:"lastUsedAt"`
	// Tampered marks a record whose signature does not match (the data
	// file was edited); such a key never verifies.
	Tampered bool `json:"tampered,omitempty"`
}

// newKeysListCommand is `keydesk keys list`.
func newKeysListCommand(env *Env) *cobra.Command {
	var asJSON, expired, active bool
	cmd := &cobra.Command{
		Use:               "list [--json] [--expired | --active]",
		Short:             "List the keys (never their secrets)",
		Long:              "List the keys: name, id, hint, scope count, created, expires and last used, in local time;\nwith --json, an array of {id, name, hint, scopes, createdAt, expiresAt, expired, lastUsedAt} in UTC.",
		Args:              argsNone("keys list takes no arguments, got %q (usage: " + listUsage + ")"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runKeysList(env, asJSON, expired, active)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as a JSON array")
	cmd.Flags().BoolVar(&expired, "expired", false, "only expired keys")
	cmd.Flags().BoolVar(&active, "active", false, "only keys that have not expired")
	return cmd
}

func runKeysList(env *Env, asJSON, expired, active bool) error {
	if expired && active {
		return usagef("use either --expired or --active, not both")
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		now := b.Service.Now()
		all := b.Service.List()
		keys := make([]*core.Key, 0, len(all))
		for _, k := range all {
			if (expired && !k.Expired(now)) || (active && k.Expired(now)) {
				continue
			}
			keys = append(keys, k)
		}
		if asJSON {
			out := make([]listedKeyJSON, 0, len(keys))
			for _, k := range keys {
				j := listedKeyJSON{
					ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: nonNil(k.Scopes),
					CreatedAt: utcTime(k.CreatedAt), ExpiresAt: utcTime(k.ExpiresAt),
					Expired: k.Expired(now), Tampered: k.Tampered,
				}
				if !k.LastUsedAt.IsZero() {
					s := utcTime(k.LastUsedAt)
					j.LastUsedAt = &s
				}
				out = append(out, j)
			}
			return writeJSON(env.Stdout, out)
		}
		return printKeys(env.Stdout, keys, all, now, expired, active)
	})
}

func printKeys(out io.Writer, keys, all []*core.Key, now time.Time, expired, active bool) error {
	switch {
	case len(all) == 0:
		fmt.Fprintln(out, "No keys yet. Create one with: keydesk keys create --name NAME --section ID=read (see keydesk catalog for section ids)")
	case len(keys) == 0 && expired:
		fmt.Fprintln(out, "No expired keys.")
	case len(keys) == 0 && active:
		fmt.Fprintln(out, "No active keys.")
	default:
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tID\tKEY\tSCOPES\tCREATED\tEXPIRES\tLAST USED")
		for _, k := range keys {
			name := k.Name
			switch {
			case k.Tampered:
				name += "  [TAMPERED]"
			case k.Expired(now):
				name += "  [Expired]"
			}
			used := "never"
			if !k.LastUsedAt.IsZero() {
				used = localTime(k.LastUsedAt)
			}
			fmt.Fprintf(w, "%s\t%s\t%s…\t%d\t%s\t%s (%s)\t%s\n", name, k.ID, k.Hint, len(k.Scopes),
				localTime(k.CreatedAt), localTime(k.ExpiresAt), core.FormatRelative(k.ExpiresAt, now), used)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write keys: %w", err)
		}
		fmt.Fprintln(out)
	}
	_, err := fmt.Fprintln(out, core.CountStats(all, now).String())
	return err
}
