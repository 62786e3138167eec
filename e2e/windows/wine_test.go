//go:build wine

// Package windows is the Windows end-to-end test, run on Linux under Wine
// (make test-windows): the NSIS installer that make windows built installs
// silently into a throw-away Wine prefix, the installed command line
// (keydesk.com) runs the command-line suite against the Credential Manager
// and %AppData%, `serve` answers HTTP verify requests from the Linux side,
// the installed window opens under Xvfb, and the uninstaller removes the
// program. Its files carry the `wine` build tag, so no other test run builds
// them.
package windows

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wine is one throw-away Wine prefix with Keydesk installed in it.
type wine struct {
	t      *testing.T
	wine64 string
	prefix string // WINEPREFIX
	env    []string
	user   string // the Windows profile's folder name
}

func (w *wine) profile(rel string) string {
	return filepath.Join(w.prefix, "drive_c", "users", w.user, filepath.FromSlash(rel))
}

// result is one finished Windows process.
type result struct {
	stdout, stderr string
	code           int
}

// run runs a Windows program in the prefix and waits for it; a run that
// does not finish within two minutes fails the test (a hang, not a timing
// assertion).
func (w *wine) run(stdin string, prog string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.wine64, append([]string{prog}, args...)...)
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		w.t.Fatalf("%s %s did not finish: %v", prog, strings.Join(args, " "), ctx.Err())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("run %s: %v", prog, err)
	}
	return result{stdout: strings.ReplaceAll(out.String(), "\r\n", "\n"), stderr: strings.ReplaceAll(errb.String(), "\r\n", "\n"), code: code}
}

// wait waits until every process in the prefix has ended (the uninstaller
// re-runs itself from a temporary copy, the installer's children...).
func (w *wine) wait() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(w.wine64), "wineserver"), "-w")
	cmd.Env = w.env
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("wineserver -w: %v\n%s", err, out)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// setupFile is the installer under test: $KEYDESK_WIN_SETUP, else the only
// dist/Keydesk-*-setup.exe.
func setupFile(t *testing.T) string {
	t.Helper()
	if f := os.Getenv("KEYDESK_WIN_SETUP"); f != "" {
		return f
	}
	m, _ := filepath.Glob(filepath.Join(repoRoot(t), "dist", "Keydesk-*-setup.exe"))
	if len(m) != 1 {
		t.Fatalf("want one dist/Keydesk-*-setup.exe (make windows), found %v", m)
	}
	return m[0]
}

// newWine creates the prefix with scripts/wine-prefix.sh (which also
// installs the ProcessPrng stand-in that Wine 8 lacks).
func newWine(t *testing.T) *wine {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	w := &wine{t: t, wine64: "/usr/lib/wine/wine64", prefix: filepath.Join(dir, "wine", "prefix")}
	if v := os.Getenv("WINE64"); v != "" {
		w.wine64 = v
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "WINEPREFIX", "WINEDEBUG", "WINEDLLOVERRIDES", "WINEARCH", "KEYDESK_DATA", "XDG_CONFIG_HOME", "XDG_DATA_HOME":
			continue
		}
		env = append(env, kv)
	}
	w.env = append(env, "HOME="+home, "WINEPREFIX="+w.prefix, "WINEARCH=win64", "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d", "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"))
	start := time.Now()
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "wine-prefix.sh"), filepath.Dir(w.prefix))
	cmd.Env = w.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wine-prefix.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// End this prefix's processes (only this prefix's wineserver).
		k := exec.Command(filepath.Join(filepath.Dir(w.wine64), "wineserver"), "-k")
		k.Env = w.env
		_ = k.Run()
	})
	users, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*"))
	for _, u := range users {
		if b := filepath.Base(u); b != "Public" {
			w.user = b
		}
	}
	if w.user == "" {
		t.Fatalf("no user profile in %s", w.prefix)
	}
	t.Logf("stage wine-prefix: %.1fs", time.Since(start).Seconds())
	return w
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestWindows installs, uses, opens and uninstalls Keydesk; the subtests run
// in order and each stage's time is logged.
func TestWindows(t *testing.T) {
	setup := setupFile(t)
	w := newWine(t)
	installDir := w.profile("AppData/Local/Programs/Keydesk")
	shortcut := w.profile("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Keydesk.lnk")
	dataDir := w.profile("AppData/Roaming/Keydesk")
	const uninstKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Keydesk`
	stage := func(name string, f func(t *testing.T)) {
		start := time.Now()
		ok := t.Run(name, f)
		t.Logf("stage %s: %.1fs", name, time.Since(start).Seconds())
		if !ok {
			t.FailNow()
		}
	}

	// The user's own PATH, which installing extends and uninstalling must
	// give back exactly.
	const userPath = `C:\Tools;C:\Other Tools`
	if r := w.run("", "reg", "add", `HKCU\Environment`, "/v", "Path", "/t", "REG_EXPAND_SZ", "/d", userPath, "/f"); r.code != 0 {
		t.Fatalf("reg add: %q", r.stderr)
	}
	userPathNow := func() string {
		out := w.run("", "reg", "query", `HKCU\Environment`, "/v", "Path").stdout
		_, v, _ := strings.Cut(out, "REG_EXPAND_SZ")
		return strings.TrimSpace(v)
	}

	stage("install", func(t *testing.T) {
		r := w.run("", setup, "/S")
		w.wait()
		if r.code != 0 {
			t.Fatalf("setup /S: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, f := range []string{"Keydesk.exe", "keydesk.com", "uninstall.exe"} {
			if !exists(filepath.Join(installDir, f)) {
				t.Errorf("%s is not installed in %s", f, installDir)
			}
		}
		if !exists(shortcut) {
			t.Errorf("no Start-menu shortcut %s", shortcut)
		}
		if exists(filepath.Join(installDir, "bcryptprimitives.dll")) {
			t.Error("the installer shipped the test-only ProcessPrng stand-in")
		}
		reg := w.run("", "reg", "query", uninstKey)
		for _, want := range []string{"DisplayName", "Keydesk", "DisplayVersion", "UninstallString", `uninstall.exe" /S`} {
			if !strings.Contains(reg.stdout, want) {
				t.Errorf("Apps & features entry lacks %q:\n%s", want, reg.stdout)
			}
		}
		if got, want := userPathNow(), userPath+`;C:\users\`+w.user+`\AppData\Local\Programs\Keydesk`; got != want {
			t.Errorf("user PATH after install = %q, want %q", got, want)
		}
	})

	kd := func(stdin string, args ...string) result {
		t.Helper()
		return w.run(stdin, filepath.Join(installDir, "keydesk.com"), args...)
	}
	okRun := func(t *testing.T, args ...string) string {
		t.Helper()
		r := kd("", args...)
		if r.code != 0 {
			t.Fatalf("keydesk %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	var key struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Key  string `json:"key"`
	}

	stage("cli", func(t *testing.T) {
		t.Run("bad input", func(t *testing.T) {
			r := kd("", "keys", "create", "--section", "messaging=read")
			if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "keydesk: ") || r.stdout != "" {
				t.Errorf("keys create without --name: exit %d, stdout %q, stderr %q; want exit 2 and one sentence", r.code, r.stdout, r.stderr)
			}
			if exists(dataDir) {
				t.Errorf("bad input created the data folder %s", dataDir)
			}
		})
		t.Run("from cmd.exe through PATH", func(t *testing.T) {
			// "keydesk" in cmd.exe finds keydesk.com on the PATH the
			// installer set (.COM before .EXE in PATHEXT).
			r := w.run("", "cmd", "/c", "keydesk --version")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "keydesk version ") {
				t.Errorf("cmd /c keydesk --version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
		t.Run("the window's binary with a command", func(t *testing.T) {
			r := w.run("", filepath.Join(installDir, "Keydesk.exe"), "--help")
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:\r\n  keydesk [") && !strings.Contains(r.stdout, "Usage:\n  keydesk [") {
				t.Errorf("Keydesk.exe --help: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
		t.Run("create", func(t *testing.T) {
			out := okRun(t, "keys", "create", "--json", "--name", "Reporting job", "--section", "messaging=read")
			if err := json.Unmarshal([]byte(out), &key); err != nil || !regexp.MustCompile(`^kdk_[0-9A-Za-z]{49}$`).MatchString(key.Key) {
				t.Fatalf("keys create --json printed %q (%v)", out, err)
			}
			db := filepath.Join(dataDir, "keydesk.db")
			b, err := os.ReadFile(db)
			if err != nil {
				t.Fatalf("the data folder is not in %%AppData%%: %v", err)
			}
			if bytes.Contains(b, []byte(key.Key)) {
				t.Error("keydesk.db holds the secret")
			}
			// Wine keeps the Credential Manager in the registry (user.reg):
			// the store's master key entry is there, the secret is not.
			reg, err := os.ReadFile(filepath.Join(w.prefix, "user.reg"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(reg, []byte("Credential Manager")) || !bytes.Contains(reg, []byte("keydesk:master:")) {
				t.Error("no keydesk:master: entry in the Credential Manager")
			}
			if bytes.Contains(reg, []byte(key.Key)) {
				t.Error("the registry holds the secret")
			}
		})
		t.Run("list", func(t *testing.T) {
			var ks []struct{ ID, Name string }
			out := okRun(t, "keys", "list", "--json")
			if err := json.Unmarshal([]byte(out), &ks); err != nil || len(ks) != 1 || ks[0].ID != key.ID || ks[0].Name != "Reporting job" {
				t.Fatalf("keys list --json: %q (%v)", out, err)
			}
			if text := okRun(t, "keys", "list"); !strings.Contains(text, "Reporting job") {
				t.Errorf("keys list: %q", text)
			}
		})
		t.Run("verify", func(t *testing.T) {
			r := kd(key.Key+"\r\n", "keys", "verify", "--op", "messaging.channels.list", "--json")
			var v struct{ Valid, Allowed bool }
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil || !v.Valid || !v.Allowed {
				t.Errorf("verify the key: exit %d, %q %q", r.code, r.stdout, r.stderr)
			}
			bad := key.Key[:len(key.Key)-1] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(key.Key, "A")]
			if r := kd(bad+"\n", "keys", "verify"); r.code != 1 {
				t.Errorf("verify a changed key: exit %d, want 1 (denied); %q %q", r.code, r.stdout, r.stderr)
			}
		})
		t.Run("rename", func(t *testing.T) {
			okRun(t, "keys", "rename", key.ID, "Nightly report")
			if out := okRun(t, "keys", "list", "--json"); !strings.Contains(out, `"Nightly report"`) {
				t.Errorf("after rename: %q", out)
			}
		})
		t.Run("catalog", func(t *testing.T) {
			if out := okRun(t, "catalog"); !strings.Contains(out, "messaging") {
				t.Errorf("catalog: %q", out)
			}
		})
		t.Run("digest preview", func(t *testing.T) {
			var d struct {
				Slot    time.Time `json:"slot"`
				Subject string    `json:"subject"`
			}
			out := okRun(t, "digest", "preview", "--json")
			if err := json.Unmarshal([]byte(out), &d); err != nil || d.Slot.IsZero() || d.Slot.UTC().Hour() != 11 {
				t.Errorf("digest preview --json: %q (%v)", out, err)
			}
		})
		t.Run("serve and a second instance", func(t *testing.T) { testServe(t, w, installDir, key.Key) })
		t.Run("delete", func(t *testing.T) {
			r := kd("", "keys", "delete", key.ID)
			if r.code != 2 || !strings.Contains(r.stderr, "--yes") {
				t.Errorf("delete without a console or --yes: exit %d, %q; want a refusal", r.code, r.stderr)
			}
			okRun(t, "keys", "delete", key.ID, "--yes")
			if out := okRun(t, "keys", "list", "--json"); strings.Contains(out, key.ID) {
				t.Errorf("the deleted key is still listed: %q", out)
			}
		})
	})

	stage("console", func(t *testing.T) { testConsoleDelete(t, w, filepath.Join(installDir, "keydesk.com")) })

	stage("window", func(t *testing.T) { testWindow(t, w, installDir) })

	stage("uninstall", func(t *testing.T) {
		r := w.run("", filepath.Join(installDir, "uninstall.exe"), "/S")
		w.wait() // the uninstaller finishes from a temporary copy of itself
		if r.code != 0 {
			t.Fatalf("uninstall.exe /S: exit %d", r.code)
		}
		if exists(installDir) {
			left, _ := os.ReadDir(installDir)
			t.Errorf("the install folder is still there: %v", left)
		}
		if exists(shortcut) {
			t.Error("the Start-menu shortcut is still there")
		}
		if r := w.run("", "reg", "query", uninstKey); r.code == 0 {
			t.Errorf("the Apps & features entry is still there:\n%s", r.stdout)
		}
		if got := userPathNow(); got != userPath {
			t.Errorf("user PATH after uninstall = %q, want it back as %q", got, userPath)
		}
		if !exists(filepath.Join(dataDir, "keydesk.db")) {
			t.Error("uninstalling removed the user's data folder")
		}
	})
}

// testServe runs `keydesk serve` under Wine, verifies a key over HTTP from
// Linux, checks that a second Keydesk is refused the data folder meanwhile,
// and that the folder is free again once serve has ended.
func testServe(t *testing.T, w *wine, installDir, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.wine64, filepath.Join(installDir, "keydesk.com"), "serve", "--listen", "127.0.0.1:0")
	cmd.Env = w.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	defer stop()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("serve printed no address: %v\n%s", err, stderr.String())
	}
	url := regexp.MustCompile(`http://[0-9.:]+`).FindString(line)
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}

	post := func(body string) (int, string) {
		t.Helper()
		resp, err := http.Post(url+"/v1/keys/verify", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	body, _ := json.Marshal(map[string]string{"key": key, "operation": "messaging.channels.list"})
	if code, b := post(string(body)); code != 200 || !strings.Contains(b, `"valid":true`) || !strings.Contains(b, `"allowed":true`) {
		t.Errorf("verify over HTTP: %d %s", code, b)
	}
	if code, b := post(`{"key": "kdk_not_a_key"}`); code != 200 || !strings.Contains(b, `"reason":"malformed"`) {
		t.Errorf("verify a malformed key over HTTP: %d %s", code, b)
	}
	if code, b := post(`{"key": `); code < 400 || code >= 500 {
		t.Errorf("broken JSON: %d %s, want 4xx", code, b)
	}

	r := w.run("", filepath.Join(installDir, "keydesk.com"), "keys", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "already open") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("a second Keydesk while serve runs: exit %d, stderr %q; want one sentence saying it is already open", r.code, r.stderr)
	}
	stop()
	if r := w.run("", filepath.Join(installDir, "keydesk.com"), "keys", "list"); r.code != 0 {
		t.Errorf("after serve ended the folder is still locked: exit %d, %q", r.code, r.stderr)
	}
}

// testWindow opens the installed Keydesk.exe (demo data) under the X
// display the test runs on (make test-windows uses xvfb-run -a), waits for
// its window, takes a screenshot and checks it is not blank.
func testWindow(t *testing.T, w *wine, installDir string) {
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("no DISPLAY: run under xvfb-run -a (make test-windows)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.wine64, filepath.Join(installDir, "Keydesk.exe"), "--demo")
	cmd.Env = w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	// Wait for the window to be mapped (xdotool --sync blocks until it
	// is), bounded by the context.
	// The main window's title is "Company API Keys" (GLFW's hidden
	// helper windows share its class, so search by title).
	find := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^(Company API Keys|Keydesk)")
	ids, err := find.Output()
	if err != nil {
		t.Fatalf("no Keydesk window appeared: %v\n%s", err, out.String())
	}
	id := strings.Fields(string(ids))[0]
	geo, _ := exec.Command("xdotool", "getwindowgeometry", id).Output()
	t.Logf("window %s: %s", id, strings.Join(strings.Fields(string(geo)), " "))

	// The window maps before Fyne draws, and shows "Opening your keys…"
	// (about 170 colours) before the key table (over 1,000: text, the
	// orange and red expiry states, icons). Take screenshots until the
	// table is drawn, bounded by ctx.
	const tableColours = 600
	shot := filepath.Join(t.TempDir(), "window.png")
	colours := 0
	for colours < tableColours && ctx.Err() == nil {
		if b, err := exec.CommandContext(ctx, "import", "-window", "root", shot).CombinedOutput(); err != nil {
			t.Fatalf("import: %v\n%s", err, b)
		}
		b, err := exec.CommandContext(ctx, "convert", shot, "-format", "%k", "info:").Output()
		if err != nil {
			t.Fatal(err)
		}
		colours, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		if colours < tableColours {
			// Poll again shortly; the loop is bounded by ctx, and no
			// assertion depends on how long drawing takes.
			_ = exec.CommandContext(ctx, "xdotool", "sleep", "0.5").Run()
		}
	}
	if colours < tableColours {
		t.Fatalf("the screenshot has %d colours: the window is blank or never showed the keys\n%s", colours, out.String())
	}
	if dst := os.Getenv("KEYDESK_WINE_SCREENSHOT"); dst != "" {
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(dst, b, 0o644)
		}
	}
	t.Logf("window screenshot: %d colours", colours)
}

// testConsoleDelete runs `keys delete` on a Windows console (Wine's console
// on a pseudo-terminal that `script` provides): it recognises the console
// and asks before deleting (from a pipe it refuses; see the cli stage). The
// process is ended at the question, which must delete nothing. (Typing the
// answer is left out: Wine 8 switches the terminal to raw mode at an
// unobservable moment, and an answer typed before that arrives as Ctrl+J.)
func testConsoleDelete(t *testing.T, w *wine, kdcom string) {
	r := w.run("", kdcom, "keys", "create", "--json", "--name", "Console delete", "--section", "messaging=read")
	var k struct{ ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &k) != nil || k.ID == "" {
		t.Fatalf("keys create: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if strings.ContainsAny(w.wine64+kdcom, "'") {
		t.Fatal("a quote in a path")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", "'"+w.wine64+"' '"+kdcom+"' keys delete "+k.ID, "/dev/null")
	cmd.Env = w.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("script (util-linux): %v", err)
	}
	var screen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(screen, []byte("[y/N]")) {
		n, err := stdout.Read(buf)
		screen = append(screen, buf[:n]...)
		if err != nil {
			break
		}
	}
	// End keydesk at the question: killing script closes the terminal.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	w.wait()
	if !bytes.Contains(screen, []byte(`Delete key "Console delete" (`+k.ID+`)? [y/N]`)) {
		t.Fatalf("keys delete did not ask on the console: %q", screen)
	}
	if out := w.run("", kdcom, "keys", "list", "--json").stdout; !strings.Contains(out, k.ID) {
		t.Errorf("the key is gone although the question was never answered: %q", out)
	}
	if r := w.run("", kdcom, "keys", "delete", k.ID, "--yes"); r.code != 0 {
		t.Errorf("keys delete --yes: exit %d, %q", r.code, r.stderr)
	}
}
