package cli_test

// End-to-end tests of the command line: the real keydesk binary, built once
// in TestMain, run against temporary data folders and the real OS keyring
// (a Secret Service: make test-keyring runs these under dbus-run-session
// with an unlocked gnome-keyring and KEYDESK_KEYRING_TESTS=1).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

// binary is the keydesk executable under test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keydesk-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "keydesk")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	// go test puts its own Go's bin folder first on PATH.
	cmd := exec.Command("go", "build", "-tags", "ci,migrated_fynedo", "-o", binary, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build keydesk: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// needKeyring skips a test that needs the real OS keyring unless it runs
// inside the Secret Service session that make test-keyring sets up.
func needKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" || os.Getenv("KEYDESK_KEYRING_TESTS") != "1" {
		t.Skip("needs a real Secret Service: run under scripts/with-keyring.sh (make test-keyring), which sets DBUS_SESSION_BUS_ADDRESS and KEYDESK_KEYRING_TESTS=1")
	}
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// run runs keydesk with args and stdin; it fails the test if the process
// does not finish within a minute (a hang, not a timing assertion).
func run(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "TZ=UTC", "LANG=C.UTF-8", "KEYDESK_DATA=", "KEYDESK_ALLOW_NOW=1")
	cmd.Env = append(cmd.Env, env...)
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("keydesk %s did not finish: %v", strings.Join(args, " "), ctx.Err())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run keydesk %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// store is a temporary data folder with a fixed clock.
type store struct {
	t   *testing.T
	dir string
	now time.Time
}

func newStore(t *testing.T) *store {
	t.Helper()
	return &store{t: t, dir: filepath.Join(t.TempDir(), "data"), now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

// kd runs a command on this store at its clock and returns the result.
func (s *store) kd(stdin string, args ...string) result {
	s.t.Helper()
	return s.kdAt(s.now, stdin, args...)
}

func (s *store) kdAt(now time.Time, stdin string, args ...string) result {
	s.t.Helper()
	full := append([]string{"--data", s.dir, "--now", now.Format(time.RFC3339)}, args...)
	return run(s.t, stdin, nil, full...)
}

// ok runs a command that must succeed and returns its stdout.
func (s *store) ok(args ...string) string {
	s.t.Helper()
	r := s.kd("", args...)
	if r.code != 0 {
		s.t.Fatalf("keydesk %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

type createdKey struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Key       string   `json:"key"`
	Hint      string   `json:"hint"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"createdAt"`
	ExpiresAt string   `json:"expiresAt"`
}

type listedKey struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Hint       string   `json:"hint"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"createdAt"`
	ExpiresAt  string   `json:"expiresAt"`
	Expired    bool     `json:"expired"`
	LastUsedAt *string  `json:"lastUsedAt"`
	Idle       bool     `json:"idle"`
	RolledTo   string   `json:"rolledTo"`
	RolledFrom string   `json:"rolledFrom"`
	// Requests30d and Denied30d are the key's counted uses (usage_e2e_test.go).
	Requests30d uint64 `json:"requests30d"`
	Denied30d   uint64 `json:"denied30d"`
}

// okJSON runs keydesk with args (a --json command), which must succeed,
// and decodes its output strictly: a field the test does not know fails it,
// so that a change of the JSON output shows here.
func okJSON[T any](s *store, args ...string) T {
	s.t.Helper()
	out := s.ok(args...)
	var v T
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		s.t.Fatalf("keydesk %s printed %q: %v", strings.Join(args, " "), out, err)
	}
	return v
}

// create makes a key with --json and decodes it.
func (s *store) create(args ...string) createdKey {
	s.t.Helper()
	return okJSON[createdKey](s, append([]string{"keys", "create", "--json"}, args...)...)
}

func (s *store) list(args ...string) []listedKey {
	s.t.Helper()
	return okJSON[[]listedKey](s, append([]string{"keys", "list", "--json"}, args...)...)
}

var keyRE = regexp.MustCompile(`^kdk_[0-9A-Za-z]{49}$`)

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestCreateEachPermissionKind(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	tests := []struct {
		name    string
		args    []string
		scopes  []string
		expires time.Time
	}{
		{"global default 7 days", []string{"--global"}, []string{"*:*"}, s.now.Add(7 * 24 * time.Hour)},
		{"global 36h", []string{"--global", "--expires", "36h"}, []string{"*:*"}, s.now.Add(36 * time.Hour)},
		{"sections default 12 months", []string{"--section", "messaging=read", "--section", "users=full"},
			[]string{"messaging:read", "users:*"}, s.now.AddDate(0, 12, 0)},
		{"operations 30d", []string{"--op", "messaging.channels.list", "--op", "users.list", "--expires", "30d"},
			[]string{"messaging:ListChannels", "users:ListUsers"}, s.now.Add(30 * 24 * time.Hour)},
		{"exactly 1 hour", []string{"--section", "pbx=read", "--expires", "1h"}, []string{"pbx:read"}, s.now.Add(time.Hour)},
		{"exactly 12 months as RFC 3339", []string{"--section", "pbx=full", "--expires", rfc(s.now.AddDate(0, 12, 0))},
			[]string{"pbx:*"}, s.now.AddDate(0, 12, 0)},
		{"global exactly 7 days", []string{"--global", "--expires", "7d"}, []string{"*:*"}, s.now.Add(7 * 24 * time.Hour)},
		{"6 months", []string{"--op", "messaging.channels.list", "--expires", "6mo"}, []string{"messaging:ListChannels"}, s.now.AddDate(0, 6, 0)},
	}
	made := map[string]createdKey{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			k := s.create(append([]string{"--name", tc.name}, tc.args...)...)
			if !keyRE.MatchString(k.Key) || core.CheckKey(k.Key) != nil {
				t.Errorf("key %q is not a valid Keydesk key", k.Key)
			}
			if k.Hint != k.Key[:7] {
				t.Errorf("hint %q, want the first 7 characters of the key", k.Hint)
			}
			if k.Name != tc.name || strings.Join(k.Scopes, " ") != strings.Join(tc.scopes, " ") {
				t.Errorf("created %q with scopes %v, want %q with %v", k.Name, k.Scopes, tc.name, tc.scopes)
			}
			if k.CreatedAt != rfc(s.now) || k.ExpiresAt != rfc(tc.expires) {
				t.Errorf("created %s expires %s, want %s and %s", k.CreatedAt, k.ExpiresAt, rfc(s.now), rfc(tc.expires))
			}
			made[k.ID] = k
		})
	}
	s.t = t
	listed := s.list()
	if len(listed) != len(made) {
		t.Fatalf("list has %d keys, want %d", len(listed), len(made))
	}
	for _, l := range listed {
		c, ok := made[l.ID]
		if !ok {
			t.Fatalf("list has unknown id %s", l.ID)
		}
		if l.Name != c.Name || l.Hint != c.Hint || l.CreatedAt != c.CreatedAt || l.ExpiresAt != c.ExpiresAt ||
			strings.Join(l.Scopes, " ") != strings.Join(c.Scopes, " ") || l.Expired || l.LastUsedAt != nil {
			t.Errorf("listed %+v does not match created %+v", l, c)
		}
	}
	// No secret reaches the data folder, the list or the audit log.
	text := s.ok("keys", "list") + s.ok("audit", "--json") + s.ok("audit")
	files, _ := filepath.Glob(filepath.Join(s.dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text += string(b)
	}
	for _, k := range made {
		if strings.Contains(text, k.Key) || strings.Contains(text, k.Key[4:]) {
			t.Errorf("the secret of %q appears in the data folder, list or audit log", k.Name)
		}
	}
}

func TestCreateHumanOutputShowsSecretOnce(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	out := s.ok("keys", "create", "--name", "Billing export", "--section", "history=read", "--expires", "90d")
	secret := regexp.MustCompile(`kdk_[0-9A-Za-z]{49}`).FindString(out)
	if secret == "" || core.CheckKey(secret) != nil {
		t.Fatalf("no valid secret in create output:\n%s", out)
	}
	for _, want := range []string{`Created key "Billing export"`, "history:read", "only time the key is shown", "Section access", "2026-05-30 10:00 UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	// A second key with the same name is created, with a note.
	r := s.kd("", "keys", "create", "--name", "billing export", "--global")
	if r.code != 0 || !strings.Contains(r.stderr, "also named") {
		t.Errorf("duplicate name: exit %d, stderr %q; want success and a note", r.code, r.stderr)
	}
	list := s.ok("keys", "list")
	if strings.Contains(list, secret) || !strings.Contains(list, secret[:7]+"…") {
		t.Errorf("list must show the hint %s… and never the secret:\n%s", secret[:7], list)
	}
}

func TestListFilters(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	short := s.create("--name", "Short lived", "--op", "users.list", "--expires", "1h")
	soon := s.create("--name", "Expiring soon", "--section", "users=read", "--expires", "3d")
	long := s.create("--name", "Long lived", "--section", "users=full")
	later := s.now.Add(2 * time.Hour) // short has expired, soon expires within 7 days
	ids := func(ks []listedKey) string {
		var out []string
		for _, k := range ks {
			out = append(out, k.ID)
		}
		return strings.Join(out, ",")
	}
	listAt := func(args ...string) []listedKey {
		t.Helper()
		r := s.kdAt(later, "", append([]string{"keys", "list", "--json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("list %v: exit %d %s", args, r.code, r.stderr)
		}
		var ks []listedKey
		if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	tests := []struct {
		args []string
		want []createdKey
	}{
		{nil, []createdKey{short, soon, long}},
		{[]string{"--expired"}, []createdKey{short}},
		{[]string{"--active"}, []createdKey{soon, long}},
	}
	for _, tc := range tests {
		got := listAt(tc.args...)
		gotIDs := map[string]bool{}
		for _, k := range got {
			gotIDs[k.ID] = true
			if k.Expired != (k.ID == short.ID) {
				t.Errorf("%s: key %s expired=%v", tc.args, k.Name, k.Expired)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("list %v = %s, want %d keys", tc.args, ids(got), len(tc.want))
		}
		for _, w := range tc.want {
			if !gotIDs[w.ID] {
				t.Errorf("list %v lacks %s", tc.args, w.Name)
			}
		}
	}
	text := s.kdAt(later, "", "keys", "list").stdout
	for _, want := range []string{"NAME", "Short lived  [Expired]", "3 keys · 1 expired · 1 expiring within 7 days"} {
		if !strings.Contains(text, want) {
			t.Errorf("list text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Long lived  [Expired]") {
		t.Errorf("an active key is marked expired:\n%s", text)
	}
	if out := s.kdAt(later, "", "keys", "list", "--expired").stdout; strings.Contains(out, "Long lived") || !strings.Contains(out, "Short lived") {
		t.Errorf("list --expired text:\n%s", out)
	}
}

func TestRenameAndDelete(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	k := s.create("--name", "Old name", "--section", "kite=read")
	if out := s.ok("keys", "rename", k.ID, "New name ✓"); !strings.Contains(out, `"New name ✓"`) {
		t.Errorf("rename printed %q", out)
	}
	if l := s.list(); len(l) != 1 || l[0].Name != "New name ✓" || l[0].ExpiresAt != k.ExpiresAt {
		t.Fatalf("after rename, list = %+v", l)
	}
	// The key still verifies after a rename.
	if r := s.kd(k.Key+"\n", "keys", "verify", "--scope", "kite:read"); r.code != 0 {
		t.Fatalf("verify after rename: exit %d %s", r.code, r.stderr)
	}
	// Without --yes and without a terminal, delete refuses and keeps the key.
	r := s.kd("y\n", "keys", "delete", k.ID)
	if r.code != 2 || !strings.Contains(r.stderr, "--yes") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("delete without --yes: exit %d, stderr %q", r.code, r.stderr)
	}
	if len(s.list()) != 1 {
		t.Fatal("delete without --yes removed the key")
	}
	if out := s.ok("keys", "delete", "--yes", k.ID); !strings.Contains(out, "Deleted key") {
		t.Errorf("delete printed %q", out)
	}
	if l := s.list(); len(l) != 0 {
		t.Fatalf("after delete, list = %+v", l)
	}
	// The audit log has the three changes, newest first, with the user.
	var events []struct {
		Action, KeyID, KeyName, Actor string
	}
	if err := json.Unmarshal([]byte(s.ok("audit", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		if e.KeyID != k.ID || e.Actor == "" {
			t.Errorf("audit event %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "key.delete key.rename key.create" {
		t.Errorf("audit actions = %q", got)
	}
}

func TestVerify(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	k := s.create("--name", "Reader", "--section", "messaging=read", "--expires", "7d")
	gone := s.create("--name", "Gone", "--global")
	s.ok("keys", "delete", gone.ID, "--yes")
	var random [32]byte
	rand.Read(random[:])
	neverIssued := core.FormatKey(random)
	// Change the last checksum character: a typo the checksum catches.
	badSum := k.Key[:len(k.Key)-1] + "0"
	if strings.HasSuffix(k.Key, "0") {
		badSum = k.Key[:len(k.Key)-1] + "1"
	}
	tests := []struct {
		name   string
		stdin  string
		now    time.Time
		args   []string
		code   int
		reason string
		says   string
	}{
		{"allowed read operation", k.Key + "\n", s.now, []string{"--op", "messaging.channels.list"}, 0, "ok", "allows operation messaging.channels.list"},
		{"allowed read scope", "  " + k.Key + "  \nignored\n", s.now, []string{"--scope", "messaging:read"}, 0, "ok", "allows scope messaging:read"},
		{"valid, no target", k.Key, s.now, nil, 0, "ok", "The key is valid."},
		{"forbidden write operation", k.Key, s.now, []string{"--op", "messaging.channels.create"}, 1, "forbidden", "do not allow"},
		{"forbidden other section", k.Key, s.now, []string{"--scope", "users:read"}, 1, "forbidden", "do not allow"},
		{"malformed", "kdk_notakey\n", s.now, nil, 1, "malformed", "not a Keydesk key"},
		{"bad checksum", badSum, s.now, nil, 1, "bad_checksum", "checksum"},
		{"never issued", neverIssued, s.now, nil, 1, "unknown", "No such key"},
		{"deleted", gone.Key, s.now, nil, 1, "unknown", "No such key"},
		{"expired", k.Key, s.now.Add(7 * 24 * time.Hour), []string{"--op", "messaging.channels.list"}, 1, "expired", "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			r := s.kdAt(tc.now, tc.stdin, append([]string{"keys", "verify"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.code == 0 {
				if !strings.Contains(r.stdout, tc.says) || !strings.Contains(r.stdout, k.ID) || !strings.Contains(r.stdout, `"Reader"`) || r.stderr != "" {
					t.Errorf("allowed verify printed %q / %q", r.stdout, r.stderr)
				}
			} else {
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || !strings.Contains(lines[0], tc.says) {
					t.Errorf("denied verify stderr %q, want one sentence containing %q", r.stderr, tc.says)
				}
			}
			if strings.Contains(r.stdout+r.stderr, strings.TrimSpace(tc.stdin)) && tc.reason != "malformed" {
				t.Errorf("verify echoed the secret")
			}
			// The JSON answer carries the machine-readable reason.
			j := s.kdAt(tc.now, tc.stdin, append([]string{"keys", "verify", "--json"}, tc.args...)...)
			var v struct {
				Valid, Allowed bool
				Reason         string
			}
			if err := json.Unmarshal([]byte(j.stdout), &v); err != nil || j.code != tc.code || v.Reason != tc.reason || v.Allowed != (tc.code == 0) {
				t.Errorf("verify --json: exit %d, %q (%v); want exit %d reason %s", j.code, j.stdout, err, tc.code, tc.reason)
			}
		})
	}
	s.t = t
	// keys verify is an admin's test, not a use: Last used stays empty.
	l := s.list()
	if len(l) != 1 || l[0].LastUsedAt != nil {
		t.Errorf("after keys verify, lastUsedAt = %v, want none", l[0].LastUsedAt)
	}
}

// Every bad input gets one sentence on stderr, exit status 2, and changes
// nothing: the list and the audit log are the same before and after.
func TestBadInputChangesNothing(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	k := s.create("--name", "Keep me", "--section", "info=read")
	badCatalog := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(badCatalog, []byte(`{"sections": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return rfc(s.now.Add(d)) }
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"empty name", []string{"keys", "create", "--name", "", "--global"}, "name"},
		{"whitespace name", []string{"keys", "create", "--name", " \t ", "--global"}, "name"},
		{"101-character name", []string{"keys", "create", "--name", strings.Repeat("é", 101), "--global"}, "longer than 100"},
		{"control character name", []string{"keys", "create", "--name", "bad\x07name", "--global"}, "control characters"},
		{"lifetime under 1 hour", []string{"keys", "create", "--name", "x", "--global", "--expires", at(59 * time.Minute)}, "at least 1 hour"},
		{"lifetime over 12 months", []string{"keys", "create", "--name", "x", "--section", "info=read", "--expires", "13mo"}, "at most 12 months"},
		{"12 months and 1 second", []string{"keys", "create", "--name", "x", "--section", "info=read", "--expires", rfc(s.now.AddDate(0, 12, 0).Add(time.Second))}, "at most 12 months"},
		{"global over 7 days", []string{"keys", "create", "--name", "x", "--global", "--expires", "8d"}, "at most 7 days"},
		{"global 7 days and 1 second", []string{"keys", "create", "--name", "x", "--global", "--expires", at(7*24*time.Hour + time.Second)}, "at most 7 days"},
		{"bad lifetime", []string{"keys", "create", "--name", "x", "--global", "--expires", "soon"}, "duration such as"},
		{"unknown section", []string{"keys", "create", "--name", "x", "--section", "nosuch=read"}, `nknown section "nosuch"`},
		{"bad section access", []string{"keys", "create", "--name", "x", "--section", "info=write"}, "ID=read or ID=full"},
		{"unknown operation", []string{"keys", "create", "--name", "x", "--op", "no.such.op"}, `nknown operation "no.such.op"`},
		{"global with section", []string{"keys", "create", "--name", "x", "--global", "--section", "info=read"}, "exactly one kind of permission"},
		{"global with operation", []string{"keys", "create", "--name", "x", "--global", "--op", "users.list"}, "exactly one kind of permission"},
		{"section with operation", []string{"keys", "create", "--name", "x", "--section", "info=read", "--op", "users.list"}, "exactly one kind of permission"},
		{"no permission", []string{"keys", "create", "--name", "x"}, "--global, --section"},
		{"rename unknown id", []string{"keys", "rename", "0000000000000000", "New"}, "no key has the id"},
		{"rename to empty name", []string{"keys", "rename", k.ID, "  "}, "name"},
		{"rename to 101 characters", []string{"keys", "rename", k.ID, strings.Repeat("n", 101)}, "longer than 100"},
		{"delete unknown id", []string{"keys", "delete", "0000000000000000", "--yes"}, "no key has the id"},
		{"delete without --yes", []string{"keys", "delete", k.ID}, "--yes"},
		{"verify unknown operation", []string{"keys", "verify", "--op", "no.such.op"}, "nknown operation"},
		{"catalog file not JSON", []string{"--catalog", badCatalog, "keys", "create", "--name", "x", "--global"}, "not a valid catalog"},
		{"missing catalog file", []string{"--catalog", badCatalog + ".missing", "keys", "list"}, "cannot read the catalog file"},
		{"unknown flag", []string{"keys", "create", "--name", "x", "--global", "--forever"}, "flag provided but not defined"},
		{"both list filters", []string{"keys", "list", "--expired", "--active"}, "either --expired or --active"},
		{"unknown command", []string{"launch"}, "unknown command"},
		{"bad --now", []string{"keys", "list"}, "RFC 3339"},
	}
	before := s.ok("keys", "list", "--json")
	auditBefore := s.ok("audit", "--json")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			var r result
			if tc.name == "bad --now" {
				r = run(t, "", nil, append([]string{"--data", s.dir, "--now", "yesterday"}, tc.args...)...)
			} else {
				r = s.kd(k.Key+"\n", tc.args...)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || !containsFold(lines[0], tc.says) {
				t.Errorf("exit %d, stderr %q; want exit 2 and one sentence containing %q", r.code, r.stderr, tc.says)
			}
			if r.stdout != "" || strings.Contains(r.stderr, k.Key) {
				t.Errorf("stdout %q (want nothing), stderr must not hold the secret", r.stdout)
			}
		})
	}
	s.t = t
	if after := s.ok("keys", "list", "--json"); after != before {
		t.Errorf("bad input changed the keys:\nbefore %s\nafter %s", before, after)
	}
	if after := s.ok("audit", "--json"); after != auditBefore {
		t.Errorf("bad input changed the audit log:\nbefore %s\nafter %s", auditBefore, after)
	}
}

// A second process on a data folder that is in use fails fast with one
// sentence and touches nothing.
func TestSecondProcessOnSameFolder(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	s.create("--name", "Held", "--global")
	before := s.ok("keys", "list", "--json")
	db, err := bolt.Open(storage.Path(s.dir), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("hold the database: %v", err)
	}
	for _, args := range [][]string{{"keys", "list"}, {"keys", "create", "--name", "Second", "--global"}, {"audit"}} {
		r := s.kd("", args...)
		if r.code != 1 || strings.TrimSpace(r.stderr) != "keydesk: Keydesk is already open on this data folder." {
			t.Errorf("%v while the folder is held: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after := s.ok("keys", "list", "--json"); after != before {
		t.Errorf("the second process changed the store:\n%s\n%s", before, after)
	}
}

// Without a reachable Secret Service, a command says so in one sentence and
// writes nothing: not even the data folder is created.
func TestKeyringUnavailable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is the Linux keyring")
	}
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, "", []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")},
		"--data", dir, "keys", "create", "--name", "x", "--global")
	if r.code != 1 || !strings.Contains(r.stderr, "keyring") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one sentence about the keyring", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data folder was created without a keyring (stat: %v)", err)
	}
}

// The catalog command needs no data folder: it works without a keyring.
func TestCatalog(t *testing.T) {
	r := run(t, "", nil, "catalog", "--json")
	if r.code != 0 {
		t.Fatalf("catalog --json: exit %d %s", r.code, r.stderr)
	}
	cat, err := core.ParseCatalog([]byte(r.stdout))
	if err != nil {
		t.Fatalf("catalog --json is not a valid catalog: %v", err)
	}
	if got, want := cat.OperationCount(), core.DefaultCatalog().OperationCount(); got != want {
		t.Errorf("catalog --json has %d operations, want %d", got, want)
	}
	// The output is a valid --catalog file; a search narrows it.
	file := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(file, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"catalog", "--search", "list channels"}, []string{"messaging.channels.list", "3 of 99 operations"}, []string{"users.list"}},
		{[]string{"--catalog", file, "catalog", "--search", "PBX"}, []string{"PBX API", "pbx:read"}, []string{"messaging.channels.list"}},
		{[]string{"catalog"}, []string{"10 sections, 99 operations", "Messaging (section messaging", "users.list"}, nil},
		{[]string{"catalog", "--search", "zzzz-nothing"}, []string{`No operation matches "zzzz-nothing"`}, nil},
	}
	for _, tc := range tests {
		r := run(t, "", nil, tc.args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d %s", tc.args, r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v lacks %q", tc.args, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.stdout, n) {
				t.Errorf("%v should not show %q", tc.args, n)
			}
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// --data wins over KEYDESK_DATA, which wins over the OS default.
func TestDataFolderSelection(t *testing.T) {
	needKeyring(t)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if r := run(t, "", []string{"KEYDESK_DATA=" + a}, "keys", "create", "--name", "In A", "--global"); r.code != 0 {
		t.Fatalf("create with KEYDESK_DATA: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(storage.Path(a)); err != nil {
		t.Fatalf("KEYDESK_DATA was not used: %v", err)
	}
	tests := []struct {
		env  []string
		args []string
		want int
	}{
		{nil, []string{"--data", a}, 1},
		{[]string{"KEYDESK_DATA=" + a}, nil, 1},
		{[]string{"KEYDESK_DATA=" + a}, []string{"--data", b}, 0},
	}
	for _, tc := range tests {
		r := run(t, "", tc.env, append(tc.args, "keys", "list", "--json")...)
		var ks []listedKey
		if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil || r.code != 0 || len(ks) != tc.want {
			t.Errorf("env %v args %v: exit %d, %d keys (%v), want %d", tc.env, tc.args, r.code, len(ks), err, tc.want)
		}
	}
}

// Shell completion (as the scripts of `keydesk completion SHELL` ask for
// it) offers the stored keys' ids with their names, read through the real
// keyring, and the catalog's operation ids.
func TestCompletionOfKeyIDs(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	a := s.create("--name", "CRM sync", "--section", "users=read")
	b := s.create("--name", "Billing export", "--global")
	r := run(t, "", nil, "__complete", "--data", s.dir, "keys", "delete", "")
	if r.code != 0 || !strings.Contains(r.stdout, a.ID+"\tCRM sync\n") || !strings.Contains(r.stdout, b.ID+"\tBilling export\n") {
		t.Errorf("__complete keys delete: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, a.Key) || strings.Contains(r.stdout, b.Key) {
		t.Error("completion printed a secret")
	}
	r = run(t, "", nil, "__complete", "keys", "create", "--op", "users.li")
	if r.code != 0 || !strings.Contains(r.stdout, "users.list\t") {
		t.Errorf("__complete --op: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := run(t, "", nil, "completion", shell); r.code != 0 || !strings.Contains(r.stdout, "keydesk") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, r.code, len(r.stdout), r.stderr)
		}
	}
}

// --now on a real data folder (a Global key living until 2200, a made-up
// audit time) is refused without KEYDESK_ALLOW_NOW=1, touching nothing.
func TestNowRefusedOnRealData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, "", []string{"KEYDESK_ALLOW_NOW="}, "--data", dir, "--now", "2200-01-01T00:00:00Z", "keys", "create", "--name", "Forever", "--global")
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || !strings.Contains(lines[0], "--demo") || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one sentence", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the refused run touched the data folder (stat: %v)", err)
	}
}

// --demo is a throw-away store with sample keys and an in-memory keyring:
// it needs no Secret Service and leaves nothing behind.
func TestDemoStore(t *testing.T) {
	now := "2026-11-27T10:00:00Z"
	r := run(t, "", nil, "--demo", "--now", now, "keys", "list", "--json")
	if r.code != 0 {
		t.Fatalf("--demo keys list: exit %d %s", r.code, r.stderr)
	}
	var ks []listedKey
	if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, k := range ks {
		if k.Expired {
			expired++
		}
	}
	if len(ks) < 10 || expired == 0 || expired == len(ks) {
		t.Errorf("demo store has %d keys, %d expired; want a realistic mix", len(ks), expired)
	}
	// Each run is a new store: a key created in one run is not in the next.
	if r := run(t, "", nil, "--demo", "--now", now, "keys", "create", "--name", "Only here", "--global"); r.code != 0 {
		t.Fatalf("--demo create: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "", nil, "--demo", "--now", now, "keys", "list"); strings.Contains(r.stdout, "Only here") {
		t.Error("a demo key survived into the next run")
	}
}
