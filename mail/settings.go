// Package mail delivers Keydesk's daily expiration digest: the
// SMTP settings (stored in the store, the password in the OS keyring), the
// MIME message built with go-message, sending with go-smtp, and the
// scheduler that delivers exactly one digest per 11:00 UTC slot, retrying
// failures with backoff and catching up on slots missed while Keydesk was
// not running.
package mail

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/netaddr"
)

// SettingName is the name under which the settings are stored.
const SettingName = "mail"

// Security is how the connection to the SMTP server is protected.
type Security string

// Security modes.
const (
	// SecurityStartTLS connects in plain text and upgrades with STARTTLS
	// before anything else is sent; the default (port 587).
	SecurityStartTLS Security = "starttls"
	// SecurityTLS is implicit TLS from the first byte (port 465).
	SecurityTLS Security = "tls"
	// SecurityNone is plain SMTP, allowed only to a loopback host.
	SecurityNone Security = "none"
)

// DefaultPort returns the usual port for a security mode: 587, 465 or 25.
func DefaultPort(sec Security) int {
	switch sec {
	case SecurityTLS:
		return 465
	case SecurityNone:
		return 25
	}
	return 587
}

// Settings say where and to whom the digest is sent. The password is not
// part of them: it lives in the OS keyring (PasswordStore).
type Settings struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security Security `json:"security"`
	// Username, when set, makes Keydesk authenticate with AUTH PLAIN
	// using the password from the keyring.
	Username string   `json:"username,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
}

// Addr returns host:port.
func (s Settings) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// FieldError is a settings value that is not acceptable. Msg is one
// sentence for people; Field names the setting ("host", "port", ...), so
// that a form can point at it.
type FieldError struct {
	Field string
	Msg   string
}

// Error returns the sentence.
func (e *FieldError) Error() string { return e.Msg }

// ErrPlainNotLoopback is wrapped by the error for plain SMTP to a host that
// is not this computer.
var ErrPlainNotLoopback = errors.New("plain SMTP without TLS is allowed only to this computer (localhost, 127.0.0.1 or ::1); choose starttls or tls")

// Validate checks every field and returns the first problem as a
// *FieldError.
func (s Settings) Validate() error {
	host := strings.TrimSpace(s.Host)
	switch {
	case host == "":
		return &FieldError{"host", "enter the SMTP server's host name"}
	case host != s.Host || strings.ContainsAny(host, " \t\r\n/@:[]") && net.ParseIP(host) == nil:
		return &FieldError{"host", fmt.Sprintf("%q is not a host name; enter only the server's name or IP address, such as smtp.example.com", s.Host)}
	}
	if s.Port < 1 || s.Port > 65535 {
		return &FieldError{"port", "the port must be a number from 1 to 65535"}
	}
	switch s.Security {
	case SecurityStartTLS, SecurityTLS:
	case SecurityNone:
		if !IsLoopback(s.Host) {
			return &FieldError{"security", ErrPlainNotLoopback.Error()}
		}
	default:
		return &FieldError{"security", fmt.Sprintf("the security must be starttls, tls or none, not %q", s.Security)}
	}
	if strings.ContainsAny(s.Username, "\r\n\x00") {
		return &FieldError{"username", "the username must not contain line breaks"}
	}
	if _, err := ParseAddress(s.From); err != nil {
		return &FieldError{"from", fmt.Sprintf("the From address %q is not a valid e-mail address", s.From)}
	}
	if len(s.To) == 0 {
		return &FieldError{"to", "enter at least one recipient address"}
	}
	for _, to := range s.To {
		if _, err := ParseAddress(to); err != nil {
			return &FieldError{"to", fmt.Sprintf("the recipient address %q is not a valid e-mail address", to)}
		}
	}
	return nil
}

// ParseAddress parses one address such as "Ops <ops@example.com>" or
// "ops@example.com".
func ParseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	if !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, "\r\n") {
		return nil, errors.New("no domain")
	}
	return a, nil
}

// SplitAddresses splits a comma-separated list of recipients, as typed in a
// form or on the command line, dropping empty entries. Commas inside a
// quoted display name are kept.
func SplitAddresses(s string) []string {
	if list, err := mail.ParseAddressList(s); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.String())
		}
		return out
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// IsLoopback reports whether host names this computer without asking DNS:
// "localhost" or a loopback IP literal (127.0.0.0/8, ::1). Plain SMTP is
// allowed only to such a host, and Sender also checks the address it
// connected to.
func IsLoopback(host string) bool { return netaddr.IsLoopbackHost(host) }

// SettingsStore keeps named settings; storage.Store implements it.
type SettingsStore interface {
	// Setting returns a stored value, or nil, nil when unset.
	Setting(name string) ([]byte, error)
	// PutSetting stores a value together with its audit entry.
	PutSetting(name string, value []byte, ev core.AuditEvent) error
}

// PasswordStore keeps the SMTP password in the OS keyring;
// storage.Keyring implements it.
type PasswordStore interface {
	// MailPassword returns the password, or "", nil when unset.
	MailPassword() (string, error)
	// SetMailPassword stores the password; "" deletes it.
	SetMailPassword(p string) error
}

// ErrNotConfigured means no e-mail settings have been saved yet.
var ErrNotConfigured = errors.New("e-mail is not set up yet; set the SMTP server and recipients with keydesk mail set or in Settings")

// ErrNoPassword means a username is set but the keyring holds no password.
var ErrNoPassword = errors.New("a username is set but no SMTP password is stored in the keyring; set it again with keydesk mail set --username U --password-stdin or in Settings")

// LoadSettings reads the saved settings; ErrNotConfigured when there are
// none.
func LoadSettings(st SettingsStore) (Settings, error) {
	ss, ok, err := readStored(st)
	if err != nil {
		return Settings{}, err
	}
	if !ok {
		return Settings{}, ErrNotConfigured
	}
	return ss.Settings, nil
}

// readStored reads the stored settings; ok is false when none are saved.
func readStored(st SettingsStore) (ss storedSettings, ok bool, err error) {
	raw, err := st.Setting(SettingName)
	if err != nil {
		return ss, false, fmt.Errorf("read e-mail settings: %w", err)
	}
	if raw == nil {
		return ss, false, nil
	}
	if err := json.Unmarshal(raw, &ss); err != nil {
		return storedSettings{}, false, fmt.Errorf("read e-mail settings: %w", err)
	}
	return ss, true, nil
}

// storedSettings is the stored form of the settings: the settings and the
// time they were first saved (which Settings does not carry, so that forms
// and comparisons never see it).
type storedSettings struct {
	Settings
	// SetupAt is when e-mail was first set up; zero in stores whose
	// settings were saved before it was recorded.
	SetupAt time.Time `json:"setupAt,omitzero"`
}

// SetupTime returns when e-mail was set up: the time the settings were
// first saved. It is zero when e-mail is not set up, or when the settings
// were saved only by a version that did not record it (the next save
// records that save's time). Before the first digest is delivered, the
// digest reports every key that expired or became idle since this time.
func SetupTime(st SettingsStore) (time.Time, error) {
	ss, _, err := readStored(st)
	if err != nil {
		return time.Time{}, err
	}
	return ss.SetupAt.UTC(), nil
}

// Change is one save of the settings from a form or `keydesk mail set`.
type Change struct {
	Settings Settings
	// Password replaces the stored password when non-nil; a pointer to ""
	// deletes it. When nil, the stored password is kept, except that it is
	// deleted when the username is removed.
	Password *string
	// Actor and Time go into the audit entry.
	Actor string
	Time  time.Time
}

// SaveSettings validates and stores c: the settings in st (with a
// settings.changed audit entry naming what changed, never the password) and
// the password in the keyring. If the settings cannot be stored after the
// password was changed, the previous password is put back, so that nothing
// is left half-written.
func SaveSettings(st SettingsStore, pw PasswordStore, c Change) error {
	s := c.Settings
	if err := s.Validate(); err != nil {
		return err
	}
	if c.Password != nil && *c.Password != "" && s.Username == "" {
		return &FieldError{"username", "a password needs a username; enter the username too"}
	}
	if c.Password != nil && strings.ContainsAny(*c.Password, "\r\n\x00") {
		return &FieldError{"password", "the password must not contain line breaks"}
	}
	old, err := LoadSettings(st)
	if err != nil && !errors.Is(err, ErrNotConfigured) {
		return err
	}
	configured := err == nil
	newPw := c.Password
	if newPw == nil && s.Username == "" && old.Username != "" {
		empty := ""
		newPw = &empty
	}
	setup, err := SetupTime(st)
	if err != nil {
		return err
	}
	if setup.IsZero() {
		setup = c.Time.UTC()
	}
	value, err := json.Marshal(storedSettings{Settings: s, SetupAt: setup})
	if err != nil {
		return fmt.Errorf("save e-mail settings: %w", err)
	}
	var restore func()
	if newPw != nil {
		prev, err := pw.MailPassword()
		if err != nil {
			return fmt.Errorf("save e-mail password: %w", err)
		}
		if err := pw.SetMailPassword(*newPw); err != nil {
			return fmt.Errorf("save e-mail password: %w", err)
		}
		restore = func() { _ = pw.SetMailPassword(prev) }
	}
	ev := core.AuditEvent{Time: c.Time.UTC(), Actor: c.Actor, Action: core.ActionSettingsChanged,
		Detail: describeChange(old, s, configured, newPw != nil)}
	if err := st.PutSetting(SettingName, value, ev); err != nil {
		if restore != nil {
			restore()
		}
		return fmt.Errorf("save e-mail settings: %w", err)
	}
	return nil
}

// describeChange names the changed fields for the audit log: values of
// non-secret fields, only "password changed" for the password.
func describeChange(old, s Settings, configured, password bool) string {
	var parts []string
	if !configured {
		parts = append(parts, fmt.Sprintf("e-mail set up: %s (%s), from %s to %s", s.Addr(), s.Security, s.From, strings.Join(s.To, ", ")))
	} else {
		if old.Addr() != s.Addr() || old.Security != s.Security {
			parts = append(parts, fmt.Sprintf("server %s (%s)", s.Addr(), s.Security))
		}
		if old.From != s.From {
			parts = append(parts, "from "+s.From)
		}
		if strings.Join(old.To, ",") != strings.Join(s.To, ",") {
			parts = append(parts, "to "+strings.Join(s.To, ", "))
		}
		if old.Username != s.Username {
			if s.Username == "" {
				parts = append(parts, "username removed")
			} else {
				parts = append(parts, "username "+s.Username)
			}
		}
	}
	if password {
		parts = append(parts, "password changed")
	}
	if len(parts) == 0 {
		return "e-mail settings saved unchanged"
	}
	return "e-mail: " + strings.Join(parts, "; ")
}
