package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const listUsage = "keydesk keys list [--json] [--expired | --active] [--idle] [--denied]"

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
	// Idle marks an active key unused for 90 days (or never used and
	// created 90 or more days ago).
	Idle bool `json:"idle"`
	// RolledTo is the id of the key that replaced this one by a roll;
	// RolledFrom the id of the key this one replaced.
	RolledTo   string `json:"rolledTo,omitempty"`
	RolledFrom string `json:"rolledFrom,omitempty"`
	// Tampered marks a record whose signature does not match (the data
	// file was edited); such a key never verifies.
	Tampered bool `json:"tampered,omitempty"`
	// Unknown lists the key's scopes (and operation ids) that name
	// nothing in the catalog any more: it was issued under an earlier
	// catalog; it stays as issued and those scopes allow nothing.
	Unknown []string `json:"unknownScopes,omitempty"`
	// Requests30d and Denied30d are the key's counted uses in the last 30
	// UTC days (today included), and the denied ones among them.
	Requests30d uint64 `json:"requests30d"`
	Denied30d   uint64 `json:"denied30d"`
}

// newKeysListCommand is `keydesk keys list`.
func newKeysListCommand(env *Env) *cobra.Command {
	var asJSON, expired, active, idle, denied bool
	cmd := &cobra.Command{
		Use:   "list [--json] [--expired | --active] [--idle] [--denied]",
		Short: "List the keys (never their secrets)",
		Long: "List the keys: name, id, hint, scope count, created, expires and last used, in local time,\n" +
			"marking expired, idle (unused for 90 days) and rolled keys; with --json, an array of {id, name,\n" +
			"hint, scopes, createdAt, expiresAt, expired, lastUsedAt, idle, rolledTo, rolledFrom, requests30d,\n" +
			"denied30d} in UTC. --denied lists the keys with denied attempts today or yesterday (UTC).",
		Args:              argsNone("keys list takes no arguments, got %q (usage: " + listUsage + ")"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runKeysList(env, listFilter{json: asJSON, expired: expired, active: active, idle: idle, denied: denied})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as a JSON array")
	cmd.Flags().BoolVar(&expired, "expired", false, "only expired keys")
	cmd.Flags().BoolVar(&active, "active", false, "only keys that have not expired")
	cmd.Flags().BoolVar(&idle, "idle", false, "only idle keys: active, and unused for 90 days (or never used and created 90+ days ago)")
	cmd.Flags().BoolVar(&denied, "denied", false, "only keys with denied attempts in the last 24 hours (today or yesterday, UTC)")
	return cmd
}

// listFilter is the flags of `keys list`.
type listFilter struct {
	json, expired, active, idle, denied bool
}

func runKeysList(env *Env, f listFilter) error {
	if f.expired && f.active {
		return usagef("use either --expired or --active, not both")
	}
	if f.expired && f.idle {
		return usagef("use either --expired or --idle, not both: an expired key is never idle")
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		now := b.Service().Now()
		all := b.Service().List()
		var recent, month core.UsageTotals
		if f.denied || f.json {
			ids := make([]string, len(all))
			for i, k := range all {
				ids[i] = k.ID
			}
			var err error
			if recent, err = core.ReadUsageTotals(b.UsageStore(), ids, now, core.DeniedRecentDays); err != nil {
				return err
			}
			if f.json {
				if month, err = core.ReadUsageTotals(b.UsageStore(), ids, now, 30); err != nil {
					return err
				}
			}
		}
		keys := make([]*core.Key, 0, len(all))
		for _, k := range all {
			if (f.expired && !k.Expired(now)) || (f.active && k.Expired(now)) || (f.idle && !k.IsIdle(now)) ||
				(f.denied && recent.Keys[k.ID].Denied == 0) {
				continue
			}
			keys = append(keys, k)
		}
		if f.json {
			out := make([]listedKeyJSON, 0, len(keys))
			for _, k := range keys {
				j := listedKeyJSON{
					ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: nonNil(k.Scopes),
					CreatedAt: utcTime(k.CreatedAt), ExpiresAt: utcTime(k.ExpiresAt),
					Expired: k.Expired(now), Idle: k.IsIdle(now), Tampered: k.Tampered,
					RolledTo: k.RolledTo, RolledFrom: k.RolledFrom,
					Unknown:     b.Service().Catalog().UnknownScopes(k),
					Requests30d: month.Keys[k.ID].Requests(), Denied30d: month.Keys[k.ID].Denied,
				}
				if !k.LastUsedAt.IsZero() {
					s := utcTime(k.LastUsedAt)
					j.LastUsedAt = &s
				}
				out = append(out, j)
			}
			return writeJSON(env.Stdout, out)
		}
		return printKeys(env.Stdout, b.Service().Catalog(), keys, all, now, f, recent)
	})
}

func printKeys(out io.Writer, cat *core.Catalog, keys, all []*core.Key, now time.Time, f listFilter, recent core.UsageTotals) error {
	switch {
	case len(all) == 0:
		fmt.Fprintln(out, "No keys yet. Create one with: keydesk keys create --name NAME --section ID=read (see keydesk catalog for section ids)")
	case len(keys) == 0 && f.expired:
		fmt.Fprintln(out, "No expired keys.")
	case len(keys) == 0 && f.idle:
		fmt.Fprintln(out, "No idle keys: every active key was used in the last 90 days.")
	case len(keys) == 0 && f.denied:
		fmt.Fprintln(out, "No key had a denied attempt in the last 24 hours.")
	case len(keys) == 0 && f.active:
		fmt.Fprintln(out, "No active keys.")
	default:
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tID\tKEY\tSCOPES\tCREATED\tEXPIRES\tLAST USED\tROLLED")
		for _, k := range keys {
			name := k.Name
			switch {
			case k.Tampered:
				name += "  [TAMPERED]"
			case k.Expired(now):
				name += "  [Expired]"
			case k.IsIdle(now):
				name += "  [Idle]"
			}
			if len(cat.UnknownScopes(k)) > 0 {
				name += "  [Not in catalog]"
			}
			if n := recent.Keys[k.ID].Denied; f.denied && n > 0 {
				name += fmt.Sprintf("  [%d denied]", n)
			}
			used := "never"
			if !k.LastUsedAt.IsZero() {
				used = localTime(k.LastUsedAt)
			}
			fmt.Fprintf(w, "%s\t%s\t%s…\t%d\t%s\t%s (%s)\t%s\t%s\n", name, k.ID, k.Hint, len(k.Scopes),
				localTime(k.CreatedAt), localTime(k.ExpiresAt), core.FormatRelative(k.ExpiresAt, now), used, rollNote(k, now))
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write keys: %w", err)
		}
		fmt.Fprintln(out)
	}
	_, err := fmt.Fprintln(out, core.CountStats(all, now).String())
	return err
}

// rollNote is the ROLLED column: "rolled → ID · stops in 23 hours" on a
// rolled key (while it still works), "rolled from ID" on its replacement.
func rollNote(k *core.Key, now time.Time) string {
	var parts []string
	if k.RolledTo != "" {
		note := "rolled → " + k.RolledTo
		if !k.Expired(now) {
			note += " · stops " + core.FormatRelative(k.ExpiresAt, now)
		}
		parts = append(parts, note)
	}
	if k.RolledFrom != "" {
		parts = append(parts, "rolled from "+k.RolledFrom)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}
