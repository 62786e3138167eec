package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const usageUsage = "keydesk keys usage ID [--days N] [--json]"

// DefaultUsageDays is how many days `keys usage` shows without --days.
const DefaultUsageDays = 30

// usageDayJSON is one element of `keys usage --json`.
type usageDayJSON struct {
	Day     string `json:"day"`
	Allowed uint64 `json:"allowed"`
	Denied  uint64 `json:"denied"`
	Expired uint64 `json:"expired"`
}

// newKeysUsageCommand is `keydesk keys usage`.
func newKeysUsageCommand(env *Env, c *completer) *cobra.Command {
	var asJSON bool
	var days int
	cmd := &cobra.Command{
		Use:   "usage ID [--days N] [--json]",
		Short: "Show how often a key was used, per UTC day",
		Long: "Show a key's uses per UTC day, newest first: allowed, denied (the key is valid but not for\n" +
			"the request) and refused because expired, as the verification servers counted them (serve,\n" +
			"replicas and the window's API; never keys verify or Try a key). Counts are kept 90 days.\n" +
			"With --json, an array of {day, allowed, denied, expired}.",
		Args:              exactArgs(1, "keys usage needs one key id (usage: %s)", usageUsage),
		ValidArgsFunction: c.keyIDFirst,
		RunE: func(_ *cobra.Command, args []string) error {
			return runKeysUsage(env, args[0], days, asJSON)
		},
	}
	cmd.Flags().IntVar(&days, "days", DefaultUsageDays, fmt.Sprintf("how many days to show, today included (1 to %d)", core.MaxUsageDays))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the days as a JSON array, newest first")
	return cmd
}

func runKeysUsage(env *Env, id string, days int, asJSON bool) error {
	if days < 1 || days > core.MaxUsageDays {
		return usagef("--days must be 1 to %d, got %d", core.MaxUsageDays, days)
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		svc := b.Service()
		if _, err := getKey(svc, id); err != nil {
			return err
		}
		u, err := core.ReadKeyUsage(b.UsageStore(), id, svc.Now(), days)
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]usageDayJSON, 0, len(u.Days))
			for _, d := range u.Days {
				out = append(out, usageDayJSON{Day: d.Day.Format(time.DateOnly), Allowed: d.Allowed, Denied: d.Denied, Expired: d.Expired})
			}
			return writeJSON(env.Stdout, out)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(w, "DAY (UTC)\tALLOWED\tDENIED\tEXPIRED\t")
		for _, d := range u.Days {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t\n", d.Day.Format(time.DateOnly), d.Allowed, d.Denied, d.Expired)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write usage: %w", err)
		}
		_, err = fmt.Fprintf(env.Stdout, "\n%d requests in %d days (%d allowed, %d denied, %d expired), %s.\n",
			u.Total.Requests(), days, u.Total.Allowed, u.Total.Denied, u.Total.Expired, reportedBy(u.Writers))
		return err
	})
}

// reportedBy says how many processes reported the counts: they are
// servers' reports, not signed records.
func reportedBy(n int) string {
	switch n {
	case 0:
		return "no server reported any use"
	case 1:
		return "reported by 1 server"
	}
	return fmt.Sprintf("reported by %d servers", n)
}
