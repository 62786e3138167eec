package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/pgstore"
)

// gathered reads the replica's metrics as a scrape does: name (with the
// mode for keydesk_replica_follow_mode) -> value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, fam := range fams {
		if fam.GetHelp() == "" {
			t.Errorf("%s has no HELP", fam.GetName())
		}
		for _, m := range fam.Metric {
			name := fam.GetName()
			for _, l := range m.Label {
				name += "/" + l.GetValue()
			}
			out[name] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestMetrics: the replica's metrics follow its data: the signed
// generation moves with each accepted change, a refused state reads as
// degraded, and changes the follower has read but the replica has not
// accepted show as follow lag.
func TestMetrics(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	ctx := context.Background()
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	m := gathered(t, reg)
	gen0 := m["keydesk_replica_signed_generation"]
	if gen0 < 1 || m["keydesk_replica_degraded"] != 0 || m["keydesk_replica_follow_lag_changes"] != 0 ||
		m["keydesk_replica_reconnects_total"] != 0 || m["keydesk_replica_follow_mode/"+pgstore.FollowPoll] != 1 || m["keydesk_replica_follow_mode/"+pgstore.FollowListen] != 0 {
		t.Fatalf("metrics after open: %v", m)
	}
	if age := m["keydesk_replica_data_age_seconds"]; age < 0 || age > 3 {
		t.Errorf("data age after open: %v s", age)
	}

	k, _ := keytest.Create(t, admin, req)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if m = gathered(t, reg); m["keydesk_replica_signed_generation"] != gen0+1 {
		t.Fatalf("generation after a create: %v, want %v", m["keydesk_replica_signed_generation"], gen0+1)
	}

	// Follow the store, then break the set (a deleted key's row put back
	// by a database writer, and a change row for it): the follower reads
	// the change, the replica does not accept it.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	exec(t, ss, `CREATE TABLE saved AS SELECT * FROM keys WHERE id = $1`, k.ID)
	if _, err := admin.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	waitMetrics(t, reg, "the delete accepted", func(m map[string]float64) bool {
		return m["keydesk_replica_signed_generation"] == gen0+2 && m["keydesk_replica_follow_lag_changes"] == 0
	})
	exec(t, ss, `INSERT INTO keys SELECT * FROM saved`)
	exec(t, ss, `INSERT INTO changes (kind, op, name) VALUES ('key', 'insert', $1)`, k.ID)
	m = waitMetrics(t, reg, "the revived row refused", func(m map[string]float64) bool {
		return m["keydesk_replica_degraded"] == 1 && m["keydesk_replica_follow_lag_changes"] >= 1
	})
	if m["keydesk_replica_signed_generation"] != gen0+2 {
		t.Errorf("generation after a refused state: %v, want %v", m["keydesk_replica_signed_generation"], gen0+2)
	}
}

// waitMetrics gathers until ok holds, for at most 20 s.
func waitMetrics(t *testing.T, reg *prometheus.Registry, what string, ok func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := gathered(t, reg)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: metrics %v", what, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
