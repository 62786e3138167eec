package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/keydesk/keydesk/internal/netaddr"
)

// Default timeouts of a Sender.
const (
	DefaultDialTimeout       = 15 * time.Second
	DefaultCommandTimeout    = 30 * time.Second
	DefaultSubmissionTimeout = 2 * time.Minute
)

// ErrNoAuth means a username is set but the server offers no AUTH PLAIN.
var ErrNoAuth = errors.New("the SMTP server does not offer AUTH PLAIN; remove the username or use another server")

// Sender sends messages through one SMTP server with go-smtp's client.
type Sender struct {
	Settings Settings
	// Password is used with AUTH PLAIN when Settings.Username is set.
	Password string
	// TLSConfig is the base TLS configuration (tests set RootCAs); nil
	// means the system roots. ServerName defaults to Settings.Host.
	TLSConfig *tls.Config
	// Timeouts; zero means the defaults above. CommandTimeout bounds
	// the wait for each reply, SubmissionTimeout the reply to the final
	// dot of the message.
	DialTimeout       time.Duration
	CommandTimeout    time.Duration
	SubmissionTimeout time.Duration
	// DialContext, when set, opens the TCP connection instead of a
	// net.Dialer (tests use it to play a resolver that answers a name
	// with another computer's address).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Send delivers m: connects (STARTTLS, implicit TLS, or plain to a loopback
// host only), authenticates when a username is set, and sends the message to
// every recipient. Errors never contain the password.
func (s *Sender) Send(ctx context.Context, m *Message) error {
	if err := s.send(ctx, m); err != nil {
		return s.redact(fmt.Errorf("send e-mail through %s: %w", s.Settings.Addr(), err))
	}
	return nil
}

func (s *Sender) send(ctx context.Context, m *Message) error {
	set := s.Settings
	if err := set.Validate(); err != nil {
		return err
	}
	if set.Username != "" && s.Password == "" {
		return ErrNoPassword
	}
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// go-smtp takes no context: closing the connection unblocks it.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if set.Username != "" {
		if !c.SupportsAuth(sasl.Plain) {
			return ErrNoAuth
		}
		if err := c.Auth(sasl.NewPlainClient("", set.Username, s.Password)); err != nil {
			return fmt.Errorf("log in as %s: %w", set.Username, err)
		}
	}
	if err := c.SendMail(m.From, m.To, bytes.NewReader(m.Data)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	// The message was accepted at the final dot; a failed QUIT does not
	// undo that.
	_ = c.Quit()
	return nil
}

func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	set := s.Settings
	dialCtx := s.DialContext
	if dialCtx == nil {
		dialCtx = (&net.Dialer{}).DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, orDefault(s.DialTimeout, DefaultDialTimeout))
	defer cancel()
	conn, err := dialCtx(dctx, "tcp", set.Addr())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	// Plain SMTP carries the login in clear text: send nothing unless
	// the connection really ended on this computer, whatever a resolver
	// answered for the name.
	if set.Security == SecurityNone && !netaddr.IsLoopbackAddr(conn.RemoteAddr()) {
		conn.Close()
		return nil, fmt.Errorf("%s connected to %s: %w", set.Host, conn.RemoteAddr(), ErrPlainNotLoopback)
	}
	tlsConfig := s.tlsConfig()
	if set.Security == SecurityTLS {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect: %w", err)
		}
		conn = tc
	}
	cmdTimeout := orDefault(s.CommandTimeout, DefaultCommandTimeout)
	var c *smtp.Client
	if set.Security == SecurityStartTLS {
		// NewClientStartTLS reads the greeting, says EHLO and STARTTLS
		// before the timeouts below can be set: bound that phase here.
		timer := time.AfterFunc(3*cmdTimeout, func() { conn.Close() })
		c, err = smtp.NewClientStartTLS(conn, tlsConfig)
		if !timer.Stop() && err != nil {
			err = fmt.Errorf("the server did not answer within %s", 3*cmdTimeout)
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = cmdTimeout
	c.SubmissionTimeout = orDefault(s.SubmissionTimeout, DefaultSubmissionTimeout)
	return c, nil
}

func (s *Sender) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = strings.Trim(s.Settings.Host, "[]")
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// redact removes the password (and the AUTH PLAIN blob carrying it) from
// an error message, in case a server echoed it back.
func (s *Sender) redact(err error) error {
	if err == nil || s.Password == "" {
		return err
	}
	msg := err.Error()
	blob := base64.StdEncoding.EncodeToString([]byte("\x00" + s.Settings.Username + "\x00" + s.Password))
	if !strings.Contains(msg, s.Password) && !strings.Contains(msg, blob) {
		return err
	}
	msg = strings.ReplaceAll(msg, blob, "[redacted]")
	msg = strings.ReplaceAll(msg, s.Password, "[redacted]")
	return &redactedError{msg: msg, err: err}
}

// redactedError keeps the wrapped error for errors.Is/As but prints a
// message without the secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
