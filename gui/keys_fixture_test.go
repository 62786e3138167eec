package gui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/internal/clocktest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// kvNow is the fixed "now" of the keys screen tests.
var kvNow = time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)

// kvSigner is an HMAC signer with a fixed test key.
type kvSigner struct{}

func (kvSigner) mac(tag string, b []byte) []byte {
	m := hmac.New(sha256.New, []byte("keydesk gui test "+tag))
	m.Write(b)
	return m.Sum(nil)
}
func (s kvSigner) DigestSecret(secret string) []byte { return s.mac("digest", []byte(secret)) }
func (s kvSigner) SignRecord(p []byte) []byte        { return s.mac("record", p) }
func (s kvSigner) VerifyRecord(p, mac []byte) bool   { return hmac.Equal(s.mac("record", p), mac) }

// kvRand is a deterministic byte stream, so ids, secrets and hints are the
// same in every run (golden images).
type kvRand struct {
	seed byte
	n    uint64
	buf  []byte
}

func (r *kvRand) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		var b [9]byte
		b[0] = r.seed
		binary.BigEndian.PutUint64(b[1:], r.n)
		r.n++
		sum := sha256.Sum256(b[:])
		r.buf = append(r.buf, sum[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// kvFixture is a window with the keys screen over a real core.Service on an
// in-memory store, with a fixed clock, UTC dates and synchronous background
// work.
type kvFixture struct {
	t      *testing.T
	app    fyne.App
	win    fyne.Window
	env    *uiEnv
	store  *storetest.MemStore
	clock  *clocktest.Clock
	svc    *core.Service
	bg     *testRunner
	ui     *mainUI
	keys   *keysView
	closed bool // closeWindow closed the window
}

// closeWindow closes the window, as its close button does.
func (f *kvFixture) closeWindow() {
	f.closed = true
	f.win.Close()
}

// kvSeed describes a key of the demo-like data set.
type kvSeed struct {
	name   string
	age    time.Duration // created this long before kvNow
	life   core.Lifetime
	perms  core.Permissions
	used   time.Duration // last used this long before kvNow; 0 = never
	tamper bool
}

func kvSections(m map[string]core.Access) core.Permissions {
	return core.Permissions{Kind: core.KindSections, Sections: m}
}

func kvOps(ids ...string) core.Permissions {
	return core.Permissions{Kind: core.KindOperations, Operations: ids}
}

var kvGlobal = core.Permissions{Kind: core.KindGlobal}

const day = 24 * time.Hour

// kvDemo is a demo-like set of keys: every kind, expired, expiring soon,
// used and never used, one tampered.
var kvDemo = []kvSeed{
	{"CRM sync (production)", 40 * day, core.Lifetime{Months: 12}, kvSections(map[string]core.Access{"messaging": core.AccessFull, "users": core.AccessRead}), 2 * time.Hour, false},
	{"Billing export", 20 * day, core.Lifetime{Duration: 90 * day}, kvOps("users.list", "info.company.get", "history.conversations.query"), 26 * time.Hour, false},
	{"Hackathon sandbox", 10 * day, core.Lifetime{Duration: 7 * day}, kvGlobal, 8 * day, false},
	{"Old webhook relay", 100 * day, core.Lifetime{Duration: 90 * day}, kvSections(map[string]core.Access{"kite": core.AccessFull}), 0, false},
	{"Debug session (ticket 4821)", 7*day - 4*time.Hour, core.Lifetime{Duration: 7 * day}, kvGlobal, 25 * time.Minute, false},
	{"Status page checker", 2 * day, core.Lifetime{Duration: 30 * day}, kvOps("info.company.get"), time.Minute, false},
	{"Partner portal (read-only)", day, core.Lifetime{Months: 6}, kvSections(map[string]core.Access{"users": core.AccessRead, "info": core.AccessRead, "kite": core.AccessRead}), 0, false},
	{"Voice bot staging", 30 * day, core.Lifetime{Duration: 33 * day}, kvSections(map[string]core.Access{"voicebots": core.AccessFull}), 3 * day, false},
	{"Edited in the data file", 5 * day, core.Lifetime{Duration: 90 * day}, kvOps("users.get"), 0, true},
}

// newKVFixture opens a window of w×h with the keys screen over seeds.
func newKVFixture(t *testing.T, variant fyne.ThemeVariant, seeds []kvSeed, w, h float32) *kvFixture {
	t.Helper()
	a := test.NewTempApp(t)
	guitest.SyncCacheClock()
	a.Settings().SetTheme(guitest.Variant(newAppTheme(), variant))
	f := &kvFixture{t: t, app: a, store: storetest.NewMemStore(), clock: clocktest.New(kvNow), bg: &testRunner{inline: true}}

	seeder, err := core.NewService(f.store, kvSigner{}, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	seeder.Rand = &kvRand{seed: 1}
	used := map[string]time.Time{}
	for _, s := range seeds {
		f.clock.Set(kvNow.Add(-s.age))
		k, _, err := seeder.Create(core.CreateRequest{Name: s.name, Lifetime: s.life, Permissions: s.perms})
		if err != nil {
			t.Fatalf("seed %q: %v", s.name, err)
		}
		if s.used > 0 {
			used[k.ID] = kvNow.Add(-s.used)
		}
		if s.tamper {
			f.store.Edit(k.ID, func(k *core.Key) { k.Name += " (edited)" })
		}
	}
	f.store.SetLastUsed(used)
	f.clock.Set(kvNow)
	f.svc, err = core.NewService(f.store, kvSigner{}, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Rand = &kvRand{seed: 2}

	// Not a temp window: closeWindow closes it, and the test driver
	// panics on a second Close.
	f.win = test.NewWindow(nil)
	t.Cleanup(func() {
		if !f.closed {
			f.win.Close()
		}
	})
	f.env = &uiEnv{
		win:       f.win,
		clipboard: a.Clipboard(),
		loc:       time.UTC,
		prefs:     uiPrefs{p: a.Preferences()},
		bg:        f.bg,
	}
	f.ui = newMainUI(f.env, f.svc, widget.NewLabel("Try a key"), widget.NewLabel("Activity"), widget.NewLabel("Settings"))
	f.keys = f.ui.keys
	f.keys.audit = f.store
	f.win.SetContent(f.ui.content)
	f.win.Resize(fyne.NewSize(w, h))
	f.keys.reload()
	return f
}
