package gui

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"github.com/jackc/pgx/v5"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/workspace"
)

// initSharedStore initialises the shared store at u with a fresh memory
// keyring as this computer's, opens another admin's workspace on it and
// creates the key first there; it returns the keyring and that workspace.
func initSharedStore(t *testing.T, u, first string) (workspace.KeyringBackend, *workspace.Workspace) {
	t.Helper()
	kr := workspace.NewMemoryKeyring()
	if _, err := workspace.InitShared(workspace.Options{StoreURL: u, Keyring: kr}, ""); err != nil {
		t.Fatal(err)
	}
	other, err := workspace.Open(workspace.Options{StoreURL: u, Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if _, _, err := other.Service().Create(sharedReq(first)); err != nil {
		t.Fatal(err)
	}
	return kr, other
}

// startSharedSession starts a window session with open, runs its UI
// updates until the first store or error shows, and finishes it when the
// test ends.
func startSharedSession(t *testing.T, w fyne.Window, env *uiEnv, bg *testRunner, open func() (*workspace.Workspace, error), cleanup func()) *session {
	t.Helper()
	s := startSession(w, env, open)
	if env.stores != nil {
		env.stores.s = s
	}
	t.Cleanup(func() {
		if cleanup != nil {
			cleanup()
		}
		if err := s.finish(); err != nil {
			t.Errorf("finish: %v", err)
		}
	})
	bg.wait()
	<-s.shown
	return s
}

// sharedWindow initialises a shared store, opens another admin's
// workspace on it (with a key already there) and a window session on it,
// and returns the other admin's workspace, the window, its runner and the
// session.
func sharedWindow(t *testing.T) (*workspace.Workspace, fyne.Window, *testRunner, *session, string) {
	t.Helper()
	u := storetest.PGDatabase(t, "kdgui_")
	kr, other := initSharedStore(t, u, "before the window")
	w, env, bg := newTestWindow(t)
	s := startSharedSession(t, w, env, bg, func() (*workspace.Workspace, error) {
		return workspace.Open(workspace.Options{StoreURL: u, Keyring: kr})
	}, nil)
	if s.err != nil {
		t.Fatalf("open the shared store in the window: %v", s.err)
	}
	return other, w, bg, s, u
}

func sharedReq(name string) core.CreateRequest {
	return core.CreateRequest{Name: name, Lifetime: core.Lifetime{Duration: 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}}
}

// tableNames returns the names in the window's keys table.
func tableNames(t *testing.T, w fyne.Window) []string {
	t.Helper()
	tabs, ok := mainTabs(w.Content())
	if !ok {
		t.Fatalf("window content = %T, want the screens", w.Content())
	}
	kv := tabs.Items[0].Content.(*keysView)
	var names []string
	for _, r := range kv.model.rows {
		names = append(names, r.key.Name)
	}
	return names
}

// waitTable runs the window's UI updates until the keys table satisfies
// ok, failing after a second (the time another admin's change may take to
// show).
func waitTable(t *testing.T, w fyne.Window, bg *testRunner, what string, ok func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		bg.wait()
		names := tableNames(t, w)
		if ok(names) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1 s the keys table shows %q: %s", names, what)
		}
		time.Sleep(5 * time.Millisecond) // poll the condition; the deadline bounds it
	}
}

// The window opened on a shared store lists its keys and names the store
// (host and database, never the password) in its title.
func TestSharedWindowListsTheStoresKeys(t *testing.T) {
	_, w, bg, _, u := sharedWindow(t)
	waitTable(t, w, bg, "want the key created before the window opened", func(n []string) bool {
		return slices.Contains(n, "before the window")
	})
	p, _ := url.Parse(u)
	if want := "Shared store: " + p.Host + p.Path; !strings.Contains(w.Title(), want) {
		t.Fatalf("title %q, want it to contain %q", w.Title(), want)
	}
	if strings.Contains(w.Title(), "out of date") {
		t.Fatalf("title %q says the data is stale while PostgreSQL is up", w.Title())
	}
}

// Another admin's created key appears in the table within a second, and
// one it deletes disappears.
func TestSharedWindowShowsOtherAdminsChangesLive(t *testing.T) {
	other, w, bg, _, _ := sharedWindow(t)
	waitTable(t, w, bg, "want the first key", func(n []string) bool { return len(n) == 1 })

	k, _, err := other.Service().Create(sharedReq("from another admin"))
	if err != nil {
		t.Fatal(err)
	}
	waitTable(t, w, bg, "want the key another admin created", func(n []string) bool {
		return slices.Contains(n, "from another admin")
	})

	if _, err := other.Service().Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	waitTable(t, w, bg, "want the key another admin deleted gone", func(n []string) bool {
		return !slices.Contains(n, "from another admin") && slices.Contains(n, "before the window")
	})
}

// menuItem returns the File menu's item labelled label, or nil.
func menuItem(w fyne.Window, label string) *fyne.MenuItem {
	m := w.MainMenu()
	if m == nil || len(m.Items) == 0 {
		return nil
	}
	for _, it := range m.Items[0].Items {
		if it.Label == label {
			return it
		}
	}
	return nil
}

// From a data folder, File → Open Shared Store opens the shared store in
// the same window (its keys, its title); the URL is remembered without its
// password, which goes into the keyring; a URL that does not parse or a
// server that is down is one sentence and the window stays where it was;
// Local Data Folder goes back.
func TestSwitchBetweenDataFolderAndSharedStore(t *testing.T) {
	u := storetest.PGDatabase(t, "kdgui_")
	kr, _ := initSharedStore(t, u, "shared key")

	dir := t.TempDir()
	local := func() (*workspace.Workspace, error) {
		b, err := workspace.Open(workspace.Options{Dir: dir, Keyring: kr})
		if err == nil && len(b.Service().List()) == 0 {
			_, _, err = b.Service().Create(sharedReq("local key"))
		}
		return b, err
	}
	w, env, bg := newTestWindow(t)
	env.stores = &storeSwitcher{keyring: kr, initial: local}
	startSharedSession(t, w, env, bg, local, nil)
	waitTable(t, w, bg, "want the local key", func(n []string) bool { return slices.Equal(n, []string{"local key"}) })
	if it := menuItem(w, "Open Shared Store…"); it == nil {
		t.Fatal("no Open Shared Store… in the File menu")
	}
	if it := menuItem(w, "Local Data Folder"); it == nil || !it.Disabled {
		t.Fatalf("Local Data Folder on a data folder: %+v, want it disabled", it)
	}

	for _, bad := range []struct{ url, want string }{
		{"not a url", "The store URL is not a valid PostgreSQL URL"},
		{"postgres://admin:leaked-pw@127.0.0.1:1/keydesk?sslmode=disable&connect_timeout=2", "cannot be reached"},
	} {
		env.stores.openShared(env, bad.url, "typed-pw")
		bg.wait()
		texts := strings.Join(overlayTexts(w), " ")
		if !strings.Contains(texts, bad.want) {
			t.Fatalf("opening %q: dialog %q, want %q", bad.url, texts, bad.want)
		}
		if strings.Contains(texts, "leaked-pw") || strings.Contains(texts, "typed-pw") {
			t.Fatalf("the error dialog shows a password: %q", texts)
		}
		if clean, _, err := splitPassword(bad.url); err == nil {
			if _, err := kr.Get(storePasswordEntry(clean)); !errors.Is(err, workspace.ErrNoEntry) {
				t.Fatalf("keyring entry of %q, a store that did not open: %v, want none", clean, err)
			}
		}
		w.Canvas().Overlays().Top().Hide()
		w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())
		if n := tableNames(t, w); !slices.Equal(n, []string{"local key"}) {
			t.Fatalf("after a failed open the table shows %q", n)
		}
		if p := env.prefs.sharedStoreURL(); p != "" {
			t.Fatalf("a store that did not open was remembered: %q", p)
		}
	}

	p, _ := url.Parse(u)
	p.User = url.UserPassword(p.User.Username(), "in-the-url")
	env.stores.openShared(env, p.String(), "typed-secret")
	bg.wait()
	waitTable(t, w, bg, "want the shared store's key", func(n []string) bool { return slices.Equal(n, []string{"shared key"}) })
	if !strings.Contains(w.Title(), "Shared store: "+p.Host+p.Path) {
		t.Fatalf("title %q on the shared store", w.Title())
	}
	saved := env.prefs.sharedStoreURL()
	if saved == "" || strings.Contains(saved, "typed-secret") || strings.Contains(saved, "in-the-url") {
		t.Fatalf("remembered URL %q: want the URL without any password", saved)
	}
	if pw, err := kr.Get(storePasswordEntry(saved)); err != nil || pw != "typed-secret" {
		t.Fatalf("keyring entry for %q = %q, %v; want the typed password", saved, pw, err)
	}
	if it := menuItem(w, "Local Data Folder"); it == nil || it.Disabled {
		t.Fatalf("Local Data Folder on a shared store: %+v, want it enabled", it)
	}

	env.stores.switchTo(env, env.stores.local, nil)
	bg.wait()
	waitTable(t, w, bg, "want the local key again", func(n []string) bool { return slices.Equal(n, []string{"local key"}) })
	if w.Title() != windowTitle {
		t.Fatalf("title %q back on the data folder, want %q", w.Title(), windowTitle)
	}
}

func TestSplitPasswordKeepsNoPassword(t *testing.T) {
	clean, pw, err := splitPassword(" postgres://admin:s3cret@db.example:5432/keydesk?sslmode=verify-full&password=other ")
	if err != nil {
		t.Fatal(err)
	}
	if pw != "s3cret" || strings.Contains(clean, "s3cret") || strings.Contains(clean, "other") {
		t.Fatalf("splitPassword = %q, %q", clean, pw)
	}
	if got := withPassword(clean, "s3cret"); got != "postgres://admin:s3cret@db.example:5432/keydesk?sslmode=verify-full" {
		t.Fatalf("withPassword = %q", got)
	}
	for _, bad := range []string{"", "db.example/keydesk", "mysql://db/keydesk", "postgres://%zz"} {
		if _, _, err := splitPassword(bad); err == nil {
			t.Errorf("splitPassword(%q) accepted", bad)
		}
	}
}

// tcpProxy forwards loopback connections to a PostgreSQL server; down cuts
// every connection and refuses new ones (the window's view of a server
// that cannot be reached), up listens again on the same address.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) up() { p.listen(p.addr) }

// waitTitle runs the window's UI updates until its title satisfies ok,
// failing after limit.
func waitTitle(t *testing.T, w fyne.Window, bg *testRunner, limit time.Duration, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		bg.wait()
		if ok(w.Title()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the title is %q: %s", limit, w.Title(), what)
		}
		time.Sleep(5 * time.Millisecond) // poll the condition; the deadline bounds it
	}
}

// With PostgreSQL unreachable the window keeps its keys and its title says
// they may be out of date; once the server is back it catches up with what
// another admin did meanwhile and the title says so no more.
func TestSharedWindowSaysWhenDataMayBeStale(t *testing.T) {
	u := storetest.PGDatabase(t, "kdgui_")
	kr, other := initSharedStore(t, u, "before the outage")
	pu, _ := url.Parse(u)
	proxy := newTCPProxy(t, pu.Host)
	pu.Host = proxy.addr
	viaProxy := pu.String()

	w, env, bg := newTestWindow(t)
	s := startSharedSession(t, w, env, bg, func() (*workspace.Workspace, error) {
		return workspace.Open(workspace.Options{StoreURL: viaProxy, Keyring: kr})
	}, proxy.down)
	if s.err != nil {
		t.Fatal(s.err)
	}
	waitTable(t, w, bg, "want the first key", func(n []string) bool { return slices.Equal(n, []string{"before the outage"}) })
	stale := func(title string) bool { return strings.Contains(title, "PostgreSQL unreachable") }
	if stale(w.Title()) {
		t.Fatalf("title %q while the server is up", w.Title())
	}

	proxy.down()
	waitTitle(t, w, bg, 5*time.Second, "want it to say the data may be stale", stale)
	if n := tableNames(t, w); !slices.Equal(n, []string{"before the outage"}) {
		t.Fatalf("keys while the server is unreachable: %q", n)
	}
	if _, _, err := other.Service().Create(sharedReq("during the outage")); err != nil {
		t.Fatal(err)
	}

	proxy.up()
	waitTitle(t, w, bg, 10*time.Second, "want the stale note gone", func(s string) bool { return !stale(s) })
	waitTable(t, w, bg, "want the key created during the outage", func(n []string) bool { return slices.Contains(n, "during the outage") })
}

// passwordRole creates a login role with a password on the test cluster
// and a pg_hba.conf rule (removed at the end) that lets it into the
// database of u only with that password (the cluster trusts every other
// login); it returns u as that role without a password, that URL as the
// window keeps it (splitPassword) and the password.
func passwordRole(t *testing.T, u string) (roleURL, clean, password string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	role := "kdgui_pw_" + strings.ToLower(rand.Text()[:8])
	password = rand.Text()
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN SUPERUSER PASSWORD '"+password+"'"); err != nil {
		t.Fatal(err)
	}
	var hba string
	if err := conn.QueryRow(ctx, "SHOW hba_file").Scan(&hba); err != nil {
		t.Fatal(err)
	}
	p, _ := url.Parse(u)
	db := strings.TrimPrefix(p.Path, "/")
	rule := "host " + db + " " + role + " 127.0.0.1/32 scram-sha-256\n"
	editHBA := func(edit func(string) string) error {
		b, err := os.ReadFile(hba)
		if err != nil {
			return err
		}
		if err := os.WriteFile(hba, []byte(edit(string(b))), 0); err != nil {
			return err
		}
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "SELECT pg_reload_conf()")
		return err
	}
	if err := editHBA(func(s string) string { return rule + s }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := editHBA(func(s string) string { return strings.Replace(s, rule, "", 1) }); err != nil {
			t.Errorf("remove the pg_hba.conf rule: %v", err)
		}
	})
	p.User = url.User(role)
	roleURL = p.String()
	// The server reloads its configuration on its own time: wait until it
	// refuses the role without its password.
	t.Setenv("PGPASSWORD", "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := pgx.Connect(ctx, roleURL)
		if err != nil {
			break
		}
		c.Close(ctx)
		if time.Now().After(deadline) {
			t.Fatal("after 5 s the server still lets the role in without its password")
		}
	}
	clean, _, err = splitPassword(roleURL)
	if err != nil {
		t.Fatal(err)
	}
	return roleURL, clean, password
}

// A window started on a store URL without a password (--store,
// KEYDESK_STORE) logs in with the password File → Open Shared Store… kept
// in the keyring for that URL; with nothing kept, PGPASSWORD still works,
// and with no password at all the login is refused in one sentence.
func TestSharedWindowUsesTheKeptPassword(t *testing.T) {
	u := storetest.PGDatabase(t, "kdgui_")
	kr, _ := initSharedStore(t, u, "shared key")
	roleURL, clean, password := passwordRole(t, u)
	opts := workspace.Options{StoreURL: roleURL, Keyring: kr}

	wt := startTestWindow(t, opts, nil)
	if !wt.overlayHas("refused the login") || wt.s.workspace() != nil {
		t.Fatalf("no password anywhere: dialog %q", overlayTexts(wt.w))
	}
	if strings.Contains(strings.Join(overlayTexts(wt.w), " "), password) {
		t.Fatal("the dialog shows the password")
	}

	if err := kr.Set(storePasswordEntry(clean), password); err != nil {
		t.Fatal(err)
	}
	wt = startTestWindow(t, opts, nil)
	wt.screens()
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"shared key"}) {
		t.Fatalf("keys with the kept password: %q", n)
	}
	if got := wt.env.prefs.lastSharedURL(); got != clean {
		t.Fatalf("the window remembers %q as the store shown last, want %q", got, clean)
	}
	if err := wt.s.finish(); err != nil {
		t.Fatal(err)
	}

	if err := kr.Delete(storePasswordEntry(clean)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSWORD", password)
	wt = startTestWindow(t, opts, nil)
	wt.screens()
}

// A window started without naming a store reopens the shared store it
// showed last, with the password kept for it; if that one no longer logs
// in, the dialog offers the local data folder instead of quitting.
func TestSharedWindowReopensTheStoreShownLast(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	u := storetest.PGDatabase(t, "kdgui_")
	kr, _ := initSharedStore(t, u, "shared key")
	_, clean, password := passwordRole(t, u)
	if err := kr.Set(storePasswordEntry(clean), password); err != nil {
		t.Fatal(err)
	}

	wt := startTestWindow(t, workspace.Options{Keyring: kr}, lastShown(clean))
	b := wt.screens()
	if b.Kind() != workspace.KindShared {
		t.Fatal("the window opened the data folder, want the shared store shown last")
	}
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"shared key"}) {
		t.Fatalf("keys: %q", n)
	}
	p, _ := url.Parse(u)
	if !strings.Contains(wt.w.Title(), "Shared store: "+p.Host+p.Path) {
		t.Fatalf("title %q", wt.w.Title())
	}
	if it := menuItem(wt.w, "Local Data Folder"); it == nil || it.Disabled {
		t.Fatalf("Local Data Folder: %+v, want it enabled", it)
	}
	if err := wt.s.finish(); err != nil {
		t.Fatal(err)
	}

	if err := kr.Set(storePasswordEntry(clean), "no longer the password"); err != nil {
		t.Fatal(err)
	}
	wt = startTestWindow(t, workspace.Options{Keyring: kr}, lastShown(clean))
	if !wt.overlayHas("refused the login") {
		t.Fatalf("dialog %q, want the refused login", overlayTexts(wt.w))
	}
	wt.tap(overlayButton(wt.w, "Open the local data folder"))
	if b := wt.screens(); b.Kind() == workspace.KindShared {
		t.Fatal("still on the shared store")
	}
}

// A shared store whose signing material is in an OS keyring that is not
// available says so in one sentence, and offers no key file (that is for
// a data folder only).
func TestSharedWindowWithoutKeyringOffersNoKeyFile(t *testing.T) {
	u := storetest.PGDatabase(t, "kdgui_")
	initSharedStore(t, u, "shared key")
	wt := startTestWindow(t, workspace.Options{StoreURL: u, Keyring: noKeyring{}}, nil)
	if !wt.overlayHas("The OS keyring is not available") || wt.s.choice != nil ||
		overlayButton(wt.w, "Keep the signing key in a file") != nil {
		t.Fatalf("dialog %q: want the keyring's sentence alone", overlayTexts(wt.w))
	}
}

// From a shared store, File → Local Data Folder on a folder whose signing
// key is in keydesk.key asks for its passphrase (a wrong one says so and
// asks again), then shows the folder; Cancel stays on the shared store.
func TestSwitchBetweenSharedStoreAndKeyFileFolder(t *testing.T) {
	u := storetest.PGDatabase(t, "kdgui_")
	kr, _ := initSharedStore(t, u, "shared key")
	dir := keyFileFolder(t, "in the key-file folder")

	// keydesk --store URL with KEYDESK_DATA set: the shared store first.
	wt := startTestWindow(t, workspace.Options{StoreURL: u, Dir: dir, Keyring: kr, KeyFileOptions: fastKeyFile}, nil)
	if wt.screens().Kind() != workspace.KindShared {
		t.Fatal("want the shared store first")
	}
	sw := wt.env.stores
	sw.switchTo(wt.env, sw.local, nil)
	wt.bg.wait()
	wt.tap(wt.prompt().cancel)
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"shared key"}) {
		t.Fatalf("after Cancel the window shows %q, want the shared store", n)
	}

	sw.switchTo(wt.env, sw.local, nil)
	wt.bg.wait()
	wt.answer("not the passphrase at all", "")
	if d := wt.prompt(); d.msg.Text != wrongPassphrase {
		t.Fatalf("after a wrong passphrase: %q", d.msg.Text)
	}
	wt.answer(testPassphrase, "")
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"in the key-file folder"}) {
		t.Fatalf("keys: %q", n)
	}
}
