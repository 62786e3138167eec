package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/storage"
)

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

// parse reads a received message back with go-message and checks what
// every Keydesk message has: multipart/alternative with UTF-8 parts.
func parse(t *testing.T, data []byte) smtptest.Parsed {
	t.Helper()
	p := smtptest.Parse(t, data)
	for _, part := range p.Parts {
		if part.Params["charset"] != "utf-8" {
			t.Errorf("part %s charset = %q, want utf-8", part.ContentType, part.Params["charset"])
		}
	}
	if mt, _, _ := p.Header.ContentType(); mt != "multipart/alternative" {
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
	st := storetest.OpenBbolt(t, t.TempDir())
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
func (e *env) configure(t *testing.T, srv *smtptest.Server, sec mail.Security, to ...string) mail.Settings {
	t.Helper()
	if len(to) == 0 {
		to = []string{"admin@example.com"}
	}
	s := mail.Settings{Host: srv.Host(), Port: srv.Port(), Security: sec, From: "Keydesk <keydesk@example.com>", To: to}
	var pw *string
	if srv.User() != "" {
		s.Username = srv.User()
		pass := srv.Password()
		pw = &pass
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
