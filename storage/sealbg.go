package storage

import "fmt"

// sealRun is a Seal running in the background (SealInBackground).
type sealRun struct {
	done chan struct{}
	err  error // written before done is closed
}

// SealInBackground runs Seal(kr) on another goroutine and returns at once,
// so that an opener can load the records and put them on screen while the
// store's records are checked against their signed state (at 100,000 keys
// the check costs most of a second of CPU). Until it ends, every change
// waits for it; reads go ahead (their results are not yet known to match
// the signed state: the opener must not let a key verify before WaitSeal
// returns nil, see core.Service.VerifyAfter). If it fails, the store
// refuses every read and change with its error, as after a failed
// signature check, and WaitSignatureCheck and SignatureCheck return it.
// Call it once instead of Seal, after Open and before any change (the
// window loads the records first, so that the two do not share the CPUs).
func (s *Store) SealInBackground(kr *Keyring) {
	r := &sealRun{done: make(chan struct{})}
	s.sealing.Store(r)
	go func() {
		defer close(r.done)
		if err := s.Seal(kr); err != nil {
			r.err = fmt.Errorf("check the data folder: %w", err)
		}
	}()
}

// WaitSeal waits for the Seal that SealInBackground started and returns
// its error (wrapping ErrTampered, ErrRolledBack or ErrCorrupt when the
// file does not match its signed state); nil at once when none was
// started.
func (s *Store) WaitSeal() error {
	r := s.sealing.Load()
	if r == nil {
		return nil
	}
	<-r.done
	return r.err
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
