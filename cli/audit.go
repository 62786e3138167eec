package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

func init() {
	register("audit", "show the audit log, newest first", runAudit)
}

const auditUsage = "keydesk audit [--json]"

// auditJSON is one element of `audit --json`.
type auditJSON struct {
	Time    string           `json:"time"`
	Actor   string           `json:"actor"`
	Action  core.AuditAction `json:"action"`
	KeyID   string           `json:"keyId,omitempty"`
	KeyName string           `json:"keyName,omitempty"`
	Detail  string           `json:"detail,omitempty"`
}

func runAudit(env *Env, args []string) error {
	fs := newFlagSet("audit")
	asJSON := fs.Bool("json", false, "print the events as a JSON array")
	pos, err := parseFlags(env, fs, auditUsage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("audit takes no arguments, got %q (usage: %s)", pos[0], auditUsage)
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		events, err := b.Store.Audit()
		if err != nil {
			return fmt.Errorf("read the audit log: %w", err)
		}
		if *asJSON {
			out := make([]auditJSON, 0, len(events))
			for _, e := range events {
				out = append(out, auditJSON{Time: utcTime(e.Time), Actor: e.Actor, Action: e.Action, KeyID: e.KeyID, KeyName: e.KeyName, Detail: e.Detail})
			}
			return writeJSON(env.Stdout, out)
		}
		if len(events) == 0 {
			fmt.Fprintln(env.Stdout, "The audit log is empty.")
			return nil
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "TIME\tUSER\tACTION\tKEY\tDETAIL")
		for _, e := range events {
			key := ""
			if e.KeyID != "" {
				key = fmt.Sprintf("%q (%s)", e.KeyName, e.KeyID)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", localTime(e.Time), e.Actor, e.Action, key, e.Detail)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write the audit log: %w", err)
		}
		return nil
	})
}
