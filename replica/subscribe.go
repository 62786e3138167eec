package replica

import (
	"maps"
	"slices"
	"sync"
)

// Update is what a replica tells its subscribers (Subscribe): the keys it
// changed in its service since the last update, and whether its data is
// current.
type Update struct {
	// IDs are the keys created, changed or removed in the service, in no
	// order; empty when only Degraded changed.
	IDs []string
	// Degraded says the data may be out of date (Health's "degraded").
	Degraded bool
}

// subscriber is one Subscribe: what the follow loop told it and it has
// not handed on yet. The loop only adds to it and wakes its goroutine, so
// a slow subscriber never holds up following; updates it has not taken
// yet merge into one.
type subscriber struct {
	fn   func(Update)
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	pending  map[string]struct{}
	degraded bool // the latest health told
	known    bool // a round has ended since subscribing
	sent     bool // fn was called at least once
	last     bool // Degraded of the last call of fn
}

// Subscribe has fn told of every change the replica makes to its service
// and of its health, from the next round of Run on: fn runs on a goroutine
// of the subscription's own, one call at a time, first once the first
// round ends (with the health then) and later whenever keys changed or the
// health changed. Updates that arrive while fn runs merge into its next
// call, so fn may take its time. The returned function ends the
// subscription, waiting for a call of fn under way.
func (r *Replica) Subscribe(fn func(Update)) (unsubscribe func()) {
	s := &subscriber{fn: fn, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		pending: map[string]struct{}{}}
	r.subMu.Lock()
	r.subs = append(r.subs, s)
	r.subMu.Unlock()
	go s.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.subMu.Lock()
			r.subs = slices.DeleteFunc(r.subs, func(o *subscriber) bool { return o == s })
			r.subMu.Unlock()
			close(s.stop)
			<-s.done
		})
	}
}

// run hands the updates on to fn until the subscription ends.
func (s *subscriber) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		u := Update{Degraded: s.degraded}
		call := s.known && (!s.sent || len(s.pending) > 0 || s.degraded != s.last)
		if call {
			u.IDs = slices.Collect(maps.Keys(s.pending))
			clear(s.pending)
			s.sent, s.last = true, s.degraded
		}
		s.mu.Unlock()
		if call {
			s.fn(u)
		}
	}
}

// changed tells every subscriber that the keys ids changed in the service;
// it never blocks.
func (r *Replica) changed(ids ...string) {
	if len(ids) == 0 {
		return
	}
	r.subMu.Lock()
	defer r.subMu.Unlock()
	for _, s := range r.subs {
		s.mu.Lock()
		for _, id := range ids {
			s.pending[id] = struct{}{}
		}
		s.mu.Unlock()
		s.poke()
	}
}

// roundEnded tells every subscriber the health after a round of Run; it
// never blocks.
func (r *Replica) roundEnded(degraded bool) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	for _, s := range r.subs {
		s.mu.Lock()
		s.degraded, s.known = degraded, true
		s.mu.Unlock()
		s.poke()
	}
}

// poke wakes the subscriber's goroutine (merged with a wake already due).
func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
