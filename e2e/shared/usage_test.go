package shared

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// usageAllowed sums the allowed uses of key id that the shared store holds
// for today and yesterday (a run crossing UTC midnight splits them).
func usageAllowed(t *testing.T, storeURL, id string) uint64 {
	t.Helper()
	out := mustKeydesk(t, nil, "--store", storeURL, "keys", "usage", id, "--days", "2", "--json")
	var days []struct {
		Allowed uint64 `json:"allowed"`
	}
	if err := json.Unmarshal([]byte(out), &days); err != nil {
		t.Fatalf("keys usage --json: %v\n%s", err, out)
	}
	var n uint64
	for _, d := range days {
		n += d.Allowed
	}
	return n
}

// TestUsageTwoReplicasAndACrash: two replicas count their uses under their
// own writer ids and the totals are their sum; one is killed (SIGKILL)
// after a write and restarted on its data folder: it goes on from what it
// wrote, so nothing is counted twice, and the window's count of servers
// says two.
func TestUsageTwoReplicasAndACrash(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	id, secret := createKey(t, storeURL, "counted")
	dirA := t.TempDir()
	a := startReplica(t, storeURL, cred, "KEYDESK_DATA="+dirA)
	b := startReplica(t, storeURL, cred)
	use := func(r *replica, n int) {
		t.Helper()
		for range n {
			if got := r.verify(t, secret); got != "ok" {
				t.Fatalf("verify = %s", got)
			}
		}
	}
	use(a, 3)
	use(b, 2)
	// Both write within 10 seconds.
	eventually(t, 30*time.Second, "both replicas wrote their counts", func() bool { return usageAllowed(t, storeURL, id) == 5 })
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	a = startReplica(t, storeURL, cred, "KEYDESK_DATA="+dirA)
	use(a, 1)
	for _, r := range []*replica{a, b} {
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := r.cmd.Wait(); err != nil {
			t.Fatalf("replica did not stop cleanly: %v\n%s", err, r.stderr)
		}
	}
	if n := usageAllowed(t, storeURL, id); n != 6 {
		t.Fatalf("%d allowed uses counted, want 6 (3 + 2 before the crash, 1 after)", n)
	}
	if out := mustKeydesk(t, nil, "--store", storeURL, "keys", "usage", id, "--days", "2"); !strings.Contains(out, "reported by 2 servers") {
		t.Errorf("keys usage printed %q, want it reported by 2 servers", out)
	}
}
