package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

const mailSetUsage = "keydesk mail set --host H --port P --security starttls|tls|none --from ADDR --to ADDR[,ADDR...] [--username U --password-stdin]"

// mailFlagOf names the command-line flag of a settings field.
var mailFlagOf = map[string]string{
	"host": "--host", "port": "--port", "security": "--security", "from": "--from",
	"to": "--to", "username": "--username", "password": "--password-stdin",
}

// mailSetFlags are the flags of `mail set`.
type mailSetFlags struct {
	host, security, from, to, username string
	port                               int
	passwordStdin                      bool
}

// newMailSetCommand is `keydesk mail set`.
func newMailSetCommand(env *Env) *cobra.Command {
	f := &mailSetFlags{}
	cmd := &cobra.Command{
		Use:   "set [--host H] [--port P] [--security starttls|tls|none] [--from ADDR] [--to ADDR[,ADDR...]] [--username U --password-stdin]",
		Short: "Change the SMTP settings of the digest",
		Long: "Change the SMTP settings: only the flags given change. The password is read from the first\n" +
			"line of stdin (without echo on a terminal) and kept in the OS keyring, never in keydesk.db.\n" +
			"--security none (plain SMTP) is allowed only to this computer: localhost or a loopback IP.",
		Example: `  printf '%s' "$SMTP_PASSWORD" | keydesk mail set --host smtp.example.com --port 587 --security starttls \
      --from "Keydesk <keydesk@example.com>" --to ops@example.com,security@example.com \
      --username keydesk@example.com --password-stdin`,
		Args:              noArgs(mailSetUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return runMailSet(env, f, c.Flags())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.host, "host", "", "SMTP server host name or IP address")
	fl.IntVar(&f.port, "port", 0, "SMTP port (default: 587 for starttls, 465 for tls, 25 for none)")
	fl.StringVar(&f.security, "security", "", "starttls (default), tls, or none (only to this computer)")
	fl.StringVar(&f.from, "from", "", "sender address, e.g. \"Keydesk <keydesk@example.com>\"")
	fl.StringVar(&f.to, "to", "", "recipient addresses, comma-separated")
	fl.StringVar(&f.username, "username", "", "log in with AUTH PLAIN as this user (empty: no login)")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the SMTP password from the first line of stdin")
	_ = cmd.RegisterFlagCompletionFunc("security", fixedCompletions(string(mail.SecurityStartTLS), string(mail.SecurityTLS), string(mail.SecurityNone)))
	for _, name := range []string{"host", "port", "from", "to", "username"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}

func runMailSet(env *Env, f *mailSetFlags, fl *pflag.FlagSet) error {
	given := map[string]bool{}
	fl.Visit(func(p *pflag.Flag) { given[p.Name] = true })
	if len(given) == 0 {
		return usagef("nothing to set (usage: %s)", mailSetUsage)
	}

	var password *string
	if f.passwordStdin {
		p, err := readPassword(env)
		if err != nil {
			return err
		}
		password = &p
	}

	return withWorkspace(env, func(b *workspace.Workspace) error {

		s, err := mail.LoadSettings(b.MailStore())
		if err != nil && !errors.Is(err, mail.ErrNotConfigured) {
			return err
		}
		oldSecurity := s.Security
		if given["host"] {
			s.Host = f.host
		}
		if given["security"] {
			s.Security = mail.Security(strings.ToLower(strings.TrimSpace(f.security)))
		}
		if s.Security == "" {
			s.Security = mail.SecurityStartTLS
		}
		switch {
		case given["port"]:
			s.Port = f.port
		case s.Port == 0 || s.Security != oldSecurity && s.Port == mail.DefaultPort(oldSecurity):
			// Follow the security mode unless a port was chosen explicitly.
			s.Port = mail.DefaultPort(s.Security)
		}
		if given["from"] {
			s.From = strings.TrimSpace(f.from)
		}
		if given["to"] {
			s.To = mail.SplitAddresses(f.to)
		}
		if given["username"] {
			s.Username = strings.TrimSpace(f.username)
		}
		if password != nil && s.Username == "" {
			return usagef("--password-stdin needs --username (the password is only used to log in)")
		}
		err = b.SaveMail(mail.Change{Settings: s, Password: password, Actor: b.Service().Actor, Time: b.Clock().Now()})
		var fe *mail.FieldError
		if errors.As(err, &fe) {
			return usagef("%s (%s)", fe.Msg, mailFlagOf[fe.Field])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "E-mail settings saved: %s (%s), from %s to %s.\n", s.Addr(), s.Security, s.From, strings.Join(s.To, ", "))
		switch {
		case password != nil:
			fmt.Fprintf(env.Stdout, "The password for %s is stored in the OS keyring.\n", s.Username)
		case s.Username != "":
			fmt.Fprintf(env.Stdout, "Logging in as %s with the password already in the OS keyring (set it with --password-stdin).\n", s.Username)
		}
		return nil
	})
}

// readPassword reads the first line of stdin, without its line end; from a
// terminal, without echo.
func readPassword(env *Env) (string, error) {
	var line string
	var err error
	switch {
	case env.isTerminal():
		line, err = env.readSecret("SMTP password: ")
	case env.Stdin == nil:
		return "", usagef("--password-stdin needs the password on stdin")
	default:
		line, err = readLine(env.Stdin)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("--password-stdin read an empty password; pipe the password in, e.g. printf '%%s' \"$PW\" | keydesk mail set ... --password-stdin")
	}
	return line, nil
}
