package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

// TestLastUsedSurvivesRestart verifies over HTTP, stops the server (which
// flushes on shutdown, long before the 10 s tick) and reopens the data
// folder: the last-used time is on disk.
func TestLastUsedSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	usedAt := f.clock.Now()
	r := f.postVerify(t, map[string]any{"key": secretOf(t, f, "reader"), "operation": "messaging.channels.get"})
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	// A refused verification is no use.
	f.postVerify(t, map[string]any{"key": secretOf(t, f, "msgread"), "operation": "users.list"})
	if n := f.store.setLastUsed.Load(); n != 0 {
		t.Fatalf("%d store writes before shutdown, want 0 (batched)", n)
	}
	f.stop()
	if n := f.store.setLastUsed.Load(); n != 1 {
		t.Fatalf("%d store writes at shutdown, want 1", n)
	}

	b, err := workspace.Open(workspace.Options{Dir: f.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	k, err := b.Store().GetKey(f.keys["reader"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !k.LastUsedAt.Equal(usedAt) {
		t.Fatalf("stored last used %v, want %v", k.LastUsedAt, usedAt)
	}
	other, err := b.Store().GetKey(f.keys["msgread"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !other.LastUsedAt.IsZero() {
		t.Fatalf("a refused key got last used %v", other.LastUsedAt)
	}
	for _, k := range b.Service().List() {
		if k.ID == f.keys["reader"].ID && !k.LastUsedAt.Equal(usedAt) {
			t.Fatalf("reopened service shows last used %v, want %v", k.LastUsedAt, usedAt)
		}
	}
}

// timedStore records when SetLastUsed reaches the real store (on the
// bubble's clock).
type timedStore struct {
	core.Store
	mu     sync.Mutex
	writes []time.Time
}

func (s *timedStore) SetLastUsed(times map[string]time.Time) error {
	s.mu.Lock()
	s.writes = append(s.writes, time.Now())
	s.mu.Unlock()
	return s.Store.SetLastUsed(times)
}

// TestLastUsedBatchedUnderLoad runs Serve (HTTP server and flusher) in a
// synctest bubble, over an in-memory listener, with verification requests
// arriving every 50 ms of fake time for 45 s from 8 clients: the real store
// sees a write at most every 10 s, plus one at shutdown, and ends with the
// last use.
func TestLastUsedBatchedUnderLoad(t *testing.T) {
	dir := t.TempDir()
	keys := createKeys(t, dir)
	b, err := workspace.Open(workspace.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	store := &timedStore{Store: b.Store()}
	var lastUse time.Time
	var requests int

	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts in 2000, before every fixture key expires.
		svc, err := core.NewService(store, b.Keyring().Signer(), core.SystemClock{}, b.Service().Catalog())
		if err != nil {
			t.Fatal(err)
		}
		srv := New(svc, Options{Logger: testLogger(t)})
		ln := newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()
		tr := &http.Transport{DialContext: ln.DialContext}
		c := &http.Client{Transport: tr}
		body, _ := json.Marshal(map[string]string{"key": keys["reader"].Secret, "operation": "messaging.channels.list"})

		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 8 {
			wg.Go(func() {
				for time.Since(start) < 45*time.Second {
					resp, err := c.Post("http://keydesk"+PathVerify, "application/json", bytes.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					var v VerifyResponse
					err = json.NewDecoder(resp.Body).Decode(&v)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || !v.Allowed {
						t.Errorf("verify: %v %+v", err, v)
						return
					}
					mu.Lock()
					requests++
					lastUse = time.Now().UTC()
					mu.Unlock()
					time.Sleep(50 * time.Millisecond) // fake time: the load's pace
				}
			})
		}
		wg.Wait()
		stoppedAt := time.Now()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		tr.CloseIdleConnections()

		store.mu.Lock()
		writes := append([]time.Time(nil), store.writes...)
		store.mu.Unlock()
		// Ticks at 10, 20, 30 and 40 s, and the flush on shutdown.
		if len(writes) != 5 {
			t.Fatalf("%d store writes in 45 s of load, want 5 (every 10 s and on shutdown): %v", len(writes), writes)
		}
		prev := start
		for i, w := range writes[:len(writes)-1] {
			if gap := w.Sub(prev); gap < core.LastUsedFlushInterval {
				t.Errorf("write %d came %v after the previous one, less than %v", i+1, gap, core.LastUsedFlushInterval)
			}
			prev = w
		}
		if last := writes[len(writes)-1]; last.Before(stoppedAt) {
			t.Errorf("the final write at %v came before shutdown at %v", last, stoppedAt)
		}
	})

	if requests < 1000 {
		t.Fatalf("only %d requests made", requests)
	}
	k, err := b.Store().GetKey(keys["reader"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !k.LastUsedAt.Equal(lastUse) {
		t.Fatalf("stored last used %v, want the last request's %v", k.LastUsedAt, lastUse)
	}
}

// pipeListener is an in-memory net.Listener whose connections are net.Pipe
// pairs, so that an HTTP server and client run inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext connects a client to the listener.
func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
