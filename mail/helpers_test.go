package mail_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/zalando/go-keyring"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/storage"
)

// received is one message the test server accepted.
type received struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
}

// smtpServer is a real go-smtp server on 127.0.0.1 recording what it
// accepts.
type smtpServer struct {
	t    *testing.T
	srv  *smtp.Server
	addr string
	ln   net.Listener

	// Options, set before start.
	implicitTLS bool        // listener is TLS from the first byte
	tlsConfig   *tls.Config // enables STARTTLS (or implicit TLS)
	user, pass  string      // when set, AUTH PLAIN is required
	echoAuth    bool        // a bad login is answered with the credentials it got

	mu       sync.Mutex
	msgs     []received
	fail     error // returned at the end of DATA when non-nil
	attempts int   // DATA commands seen
}

func (s *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: s, conn: c, tls: isTLS}, nil
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.srv.user || password != s.srv.pass {
			if s.srv.echoAuth {
				return fmt.Errorf("invalid login %s/%s", username, password)
			}
			return errors.New("invalid username or password")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

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
	s.srv.msgs = append(s.srv.msgs, received{From: s.from, To: append([]string(nil), s.to...), Data: data, TLS: isTLS || s.tls, AuthUser: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// newServer returns an unstarted server; call start.
func newServer(t *testing.T) *smtpServer {
	t.Helper()
	return &smtpServer{t: t}
}

// start listens on 127.0.0.1 (on addr if set, else a free port) and serves
// until the test ends.
func (s *smtpServer) start() *smtpServer {
	s.t.Helper()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	if s.implicitTLS {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = nopLogger{}
	if !s.implicitTLS {
		s.srv.TLSConfig = s.tlsConfig
	}
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	srv := s.srv
	go srv.Serve(ln)
	s.t.Cleanup(func() { srv.Close() })
	return s
}

// stop closes the listener: connections are refused until start again.
func (s *smtpServer) stop() {
	s.t.Helper()
	// Close the listener directly too: Serve may not have registered it
	// with the server yet.
	s.ln.Close()
	if err := s.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.t.Logf("close server: %v", err)
	}
}

func (s *smtpServer) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *smtpServer) host() string {
	h, _, _ := net.SplitHostPort(s.addr)
	return h
}

func (s *smtpServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost and
// returns the server config and a client config trusting it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "keydesk test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// parsed is a received message read back with go-message.
type parsed struct {
	Header gomail.Header
	Parts  map[string]string // content type -> decoded body
	Order  []string          // content types in order
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	p := parsed{Header: r.Header, Parts: map[string]string{}}
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse message part: %v", err)
		}
		ih, ok := part.Header.(*gomail.InlineHeader)
		if !ok {
			t.Fatalf("unexpected non-inline part %T", part.Header)
		}
		ct, params, err := ih.ContentType()
		if err != nil {
			t.Fatal(err)
		}
		if params["charset"] != "utf-8" {
			t.Errorf("part %s charset = %q, want utf-8", ct, params["charset"])
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatal(err)
		}
		p.Parts[ct] = string(body)
		p.Order = append(p.Order, ct)
	}
	if mt, _, _ := r.Header.ContentType(); mt != "multipart/alternative" {
		t.Errorf("Content-Type = %q, want multipart/alternative", mt)
	}
	return p
}

// env is a real bbolt store and a keyring (go-keyring's in-memory mock:
// these tests are about SMTP, not the keyring).
type env struct {
	store *storage.Store
	kr    *storage.Keyring
	d     *mail.Deliverer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	keyring.MockInit()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := storage.CreateKeyring(st.StoreID())
	if err != nil {
		t.Fatalf("create keyring: %v", err)
	}
	e := &env{store: st, kr: kr}
	e.d = &mail.Deliverer{Store: st, Settings: st, Passwords: kr, Keys: loadingSelector{e}, Actor: "tester", CommandTimeout: 5 * time.Second}
	return e
}

// loadingSelector selects digests like the app does (core.Service: the
// expiry index plus in-memory records), loading a new Service for each
// call because the tests add keys to the store directly.
type loadingSelector struct{ e *env }

func (l loadingSelector) SelectDigest(slot, last time.Time) (core.Digest, error) {
	svc, err := core.NewService(l.e.store, l.e.kr.Signer(), nil, nil)
	if err != nil {
		return core.Digest{}, err
	}
	return svc.SelectDigest(slot, last)
}

// configure saves settings pointing at srv.
func (e *env) configure(t *testing.T, srv *smtpServer, sec mail.Security, to ...string) mail.Settings {
	t.Helper()
	if len(to) == 0 {
		to = []string{"admin@example.com"}
	}
	s := mail.Settings{Host: srv.host(), Port: srv.port(), Security: sec, From: "Keydesk <keydesk@example.com>", To: to}
	var pw *string
	if srv.user != "" {
		s.Username = srv.user
		pw = &srv.pass
	}
	if err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Password: pw, Actor: "tester", Time: time.Now()}); err != nil {
		t.Fatalf("save settings: %v", err)
	}
	return s
}

var keySeq int

// addKey stores a key expiring at exp with n scopes.
func (e *env) addKey(t *testing.T, name string, exp time.Time, scopes int) *core.Key {
	t.Helper()
	keySeq++
	k := &core.Key{
		ID:          fmt.Sprintf("%016x", keySeq),
		Name:        name,
		Digest:      []byte(fmt.Sprintf("digest-%d-%s", keySeq, name)),
		Hint:        fmt.Sprintf("kdk_%04d", keySeq%10000),
		Permissions: core.Permissions{Kind: core.KindGlobal},
		CreatedAt:   exp.Add(-30 * 24 * time.Hour),
		ExpiresAt:   exp.UTC(),
	}
	for i := range scopes {
		k.Scopes = append(k.Scopes, fmt.Sprintf("scope%d", i))
	}
	k.MAC = e.kr.Signer().SignRecord(k.MACPayload())
	if err := e.store.InsertKey(k, core.AuditEvent{Time: k.CreatedAt, Action: core.ActionCreate, KeyID: k.ID}); err != nil {
		t.Fatalf("insert key: %v", err)
	}
	return k
}

// audits returns the store's audit actions, oldest first.
func (e *env) audits(t *testing.T) []core.AuditEvent {
	t.Helper()
	evs, err := e.store.Audit()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]core.AuditEvent, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Action != core.ActionCreate {
			out = append(out, evs[i])
		}
	}
	return out
}

func (e *env) lastDelivered(t *testing.T) time.Time {
	t.Helper()
	s, err := e.store.LastDeliveredSlot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyNamesIn returns which of names appear in body, in order of
// appearance.
func keyNamesIn(body string, names ...string) []string {
	type at struct {
		name string
		pos  int
	}
	var found []at
	for _, n := range names {
		if i := strings.Index(body, n); i >= 0 {
			found = append(found, at{n, i})
		}
	}
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].pos < found[j-1].pos; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	out := make([]string, 0, len(found))
	for _, f := range found {
		out = append(out, f.name)
	}
	return out
}

// listenAt listens on addr (a port a stopped server used) until the test
// ends.
func listenAt(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
