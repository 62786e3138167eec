package cli

import (
	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

// newMailCommand is `keydesk mail`: the SMTP settings of the digest.
func newMailCommand(env *Env) *cobra.Command {
	return group("mail", "Set up, show and test the digest e-mail (SMTP)", "set, show or test",
		newMailSetCommand(env),
		newMailShowCommand(env),
		newMailTestCommand(env),
	)
}

// newDeliverer is the digest deliverer of an opened workspace.
func newDeliverer(b *workspace.Workspace) *mail.Deliverer {
	return mail.NewDeliverer(b.Store, b.Keyring, b.Service, b.Service.Actor)
}
