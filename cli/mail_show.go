package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

const mailShowUsage = "keydesk mail show [--json]   (never prints the password)"

// mailShowJSON is what `mail show --json` prints.
type mailShowJSON struct {
	Configured        bool          `json:"configured"`
	Host              string        `json:"host,omitempty"`
	Port              int           `json:"port,omitempty"`
	Security          mail.Security `json:"security,omitempty"`
	Username          string        `json:"username,omitempty"`
	From              string        `json:"from,omitempty"`
	To                []string      `json:"to,omitempty"`
	PasswordSet       bool          `json:"passwordSet"`
	NextSlot          time.Time     `json:"nextSlot"`
	LastDeliveredSlot *time.Time    `json:"lastDeliveredSlot"`
	// SetUpAt is when e-mail was first set up (the first digest reaches
	// back to it); null when not set up or saved by an older Keydesk.
	SetUpAt *time.Time `json:"setUpAt"`
}

// newMailShowCommand is `keydesk mail show`.
func newMailShowCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:               "show [--json]",
		Short:             "Show the SMTP settings (never the password)",
		Args:              noArgs(mailShowUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runMailShow(env, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runMailShow(env *Env, asJSON bool) error {
	return withWorkspace(env, func(b *workspace.Workspace) error {
		s, err := mail.LoadSettings(b.MailStore())
		configured := err == nil
		if err != nil && !errors.Is(err, mail.ErrNotConfigured) {
			return err
		}
		pw, err := b.MailPassword()
		if err != nil {
			return err
		}
		last, err := b.MailStore().LastDeliveredSlot()
		if err != nil {
			return err
		}
		out := mailShowJSON{Configured: configured, Host: s.Host, Port: s.Port, Security: s.Security, Username: s.Username,
			From: s.From, To: s.To, PasswordSet: pw != "", NextSlot: core.NextSlot(b.Clock().Now())}
		if !last.IsZero() {
			out.LastDeliveredSlot = &last
		}
		setup, err := mail.SetupTime(b.MailStore())
		if err != nil {
			return err
		}
		if !setup.IsZero() {
			out.SetUpAt = &setup
		}
		if asJSON {
			return writeJSON(env.Stdout, out)
		}
		if !configured {
			fmt.Fprintln(env.Stdout, "E-mail is not set up. Set it with:")
			fmt.Fprintln(env.Stdout, "  "+mailSetUsage)
			return nil
		}
		login := "none"
		if s.Username != "" {
			login = s.Username + " (no password stored: set one with --password-stdin)"
			if out.PasswordSet {
				login = s.Username + " (password stored in the OS keyring)"
			}
		}
		lastText := "never"
		if !last.IsZero() {
			lastText = last.UTC().Format(mail.SlotLayout)
		}
		fmt.Fprintf(env.Stdout, "Server:       %s (%s)\n", s.Addr(), s.Security)
		fmt.Fprintf(env.Stdout, "Login:        %s\n", login)
		fmt.Fprintf(env.Stdout, "From:         %s\n", s.From)
		fmt.Fprintf(env.Stdout, "To:           %s\n", strings.Join(s.To, ", "))
		fmt.Fprintf(env.Stdout, "Next digest:  %s\n", out.NextSlot.Format(mail.SlotLayout))
		fmt.Fprintf(env.Stdout, "Last slot delivered: %s\n", lastText)
		if !setup.IsZero() {
			fmt.Fprintf(env.Stdout, "Set up:       %s (the first digest reports everything since)\n", setup.Format(mail.SlotLayout))
		}
		return nil
	})
}
