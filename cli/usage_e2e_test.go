package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveOnce runs the real binary's `serve` on s at s.now, sends each body
// to POST /v1/keys/verify, and stops it with SIGTERM (which writes the
// usage counts a last time).
func (s *store) serveOnce(bodies ...string) {
	s.t.Helper()
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--data", s.dir, "--now", s.now.Format(time.RFC3339), "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TZ=UTC", "LANG=C.UTF-8", "KEYDESK_DATA=", "KEYDESK_ALLOW_NOW=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("no address line: %v\n%s", err, stderr.String())
	}
	url := regexp.MustCompile(`http://\S+`).FindString(line)
	for _, body := range bodies {
		resp, err := http.Post(url+"/v1/keys/verify", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("verify answered %d", resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly: %v\n%s", err, stderr.String())
	}
}

type usageDay struct {
	Day     string `json:"day"`
	Allowed uint64 `json:"allowed"`
	Denied  uint64 `json:"denied"`
	Expired uint64 `json:"expired"`
}

// TestUsageThroughServe: uses answered by the real `serve` are counted per
// key and day (allowed, denied, expired) and shown by `keys usage` and
// `keys list`; `keys verify` is not a use; a second run of serve goes on
// from the stored counts rather than counting anything twice; bad input
// is one sentence and exit status 2.
func TestUsageThroughServe(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	k := s.create("--name", "Reader", "--section", "messaging=read", "--expires", "30d")
	old := okJSON[createdKey](&store{t: t, dir: s.dir, now: s.now.Add(-8 * 24 * time.Hour)},
		"keys", "create", "--json", "--name", "Old", "--section", "messaging=read", "--expires", "7d")
	quiet := s.create("--name", "Quiet", "--global")
	body := func(key, op string) string {
		b, _ := json.Marshal(map[string]string{"key": key, "operation": op})
		return string(b)
	}
	allowed, denied := body(k.Key, "messaging.channels.list"), body(k.Key, "messaging.channels.create")
	s.serveOnce(allowed, allowed, allowed, denied, denied, body(old.Key, "messaging.channels.list"), `{"key": "kdk_notakey"}`)
	// An admin's test is not a use.
	if r := s.kd(k.Key, "keys", "verify", "--op", "messaging.channels.create"); r.code != 1 {
		t.Fatalf("keys verify: exit %d", r.code)
	}

	day := s.now.Format(time.DateOnly)
	got := okJSON[[]usageDay](s, "keys", "usage", k.ID, "--json", "--days", "3")
	if len(got) != 3 || got[0] != (usageDay{day, 3, 2, 0}) || got[1] != (usageDay{Day: s.now.AddDate(0, 0, -1).Format(time.DateOnly)}) {
		t.Fatalf("keys usage --json = %+v, want today %s allowed 3, denied 2, then empty days", got, day)
	}
	if got := okJSON[[]usageDay](s, "keys", "usage", old.ID, "--json", "--days", "1"); len(got) != 1 || got[0] != (usageDay{day, 0, 0, 1}) {
		t.Fatalf("keys usage of the expired key = %+v, want expired 1", got)
	}
	table := s.ok("keys", "usage", k.ID, "--days", "2")
	if !strings.Contains(table, day) || !strings.Contains(table, "5 requests in 2 days (3 allowed, 2 denied, 0 expired), reported by 1 server.") {
		t.Errorf("keys usage printed %q", table)
	}

	counts := map[string][2]uint64{}
	for _, l := range s.list() {
		counts[l.ID] = [2]uint64{l.Requests30d, l.Denied30d}
	}
	if counts[k.ID] != [2]uint64{5, 2} || counts[old.ID] != [2]uint64{1, 0} || counts[quiet.ID] != [2]uint64{} {
		t.Errorf("keys list --json requests30d/denied30d = %v", counts)
	}
	if l := s.list("--denied"); len(l) != 1 || l[0].ID != k.ID {
		t.Errorf("keys list --denied = %+v, want only %s", l, k.ID)
	}
	if out := s.ok("keys", "list", "--denied"); !strings.Contains(out, "[2 denied]") || strings.Contains(out, "Quiet") {
		t.Errorf("keys list --denied printed %q", out)
	}

	// The digest of the next slot lists the key with its denied attempts.
	var preview struct {
		Denied []struct {
			ID     string `json:"id"`
			Denied uint64 `json:"denied"`
		} `json:"denied"`
	}
	out := s.ok("digest", "preview", "--json", "--slot", s.now.Add(24*time.Hour).Format(time.RFC3339))
	if err := json.Unmarshal([]byte(out), &preview); err != nil || len(preview.Denied) != 1 || preview.Denied[0].ID != k.ID || preview.Denied[0].Denied != 2 {
		t.Errorf("digest preview --json denied = %+v (%v), want %s with 2", preview.Denied, err, k.ID)
	}

	// A second run of serve on the same day starts from the stored
	// counts: its one use is added once, nothing is counted again.
	s.serveOnce(allowed)
	if got := okJSON[[]usageDay](s, "keys", "usage", k.ID, "--json", "--days", "1"); got[0] != (usageDay{day, 4, 2, 0}) {
		t.Fatalf("after a second serve: %+v, want allowed 4, denied 2", got)
	}
	// Two days later, the denied attempts are no longer recent.
	if r := s.kdAt(s.now.Add(48*time.Hour), "", "keys", "list", "--denied"); r.code != 0 || !strings.Contains(r.stdout, "No key had a denied attempt in the last 24 hours.") {
		t.Errorf("keys list --denied two days later: %d %q", r.code, r.stdout)
	}

	for _, args := range [][]string{
		{"keys", "usage", "nosuchkey"},
		{"keys", "usage", k.ID, "--days", "0"},
		{"keys", "usage", k.ID, "--days", "91"},
		{"keys", "usage"},
	} {
		r := s.kd("", args...)
		if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code != 2 || len(lines) != 1 || r.stdout != "" {
			t.Errorf("keydesk %s: exit %d, stdout %q, stderr %q; want one sentence and exit 2", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}
