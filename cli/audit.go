package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const auditUsage = "keydesk audit [--json]"

// auditJSON is one element of `audit --json`.
type auditJSON struct {
	Time    string           `json:"time"`
	Actor   string           `json:"actor"`
	Action  core.AuditAction `json:"action"`
	KeyID   string           `json:"keyId,omitempty"`
	KeyName string           `json:"keyName,omitempty"`
	Detail  string           `json:"detail,omitempty"`
	// Unverified: the entry carries no admin signature (shared store).
	Unverified bool `json:"unverified,omitempty"`
}

// newAuditCommand is `keydesk audit`.
func newAuditCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:               "audit [--json]",
		Short:             "Show the audit log, newest first",
		Long:              "Show who created, renamed and deleted which key, and the e-mail events, newest first.",
		Args:              argsNone("audit takes no arguments, got %q (usage: " + auditUsage + ")"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runAudit(env, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the events as a JSON array")
	return cmd
}

func runAudit(env *Env, asJSON bool) error {
	return withWorkspace(env, func(b *workspace.Workspace) error {
		events, err := b.Audit()
		if err != nil {
			return fmt.Errorf("read the audit log: %w", err)
		}
		if asJSON {
			out := make([]auditJSON, 0, len(events))
			for _, e := range events {
				out = append(out, auditJSON{Time: utcTime(e.Time), Actor: e.Actor, Action: e.Action, KeyID: e.KeyID, KeyName: e.KeyName, Detail: e.Detail, Unverified: e.Unverified})
			}
			return writeJSON(env.Stdout, out)
		}
		if len(events) == 0 {
			fmt.Fprintln(env.Stdout, "The audit log is empty.")
			return nil
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "TIME\tUSER\tACTION\tKEY\tDETAIL")
		unsigned := false
		for _, e := range events {
			unsigned = unsigned || (e.Unverified && !e.Action.ServerAction())
			key := ""
			if e.KeyID != "" {
				key = fmt.Sprintf("%q (%s)", e.KeyName, e.KeyID)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", localTime(e.Time), e.Who(), e.Action, key, e.Detail)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write the audit log: %w", err)
		}
		if unsigned {
			fmt.Fprintln(env.Stdout, workspace.UnsignedAudit)
		}
		return nil
	})
}
