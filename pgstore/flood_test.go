package pgstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
)

// floodBatch is how many notifications one flooding transaction sends.
const floodBatch = 1000

// notifyFlood sends n notifications on ChangeChannel from a connection of
// its own, as any role that can connect may: payloads of 7,999 bytes
// (PostgreSQL's largest) that are no change number, and every tenth one a
// change number far ahead (a well-formed hint that announces nothing). It
// returns once the notifications are committed and every listener has
// read them from the server's queue.
func notifyFlood(u string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for i := 0; i < n; i += floodBatch {
		if _, err := conn.Exec(ctx, `SELECT pg_notify($1, CASE WHEN i % 10 = 0 THEN (9000000000000000000 + i)::text
			ELSE lpad(i::text, 7999, 'x') END) FROM generate_series($2::int, $3::int) i`, ChangeChannel, i, min(i+floodBatch, n)-1); err != nil {
			return fmt.Errorf("flood: %w", err)
		}
	}
	for {
		var usage float64
		if err := conn.QueryRow(ctx, `SELECT pg_notification_queue_usage()`).Scan(&usage); err != nil {
			return err
		}
		if usage == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the listeners did not read the flood within 5 minutes")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// heapPeak samples the Go heap in use until stop is called, which returns
// the highest figure seen.
func heapPeak() (stop func() uint64) {
	var peak uint64
	var ms runtime.MemStats
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// heapInuse returns the Go heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestFollowerUnderANotifyFlood: 20,000 notifications of 8 KB (and
// well-formed hints that announce nothing) sent on the change channel do
// not queue in the follower: its heap stays within 32 MB of what it was
// (the flood is 160 MB; pgx's queue held 70 MB of it), and a change made
// after the flood arrives.
func TestFollowerUnderANotifyFlood(t *testing.T) {
	s, u := newStore(t)
	_, changes, statuses := startFollower(t, s, 0, FollowOptions{})
	expectStatus(t, statuses, true)
	insert(t, s, "before")
	expectChanges(t, changes, "1 key insert before")

	base := heapInuse()
	stop := heapPeak()
	if err := notifyFlood(u, 20000); err != nil {
		t.Fatal(err)
	}
	insert(t, s, "after")
	expectChanges(t, changes, "2 key insert after")
	peak := stop()
	t.Logf("heap in use: %.1f MB before the flood, at most %.1f MB during it", float64(base)/1e6, float64(peak)/1e6)
	if peak > base+32<<20 {
		t.Fatalf("the follower's heap grew from %.1f MB to %.1f MB under the flood", float64(base)/1e6, float64(peak)/1e6)
	}
}

// BenchmarkNotifyFlood sends 100,000 notifications of 7,999 bytes (800 MB,
// one in ten a well-formed hint announcing nothing) to a running follower
// while a key is created every 250 ms, and reports the follower's Go heap
// in use (before, the highest during, and after the flood) and how long
// those keys took to reach it (median and worst). Target: the heap stays
// flat, changes arrive within a second (the heartbeat).
func BenchmarkNotifyFlood(b *testing.B) {
	const flood = 100000
	s, u := newStore(b)
	arrived := make(chan time.Time, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := s.Follower(0, func(Change) { arrived <- time.Now() }, FollowOptions{})
	go f.Run(ctx)
	for !f.Status().Connected { // start-up only, outside the measurement
		runtime.Gosched()
	}
	var base, peak, after uint64
	var lat []time.Duration
	n := 0
	for b.Loop() {
		base = heapInuse()
		stop := heapPeak()
		done := make(chan error, 1)
		go func() { done <- notifyFlood(u, flood) }()
		t := time.NewTicker(250 * time.Millisecond)
	flooding:
		for {
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
				break flooding
			case <-t.C:
			}
			n++
			k := benchKey(n, time.Now().UTC())
			start := time.Now()
			if err := s.InsertKey(k, core.AuditEvent{Time: start.UTC(), Actor: "bench", Action: core.ActionCreate, KeyID: k.ID}); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-arrived:
				lat = append(lat, at.Sub(start))
			case <-time.After(30 * time.Second):
				b.Fatal("a change did not reach the follower within 30 s")
			}
		}
		t.Stop()
		peak = stop()
		after = heapInuse()
	}
	if len(lat) == 0 {
		b.Fatal("no change was made during the flood")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(base)/1e6, "heap-before-MB")
	b.ReportMetric(float64(peak)/1e6, "heap-peak-MB")
	b.ReportMetric(float64(after)/1e6, "heap-after-MB")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lat)), "changes")
}
