package settings

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/emersion/go-smtp"

	"github.com/keydesk/keydesk/mail"
)

// mailFailure says in plain words why sending to the server of s failed and
// what to check; the technical error goes behind a Details disclosure.
func mailFailure(err error, s mail.Settings) string {
	where := fmt.Sprintf("%s on port %d", s.Host, s.Port)
	var dnsErr *net.DNSError
	var smtpErr *smtp.SMTPError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, context.Canceled):
		return "The test e-mail was cancelled; nothing was sent."
	case errors.Is(err, mail.ErrPlainNotLoopback):
		return "Plain SMTP (no encryption) is allowed only to this computer. Choose STARTTLS or TLS under Security, or a server on localhost."
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("Could not find the server %s: the name does not resolve. Check the host name.", s.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Could not reach %s: nothing is listening there. Check the host and port.", where)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("Could not reach %s: there is no route to it from this computer. Check the host and your network.", where)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Sprintf("%s did not answer in time. Check the host and port, and that no firewall blocks the connection.", capitalFirst(where))
	case errors.As(err, &recordErr):
		return fmt.Sprintf("%s does not speak TLS on that port. Check Security: STARTTLS usually goes with port 587, TLS with 465.", capitalFirst(where))
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return fmt.Sprintf("The server's certificate for %s is not trusted (expired, self-signed or for another name). Check the host name, or ask the mail administrator.", s.Host)
	case errors.As(err, &smtpErr) && isAuthCode(smtpErr.Code):
		return fmt.Sprintf("The server refused the login as %s. Check the username and password.", s.Username)
	case errors.As(err, &smtpErr) && smtpErr.Code >= 500 && smtpErr.Code < 600:
		return "The server refused the message. Check the From address and the recipients, or ask the mail administrator."
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s closed the connection. Check Security: STARTTLS usually goes with port 587, TLS with 465.", capitalFirst(where))
	}
	return fmt.Sprintf("The test e-mail could not be sent through %s. Check the settings above.", where)
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// capitalFirst starts s with a capital letter (a host name may start a
// sentence).
func capitalFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// isAuthCode reports whether an SMTP reply code refuses a login: 530
// (authentication required), 534, 535 (credentials invalid) and 454 (the
// temporary failure some servers answer bad credentials with).
func isAuthCode(code int) bool {
	return code == 454 || code == 530 || code == 534 || code == 535
}
