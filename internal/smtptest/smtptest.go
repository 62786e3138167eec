// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) in
// the test's process on 127.0.0.1 and records the messages it accepts, so
// that Keydesk's mail code can be tested against a real server instead of a
// fake client.
//
// The server offers AUTH PLAIN (github.com/emersion/go-sasl) and, when
// Options.User is set, refuses MAIL FROM until the client has logged in. It
// can offer STARTTLS or speak TLS from the first byte, answer the end of
// DATA with an injected error, and be stopped and restarted on the same
// address to simulate an outage.
//
// The server logs nothing (go-smtp's error log is discarded) and a Server
// prints as its address only, so test credentials never reach test output.
//
// Parse reads a received message back with github.com/emersion/go-message.
//
// The package is for tests only; it is a normal package so that the tests
// of several packages can share it.
package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a Server. The zero value is a plain-text server on a
// free port of 127.0.0.1 that needs no login.
type Options struct {
	// User and Pass, when User is set, are the only credentials AUTH PLAIN
	// accepts, and a client must log in before MAIL FROM.
	User, Pass string

	// TLS, when set, is the server's TLS configuration: the server offers
	// STARTTLS, or with ImplicitTLS speaks TLS from the first byte. A server
	// with TLS accepts AUTH only over TLS; one without accepts it in plain
	// text (Keydesk allows plain SMTP to this computer only).
	TLS *tls.Config

	// ImplicitTLS makes the listener TLS from the first byte (SMTPS, port
	// 465 style) instead of offering STARTTLS. It needs TLS.
	ImplicitTLS bool

	// Addr is the address to listen on; empty means "127.0.0.1:0", a free
	// port.
	Addr string

	// EchoCredentials makes a failed login answer "invalid login
	// USER/PASS" with the username and password it received, to test that
	// a client redacts what a server echoes back. The reply goes only to
	// that client; nothing is logged.
	EchoCredentials bool
}

// Message is one message the server accepted.
type Message struct {
	From     string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO), in order
	Data     []byte   // the message as received after DATA
	TLS      bool     // whether the connection was TLS when DATA ended
	AuthUser string   // the user who logged in, "" without AUTH
}

// Server is a running test SMTP server. Its methods are safe for
// concurrent use with the sessions it serves.
type Server struct {
	t    testing.TB
	opts Options

	mu       sync.Mutex
	addr     string
	srv      *smtp.Server
	ln       net.Listener
	running  bool
	msgs     []Message
	fail     error // answer at the end of DATA when non-nil
	attempts int   // DATA commands that reached their end
}

// Start starts a server with opts and stops it when the test ends. It fails
// the test if it cannot listen.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ImplicitTLS && opts.TLS == nil {
		t.Fatal("smtptest: ImplicitTLS needs Options.TLS")
	}
	s := &Server{t: t, opts: opts, addr: opts.Addr}
	if s.addr == "" {
		s.addr = "127.0.0.1:0"
	}
	s.listen()
	t.Cleanup(s.Close)
	return s
}

// listen listens on s.addr and serves in a new goroutine.
func (s *Server) listen() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("smtptest: listen on %s: %v", s.addr, err)
	}
	if s.opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ErrorLog = nopLogger{}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if !s.opts.ImplicitTLS {
		srv.TLSConfig = s.opts.TLS // nil: no STARTTLS offered
	}
	srv.AllowInsecureAuth = s.opts.TLS == nil
	s.addr, s.ln, s.srv, s.running = ln.Addr().String(), ln, srv, true
	go srv.Serve(ln)
}

// Close stops the server: from then on connections to its address are
// refused, until Restart. Messages received so far are kept. Closing a
// closed server does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	s.running = false
	// Close the listener directly too: Serve may not have registered it
	// with the server yet.
	s.ln.Close()
	if err := s.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.t.Logf("smtptest: close server: %v", err)
	}
}

// Restart listens again on the address the server had, after Close. The
// messages, attempts and failure set so far are kept.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	if running {
		s.t.Fatal("smtptest: Restart of a running server")
	}
	s.listen()
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Host returns the host part of Addr, "127.0.0.1" unless Options.Addr
// said otherwise.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port returns the port part of Addr.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// User returns Options.User, the user AUTH accepts.
func (s *Server) User() string { return s.opts.User }

// Password returns Options.Pass, the password AUTH accepts.
func (s *Server) Password() string { return s.opts.Pass }

// String describes the server by its address only, never its credentials.
func (s *Server) String() string { return "smtptest server on " + s.Addr() }

// SetFail makes the server answer the end of every DATA with err (use a
// *smtp.SMTPError to choose the reply code) and keep nothing; nil makes it
// accept messages again.
func (s *Server) SetFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Attempts returns how many DATA commands reached their end, whether the
// message was accepted or refused through SetFail.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// backend is the smtp.Backend of a Server.
type backend struct{ s *Server }

// NewSession implements smtp.Backend.
func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: b.s, conn: c, tls: isTLS}, nil
}

// session is one SMTP connection.
type session struct {
	srv  *Server
	conn *smtp.Conn
	tls  bool // TLS from the first byte
	user string
	from string
	to   []string
}

// AuthMechanisms implements smtp.AuthSession.
func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth implements smtp.AuthSession with AUTH PLAIN.
func (s *session) Auth(string) (sasl.Server, error) {
	opts := s.srv.opts
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != opts.User || password != opts.Pass {
			if opts.EchoCredentials {
				return fmt.Errorf("invalid login %s/%s", username, password)
			}
			return errors.New("invalid username or password")
		}
		s.user = username
		return nil
	}), nil
}

// Mail implements smtp.Session.
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

// Rcpt implements smtp.Session.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

// Data implements smtp.Session: it counts the attempt, then records the
// message unless a failure is set.
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.attempts++
	if s.srv.fail != nil {
		return s.srv.fail
	}
	s.srv.msgs = append(s.srv.msgs, Message{
		From:     s.from,
		To:       append([]string(nil), s.to...),
		Data:     data,
		TLS:      isTLS || s.tls,
		AuthUser: s.user,
	})
	return nil
}

// Reset implements smtp.Session.
func (s *session) Reset() { s.from, s.to = "", nil }

// Logout implements smtp.Session.
func (s *session) Logout() error { return nil }

// nopLogger discards go-smtp's error log.
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}
