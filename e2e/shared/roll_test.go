package shared

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// rollKey runs `keys roll ID --grace GRACE --json` on the admin command
// line and returns the new key's id and secret.
func rollKey(t testing.TB, storeURL, id, grace string) (newID, secret string) {
	t.Helper()
	out := mustKeydesk(t, nil, "--store", storeURL, "keys", "roll", id, "--grace", grace, "--json")
	var r struct {
		ID         string `json:"id"`
		Key        string `json:"key"`
		RolledFrom string `json:"rolledFrom"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" || r.Key == "" || r.RolledFrom != id {
		t.Fatalf("keys roll --json: %v\n%s", err, out)
	}
	return r.ID, r.Key
}

// One admin (the command line) and two replicas: `keys roll ID --grace 0`
// makes both refuse the old key (expired) and accept the new one within
// 1 s; with a grace period both go on accepting the old key too. A replica
// started afterwards accepts the store's signed state, and a second roll of
// the same key is refused in one sentence.
func TestRollReachesBothReplicas(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	id, secret := createKey(t, storeURL, "rolled at once")
	graced, gracedSecret := createKey(t, storeURL, "rolled with grace")
	a := startReplica(t, storeURL, cred)
	b := startReplica(t, storeURL, cred)
	for _, r := range []*replica{a, b} {
		for _, s := range []string{secret, gracedSecret} {
			if got := r.verify(t, s); got != "ok" {
				t.Fatalf("before the rolls: %s", got)
			}
		}
	}

	newID, newSecret := rollKey(t, storeURL, id, "0")
	var slowest time.Duration
	for _, r := range []*replica{a, b} {
		took := eventually(t, time.Second, "after `keys roll --grace 0` a replica refuses the old key and accepts the new", func() bool {
			return r.verify(t, secret) == "expired" && r.verify(t, newSecret) == "ok"
		})
		slowest = max(slowest, took)
	}
	t.Logf("roll --grace 0 reached both replicas %v after the command returned", slowest)

	_, gracedNew := rollKey(t, storeURL, graced, "1h")
	for _, r := range []*replica{a, b} {
		eventually(t, time.Second, "after `keys roll --grace 1h` a replica accepts the new key", func() bool { return r.verify(t, gracedNew) == "ok" })
		if got := r.verify(t, gracedSecret); got != "ok" {
			t.Fatalf("the old key during its grace period: %s", got)
		}
		if h := r.health(t); h.Status != "ok" {
			t.Fatalf("healthz after the rolls = %+v", h)
		}
	}

	// The links, as the admin lists them.
	var keys []struct {
		ID         string `json:"id"`
		RolledTo   string `json:"rolledTo"`
		RolledFrom string `json:"rolledFrom"`
	}
	out := mustKeydesk(t, nil, "--store", storeURL, "keys", "list", "--json")
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, out)
	}
	links := map[string][2]string{}
	for _, k := range keys {
		links[k.ID] = [2]string{k.RolledTo, k.RolledFrom}
	}
	if links[id][0] != newID || links[newID][1] != id {
		t.Fatalf("keys list --json links: %v", links)
	}

	// A replica started now accepts the signed state the rolls left.
	c := startReplica(t, storeURL, cred)
	for s, want := range map[string]string{secret: "expired", newSecret: "ok", gracedSecret: "ok", gracedNew: "ok"} {
		if got := c.verify(t, s); got != want {
			t.Fatalf("a replica started after the rolls: %s, want %s", got, want)
		}
	}
	// Rolling the rolled key again: one sentence, exit 2, nothing written.
	out, errs, code := keydesk(t, "", nil, "--store", storeURL, "keys", "roll", id, "--grace", "0")
	if code != 2 || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "already") {
		t.Fatalf("a second roll of the same key: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if after := mustKeydesk(t, nil, "--store", storeURL, "keys", "list", "--json"); strings.Count(after, `"id"`) != 4 {
		t.Fatalf("keys after the refused roll:\n%s", after)
	}
}
