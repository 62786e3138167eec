package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

const digestSendUsage = "keydesk digest send   (delivers every due, undelivered slot up to now; idempotent: for cron, systemd timers, Task Scheduler)"

// newDigestSendCommand is `keydesk digest send`.
func newDigestSendCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "send",
		Short: "Deliver every due, undelivered digest slot up to now",
		Long: "Deliver every due, undelivered 11:00 UTC slot up to now, at most one message per slot.\n" +
			"It is idempotent: run it from cron, a systemd timer or Task Scheduler.",
		Args:              noArgs(digestSendUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runDigestSend(env)
		},
	}
}

func runDigestSend(env *Env) error {
	return withWorkspace(env, func(b *workspace.Workspace) error {
		out, err := b.Deliverer().DeliverDue(env.context(), b.Clock().Now())
		if err != nil {
			return fmt.Errorf("the digest for %s was not sent: %w", out.Slot.Format(mail.SlotLayout), err)
		}
		fmt.Fprintln(env.Stdout, out.String())
		return nil
	})
}
