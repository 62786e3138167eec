package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/clocktest"
	"github.com/keydesk/keydesk/internal/syncbuf"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
	"github.com/keydesk/keydesk/workspace"
	"github.com/zalando/go-keyring"
	bolt "go.etcd.io/bbolt"
)

func TestMain(m *testing.M) {
	// The tests are about the HTTP API, not the keyring: the in-memory
	// keyring stands in for the OS one (set once: MockInit empties it).
	keyring.MockInit()
	code := m.Run()
	for _, f := range benchCleanup {
		f()
	}
	os.Exit(code)
}

// t0 is when the fixture's keys are created; the server runs at t0+2h.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// issued is a key the fixture created: its record id and its secret.
type issued struct {
	ID     string
	Secret string
}

// fixture is a real data folder (bbolt store, in-memory keyring) with a key
// of every kind, and the server running over it on 127.0.0.1:0.
type fixture struct {
	dir   string
	b     *workspace.Workspace
	svc   *core.Service
	clock *clocktest.Clock
	srv   *Server
	url   string
	keys  map[string]issued
	// wrapped counts SetLastUsed calls reaching the real store.
	store *countingStore
	stop  func() // stops the server (Serve returns) and closes the store
}

// Secrets that are no key of the fixture, one per failure reason.
const malformedKey = "not-a-keydesk-key"

// unknownKey returns a well-formed key that was never issued.
func unknownKey(t testing.TB) string {
	t.Helper()
	k, err := core.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// badChecksum changes a key's last checksum character.
func badChecksum(key string) string {
	last := key[len(key)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return key[:len(key)-1] + string(repl)
}

type keySpec struct {
	name  string
	perms core.Permissions
	life  core.Lifetime
}

// fixtureKeys: "reader" may list and get channels (specific operations),
// "msgread" has messaging read-only, "global" has *:*, "expired" lived one
// hour, "tampered" has its record edited in the bbolt file afterwards,
// "usersget" may only get a user (GET /v2/users/{userId}).
var fixtureKeys = []keySpec{
	{"reader", core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list", "messaging.channels.get"}}, core.Lifetime{Duration: 30 * 24 * time.Hour}},
	{"msgread", core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}, core.Lifetime{Months: 6}},
	{"global", core.Permissions{Kind: core.KindGlobal}, core.Lifetime{}},
	{"expired", core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list"}}, core.Lifetime{Duration: time.Hour}},
	{"tampered", core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list"}}, core.Lifetime{Duration: 30 * 24 * time.Hour}},
	{"usersget", core.Permissions{Kind: core.KindOperations, Operations: []string{"users.get"}}, core.Lifetime{Duration: 30 * 24 * time.Hour}},
}

// newFixture builds the data folder and starts the server.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	keys := createKeys(t, dir)
	tamperRecord(t, dir, keys["tampered"].ID)
	f := &fixture{dir: dir, keys: keys}
	f.start(t, t0.Add(2*time.Hour))
	return f
}

// createKeys opens a new data folder at t0, issues fixtureKeys and closes it.
func createKeys(t testing.TB, dir string) map[string]issued {
	t.Helper()
	b, err := workspace.Open(workspace.Options{Dir: dir, Now: t0})
	if err != nil {
		t.Fatalf("open workspace: %v", err)
	}
	defer b.Close()
	keys := map[string]issued{}
	for _, ks := range fixtureKeys {
		k, secret, err := b.Service().Create(core.CreateRequest{Name: ks.name, Lifetime: ks.life, Permissions: ks.perms})
		if err != nil {
			t.Fatalf("create %s: %v", ks.name, err)
		}
		keys[ks.name] = issued{ID: k.ID, Secret: secret}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// tamperRecord renames a key directly in the bbolt file, as someone editing
// the file would, without updating its MAC.
func tamperRecord(t testing.TB, dir, id string) {
	t.Helper()
	db, err := bolt.Open(storage.Path(dir), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open bbolt file: %v", err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("keys"))
		if bk == nil {
			return errors.New("no keys bucket")
		}
		data := bk.Get([]byte(id))
		if data == nil {
			return errors.New("record not found")
		}
		rec, sig, err := seal.DecodeSignedRecord(data)
		if err != nil {
			return err
		}
		// Edited in place, its MAC and signature kept: the key is tampered
		// (a record without its signature would make the whole store
		// refuse to open).
		rec.Name = "tampered (renamed by hand)"
		return bk.Put([]byte(id), seal.EncodeSignedRecord(rec, sig))
	})
	if err != nil {
		t.Fatalf("tamper with record: %v", err)
	}
}

// start opens the data folder with the clock at now and serves it on a real
// loopback listener through Serve.
func (f *fixture) start(t testing.TB, now time.Time) {
	t.Helper()
	b, err := workspace.Open(workspace.Options{Dir: f.dir})
	if err != nil {
		t.Fatalf("open workspace: %v", err)
	}
	f.b = b
	f.clock = clocktest.New(now.UTC())
	f.store = &countingStore{Store: b.Store()}
	svc, err := core.NewService(f.store, b.Keyring().Signer(), f.clock, b.Service().Catalog())
	if err != nil {
		b.Close()
		t.Fatalf("new service: %v", err)
	}
	f.svc = svc
	f.srv = New(svc, Options{Logger: testLogger(t)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Errorf("close workspace: %v", err)
			}
		})
	}
	t.Cleanup(f.stop)
}

// countingStore counts SetLastUsed calls on the way to the real store.
type countingStore struct {
	core.Store
	setLastUsed atomic.Int64
}

func (c *countingStore) SetLastUsed(times map[string]time.Time) error {
	c.setLastUsed.Add(1)
	return c.Store.SetLastUsed(times)
}

// testLogger returns a logger writing to a buffer; at the end of the test
// the buffer must hold no key.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	lb := &syncbuf.Buffer{}
	t.Cleanup(func() {
		s := lb.String()
		if core.KeyPattern.MatchString(s) || strings.Count(s, "kdk_") != strings.Count(s, "kdk_[redacted]") {
			t.Errorf("a key reached the server log:\n%s", s)
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// client is a plain HTTP client for the tests.
var client = &http.Client{Timeout: 10 * time.Second}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json (body %s)", ct, r.Body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("body is not the expected JSON: %v\n%s", err, r.Body)
	}
}

// do sends a request and reads the whole answer.
func do(t testing.TB, method, url string, body io.Reader, header map[string]string) response {
	t.Helper()
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return doHeader(t, method, url, body, h)
}

// doHeader is do with a header that may repeat fields or hold empty values.
func doHeader(t testing.TB, method, url string, body io.Reader, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// postVerify sends a verify request with a JSON body built from fields.
func (f *fixture) postVerify(t testing.TB, fields map[string]any) response {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, http.MethodPost, f.url+PathVerify, bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
}

// getAuth asks /v1/auth about a request, as nginx forwards it (or as
// Traefik does when traefik is set).
func (f *fixture) getAuth(t testing.TB, key, method, uri string, traefik bool) response {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	if traefik {
		h["X-Forwarded-Method"], h["X-Forwarded-Uri"] = method, uri
	} else {
		h["X-Original-Method"], h["X-Original-URI"] = method, uri
	}
	return do(t, http.MethodGet, f.url+PathAuth, nil, h)
}

func secretOf(t testing.TB, f *fixture, name string) string {
	t.Helper()
	k, ok := f.keys[name]
	if !ok {
		t.Fatalf("no fixture key %q", name)
	}
	return k.Secret
}

func mustContain(t testing.TB, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
