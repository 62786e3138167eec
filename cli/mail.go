package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

func init() {
	register("mail", "set up, show and test the digest e-mail (SMTP)", runMail)
}

const (
	mailSetUsage  = "keydesk mail set --host H --port P --security starttls|tls|none --from ADDR --to ADDR[,ADDR...] [--username U --password-stdin]"
	mailShowUsage = "keydesk mail show [--json]   (never prints the password)"
	mailTestUsage = "keydesk mail test   (sends a test message now)"
)

func runMail(env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("mail needs a subcommand: set, show or test (see keydesk mail --help)")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(env.Stdout, "Usage:\n  %s\n  %s\n  %s\n", mailSetUsage, mailShowUsage, mailTestUsage)
		return nil
	case "set":
		return runMailSet(env, args[1:])
	case "show":
		return runMailShow(env, args[1:])
	case "test":
		return runMailTest(env, args[1:])
	}
	return usagef("unknown mail subcommand %q: use set, show or test", args[0])
}

// noArgs parses args with fs and refuses positional arguments.
func noArgs(env *Env, fs *flag.FlagSet, usage string, args []string) error {
	pos, err := parseFlags(env, fs, usage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], usage)
	}
	return nil
}

// mailFlagOf names the command-line flag of a settings field.
var mailFlagOf = map[string]string{
	"host": "--host", "port": "--port", "security": "--security", "from": "--from",
	"to": "--to", "username": "--username", "password": "--password-stdin",
}

func runMailSet(env *Env, args []string) error {
	fs := newFlagSet("mail set")
	host := fs.String("host", "", "SMTP server host name or IP address")
	port := fs.Int("port", 0, "SMTP port (default: 587 for starttls, 465 for tls, 25 for none)")
	security := fs.String("security", "", "starttls (default), tls, or none (only to this computer)")
	from := fs.String("from", "", "sender address, e.g. \"Keydesk <keydesk@example.com>\"")
	to := fs.String("to", "", "recipient addresses, comma-separated")
	username := fs.String("username", "", "log in with AUTH PLAIN as this user (empty: no login)")
	passwordStdin := fs.Bool("password-stdin", false, "read the SMTP password from the first line of stdin")
	if err := noArgs(env, fs, mailSetUsage, args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if len(given) == 0 {
		return usagef("nothing to set (usage: %s)", mailSetUsage)
	}

	var password *string
	if *passwordStdin {
		p, err := readPassword(env)
		if err != nil {
			return err
		}
		password = &p
	}

	return withBackend(env, func(b *workspace.Workspace) error {

		s, err := mail.LoadSettings(b.Store)
		if err != nil && !errors.Is(err, mail.ErrNotConfigured) {
			return err
		}
		oldSecurity := s.Security
		if given["host"] {
			s.Host = *host
		}
		if given["security"] {
			s.Security = mail.Security(strings.ToLower(strings.TrimSpace(*security)))
		}
		if s.Security == "" {
			s.Security = mail.SecurityStartTLS
		}
		switch {
		case given["port"]:
			s.Port = *port
		case s.Port == 0 || s.Security != oldSecurity && s.Port == mail.DefaultPort(oldSecurity):
			// Follow the security mode unless a port was chosen explicitly.
			s.Port = mail.DefaultPort(s.Security)
		}
		if given["from"] {
			s.From = strings.TrimSpace(*from)
		}
		if given["to"] {
			s.To = mail.SplitAddresses(*to)
		}
		if given["username"] {
			s.Username = strings.TrimSpace(*username)
		}
		if password != nil && s.Username == "" {
			return usagef("--password-stdin needs --username (the password is only used to log in)")
		}
		err = mail.SaveSettings(b.Store, b.Keyring, mail.Change{Settings: s, Password: password, Actor: b.Service.Actor, Time: b.Clock.Now()})
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
		line, err = bufio.NewReader(env.Stdin).ReadString('\n')
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("--password-stdin read an empty password; pipe the password in, e.g. printf '%%s' \"$PW\" | keydesk mail set ... --password-stdin")
	}
	return line, nil
}

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
}

func runMailShow(env *Env, args []string) error {
	fs := newFlagSet("mail show")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(env, fs, mailShowUsage, args); err != nil {
		return err
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		s, err := mail.LoadSettings(b.Store)
		configured := err == nil
		if err != nil && !errors.Is(err, mail.ErrNotConfigured) {
			return err
		}
		pw, err := b.Keyring.MailPassword()
		if err != nil {
			return err
		}
		last, err := b.Store.LastDeliveredSlot()
		if err != nil {
			return err
		}
		out := mailShowJSON{Configured: configured, Host: s.Host, Port: s.Port, Security: s.Security, Username: s.Username,
			From: s.From, To: s.To, PasswordSet: pw != "", NextSlot: core.NextSlot(b.Clock.Now())}
		if !last.IsZero() {
			out.LastDeliveredSlot = &last
		}
		if *asJSON {
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
		return nil
	})
}

func runMailTest(env *Env, args []string) error {
	fs := newFlagSet("mail test")
	if err := noArgs(env, fs, mailTestUsage, args); err != nil {
		return err
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		d := newDeliverer(b)
		msg, err := d.SendTest(context.Background(), b.Clock.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Sent a test message to %s (Message-ID <%s>).\n", strings.Join(msg.To, ", "), msg.ID)
		return nil
	})
}

// newDeliverer is the digest deliverer of an opened workspace.
func newDeliverer(b *workspace.Workspace) *mail.Deliverer {
	return mail.NewDeliverer(b.Store, b.Keyring, b.Service, b.Service.Actor)
}
