package storage

import (
	"errors"
	"fmt"
	"sync"
)

// sealRun is a Seal running in the background (SealInBackground).
type sealRun struct {
	once   sync.Once
	start  chan struct{} // closed by begin
	closed bool          // set before start is closed by Close: skip the Seal
	done   chan struct{}
	err    error // written before done is closed
}

// begin lets the Seal run (any number of times).
func (r *sealRun) begin() { r.once.Do(func() { close(r.start) }) }

// ErrClosedUnchecked is the error of a background Seal
// (SealInBackground) when the store was closed before it ran.
var ErrClosedUnchecked = errors.New("the data folder was closed before it was checked")

// SealInBackground sets up Seal(kr) to run on another goroutine and returns
// at once, so that an opener can load the records and put them on screen
// before the store's records are checked against their signed state (at
// 100,000 keys the check costs most of a second of CPU). The Seal starts
// when BeginSeal is called, or when something needs its result: a change
// (which waits for it), SignatureCheck or WaitSeal. Reads go ahead
// meanwhile: their results are not known to match the signed state yet,
// so the opener must not let a key verify before WaitSeal returns nil (see
// core.Service.VerifyAfter). If the Seal fails, the store refuses every
// read and change with its error, as after a failed signature check, and
// WaitSignatureCheck returns it. Call it once instead of Seal, after Open
// and before any change.
func (s *Store) SealInBackground(kr *Keyring) {
	r := &sealRun{start: make(chan struct{}), done: make(chan struct{})}
	s.sealing.Store(r)
	go func() {
		defer close(r.done)
		<-r.start
		if r.closed {
			r.err = ErrClosedUnchecked
			return
		}
		if err := s.Seal(kr); err != nil {
			r.err = fmt.Errorf("check the data folder: %w", err)
		}
	}()
}

// BeginSeal starts the Seal that SealInBackground set up (the window calls
// it once its table is on screen); it returns at once. Calling it again,
// or without SealInBackground, does nothing.
func (s *Store) BeginSeal() {
	if r := s.sealing.Load(); r != nil {
		r.begin()
	}
}

// SealStarted returns a channel closed once the Seal that
// SealInBackground set up has started (or was dropped by Close); closed
// at once without one.
func (s *Store) SealStarted() <-chan struct{} {
	if r := s.sealing.Load(); r != nil {
		return r.start
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}

// WaitSeal starts the Seal that SealInBackground set up if it has not
// started, waits for it and returns its error (wrapping ErrTampered,
// ErrRolledBack or ErrCorrupt when the file does not match its signed
// state); nil at once when none was set up.
func (s *Store) WaitSeal() error {
	r := s.sealing.Load()
	if r == nil {
		return nil
	}
	r.begin()
	<-r.done
	return r.err
}

// awaitSeal is WaitSeal without starting the Seal: it waits until someone
// else does and it ends.
func (s *Store) awaitSeal() error {
	r := s.sealing.Load()
	if r == nil {
		return nil
	}
	<-r.done
	return r.err
}

// dropSeal ends a background Seal that has not started without running
// it, and waits for one that has (Close).
func (s *Store) dropSeal() {
	r := s.sealing.Load()
	if r == nil {
		return
	}
	r.once.Do(func() {
		r.closed = true
		close(r.start)
	})
	<-r.done
}

// sealFailed returns the background Seal's error once it has failed, nil
// before and after a success.
func (s *Store) sealFailed() error {
	r := s.sealing.Load()
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}
