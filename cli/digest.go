package cli

import "github.com/spf13/cobra"

// newDigestCommand is `keydesk digest`: preview and send the daily
// expiration digest.
func newDigestCommand(env *Env) *cobra.Command {
	return group("digest", "Preview and send the daily expiration digest", "preview or send",
		newDigestPreviewCommand(env),
		newDigestSendCommand(env),
	)
}
