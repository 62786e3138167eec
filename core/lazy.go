package core

import (
	"runtime"
	"sync"
)

// Lazy checks: a service that checks each record's MAC or signature at its
// first use instead of at load (NewLazyService, NewLazyVerifyService), and
// holds verifications until the store's own checks end (VerifyAfter).

// NewLazyVerifyService is NewVerifyService that checks each record's
// signature at the record's first verification instead of at load: a
// server with 100,000 Ed25519-signed records answers within a second of
// start instead of after 100,000 signature checks. List does not flag a
// record whose signature was not checked yet (CheckRecords checks them
// all).
func NewLazyVerifyService(store Store, signer RecordVerifier, clock Clock, catalog *Catalog) (*Service, error) {
	return newService(store, signer, clock, catalog, true)
}

// NewLazyService is NewService that checks each record's MAC later, as
// NewLazyVerifyService does: at its first verification, before Get,
// Rename, Roll or Delete hand it out or act on it, or when CheckRecords
// runs (the window runs it once its table is on screen). A tampered record
// is refused at its first use all the same; only List does not flag it
// until it was checked.
func NewLazyService(store Store, signer Signer, clock Clock, catalog *Catalog) (*Service, error) {
	s, err := newService(store, signer, clock, catalog, true)
	if err != nil {
		return nil, err
	}
	s.admin = signer
	return s, nil
}

// gate holds verifications until ready is closed (see VerifyAfter).
type gate struct {
	ready <-chan struct{}
	start func()
}

// VerifyAfter makes every verification wait until ready is closed: the
// opener of a store whose records are still being checked against their
// signed set (a data folder's seal, run after the window's table is on
// screen) closes it once that check ended, having called Distrust first
// if it failed, so that no key of a rolled-back or altered file verifies
// in the meantime. A verification that has to wait first calls start, if
// not nil, which must start that check if it has not started (and may be
// called any number of times). A verification after ready is closed costs
// one atomic load more.
func (s *Service) VerifyAfter(ready <-chan struct{}, start func()) {
	s.gate.Store(&gate{ready: ready, start: start})
}

// pass waits for g's channel (starting what closes it), then removes the
// gate.
func (s *Service) pass(g *gate) {
	select {
	case <-g.ready:
	default:
		if g.start != nil {
			g.start()
		}
		<-g.ready
	}
	s.gate.CompareAndSwap(g, nil)
}

// CheckRecords checks the MAC of every record not checked yet (see
// NewLazyService) on all CPUs but one, calling progress, if not nil, after
// every batch (and once if nothing was left to check) with the number of
// records checked so far, those a verification or a change checked first
// included, and their total; a record that failed, here or at its first
// use, is flagged Tampered from then on (List shows it). It returns the
// number of tampered records.
func (s *Service) CheckRecords(progress func(done, total int)) int {
	s.mu.RLock()
	total := len(s.idleRows)
	pending := make([]*entry, 0, total)
	for i := range s.idleRows {
		if e := s.idleRows[i].e; e.sig.Load() == sigPending {
			pending = append(pending, e)
		}
	}
	s.mu.RUnlock()
	const batch = 4096
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	before := total - len(pending)
	for lo := 0; lo < len(pending); lo += batch {
		part := pending[lo:min(lo+batch, len(pending))]
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(part); i += workers {
					e := part[i]
					s.mu.RLock()
					s.signatureOK(e, e.key)
					s.mu.RUnlock()
				}
			})
		}
		wg.Wait()
		if progress != nil {
			progress(before+lo+len(part), total)
		}
	}
	if len(pending) == 0 && progress != nil {
		progress(total, total)
	}
	// Count every record found bad, by this pass or by a first use before
	// it, and flag those not flagged yet so that List shows them without
	// a copy; the write lock only when there is one to flag.
	s.mu.RLock()
	var bad []*entry
	unflagged := 0
	for i := range s.idleRows {
		if e := s.idleRows[i].e; e.sig.Load() == sigBad {
			bad = append(bad, e)
			if !e.key.Tampered {
				unflagged++
			}
		}
	}
	s.mu.RUnlock()
	if unflagged > 0 {
		s.mu.Lock()
		for _, e := range bad {
			// A record replaced meanwhile was checked when it was
			// indexed (its state follows its new record).
			if e.sig.Load() == sigBad && !e.key.Tampered {
				c := *e.key // replaced, never changed in place
				c.Tampered = true
				e.key = &c
			}
		}
		s.mu.Unlock()
	}
	return len(bad)
}

// checked returns e's record as the service trusts it: a record whose
// lazy check (NewLazyService) has not run yet is checked now, and one that
// fails comes back as a copy flagged Tampered. s.mu must be held (for
// reading at least).
func (s *Service) checked(e *entry) *Key {
	k := e.key
	if !k.Tampered && !s.signatureOK(e, k) {
		c := *k
		c.Tampered = true
		return &c
	}
	return k
}

// signatureOK checks a lazily loaded record's signature once (see
// NewLazyVerifyService); s.mu must be held for reading.
func (s *Service) signatureOK(e *entry, k *Key) bool {
	switch e.sig.Load() {
	case sigChecked:
		return true
	case sigBad:
		return false
	}
	ok := s.signer.VerifyRecord(k.MACPayload(), k.MAC)
	if ok {
		e.sig.Store(sigChecked)
	} else {
		e.sig.Store(sigBad)
	}
	return ok
}
