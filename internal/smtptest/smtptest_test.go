package smtptest_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/keydesk/keydesk/internal/smtptest"
)

const testMessage = "From: k@example.com\r\n" +
	"To: a@example.com\r\n" +
	"Subject: Hello\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=B\r\n" +
	"\r\n" +
	"--B\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"plain body\r\n" +
	"--B\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<p>html body</p>\r\n" +
	"--B--\r\n"

// send delivers testMessage to srv, logging in first when user is set.
func send(t *testing.T, srv *smtptest.Server, user, pass string, to ...string) error {
	t.Helper()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	if user != "" {
		if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
			return err
		}
	}
	if err := c.SendMail("k@example.com", to, strings.NewReader(testMessage)); err != nil {
		return err
	}
	return c.Quit()
}

func TestRecordsEnvelopeAndData(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	if srv.Host() != "127.0.0.1" || srv.Port() == 0 || srv.Addr() != fmt.Sprintf("127.0.0.1:%d", srv.Port()) {
		t.Fatalf("address %q: host %q port %d", srv.Addr(), srv.Host(), srv.Port())
	}
	if err := send(t, srv, "", "", "a@example.com", "b@example.org"); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "k@example.com" || !slices.Equal(m.To, []string{"a@example.com", "b@example.org"}) ||
		m.AuthUser != "" || m.TLS || !strings.Contains(string(m.Data), "plain body") {
		t.Errorf("message = %+v", m)
	}
	if n := srv.Attempts(); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

func TestAuth(t *testing.T) {
	const pass = "Right-Pa55"
	srv := smtptest.Start(t, smtptest.Options{User: "u", Pass: pass})

	err := send(t, srv, "", "", "a@example.com")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != smtp.ErrAuthRequired.Code {
		t.Errorf("send without login = %v, want %d", err, smtp.ErrAuthRequired.Code)
	}
	err = send(t, srv, "u", "wrong", "a@example.com")
	if err == nil || !strings.Contains(err.Error(), "invalid username or password") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("send with a wrong password = %v", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("received %d messages without a login", n)
	}
	if err := send(t, srv, "u", pass, "a@example.com"); err != nil {
		t.Fatalf("send with the right login: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].AuthUser != "u" {
		t.Errorf("received %+v, want one message from u", msgs)
	}
	if s := fmt.Sprintf("%v %+v %s", srv, srv, srv); strings.Contains(s, pass) {
		t.Errorf("printing the server shows the password: %s", s)
	}
}

func TestEchoCredentials(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{User: "u", Pass: "right", EchoCredentials: true})
	err := send(t, srv, "u", "Echo-Me", "a@example.com")
	if err == nil || !strings.Contains(err.Error(), "invalid login u/Echo-Me") {
		t.Errorf("send with a wrong password = %v, want the credentials echoed", err)
	}
}

func TestSetFailCountsAttempts(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	srv.SetFail(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "too busy"})
	err := send(t, srv, "", "", "a@example.com")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 421 || se.Message != "too busy" {
		t.Errorf("send while failing = %v, want 421 too busy", err)
	}
	if n, a := len(srv.Messages()), srv.Attempts(); n != 0 || a != 1 {
		t.Errorf("while failing: %d messages, %d attempts; want 0 and 1", n, a)
	}
	srv.SetFail(nil)
	if err := send(t, srv, "", "", "a@example.com"); err != nil {
		t.Fatalf("send after SetFail(nil): %v", err)
	}
	if n, a := len(srv.Messages()), srv.Attempts(); n != 1 || a != 2 {
		t.Errorf("after recovery: %d messages, %d attempts; want 1 and 2", n, a)
	}
}

func TestCloseAndRestart(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	if err := send(t, srv, "", "", "a@example.com"); err != nil {
		t.Fatalf("send: %v", err)
	}
	addr := srv.Addr()
	srv.Close()
	srv.Close() // a second Close does nothing
	if err := send(t, srv, "", "", "a@example.com"); err == nil {
		t.Fatal("send to a closed server succeeded")
	}
	srv.Restart()
	if srv.Addr() != addr {
		t.Errorf("restarted on %s, want %s", srv.Addr(), addr)
	}
	if err := send(t, srv, "", "", "b@example.com"); err != nil {
		t.Fatalf("send after Restart: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || msgs[0].To[0] != "a@example.com" || msgs[1].To[0] != "b@example.com" {
		t.Errorf("messages across a restart = %+v, want both", msgs)
	}
}

func TestParse(t *testing.T) {
	p := smtptest.Parse(t, []byte(testMessage))
	if subj, _ := p.Header.Subject(); subj != "Hello" {
		t.Errorf("subject %q", subj)
	}
	if got := p.ContentTypes(); !slices.Equal(got, []string{"text/plain", "text/html"}) {
		t.Errorf("content types %v", got)
	}
	if p.Body("text/plain") != "plain body" || p.Body("text/html") != "<p>html body</p>" || p.Body("image/png") != "" {
		t.Errorf("bodies %q %q", p.Body("text/plain"), p.Body("text/html"))
	}
	if cs := p.Parts[0].Params["charset"]; cs != "utf-8" {
		t.Errorf("charset %q", cs)
	}
}
