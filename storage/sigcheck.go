package storage

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// sigCheck is the background check of a sealed store's record signatures
// (see seal.go): every record whose MAC checks out must carry the store's
// Ed25519 signature of it. It reads the records in batches, each in its own
// short read transaction (a long one would hold up a change that grows the
// file), and verifies them on all CPUs but one, yielding after each one, so
// that the window keeps a CPU and goes first on the others. A failure
// makes the whole store refuse changes and reads with ErrTampered.
//
// Seal sets the check up; it runs once StartSignatureCheck or
// SignatureCheck asks for it, so that the opener starts it after the load
// that puts the window's table on screen (the workspace does) rather than
// have it compete with that load.
type sigCheck struct {
	stop atomic.Bool
	// urgent is set when someone waits for the result (SignatureCheck):
	// from the next batch on, the check uses every CPU and stops yielding.
	urgent atomic.Bool
	once   sync.Once
	start  chan struct{} // closed by begin
	done   chan struct{}
	err    error // written before done is closed
}

// sigBatch is how many records one read transaction of the check copies.
const sigBatch = 1024

// startSigCheck sets up the check of s's records with signer and ed (it
// waits for begin), stopping a check set up by an earlier Seal.
func (s *Store) startSigCheck(signer *seal.Signer, ed *seal.EdSigner) {
	if old := s.sigs.Load(); old != nil {
		old.halt()
	}
	c := &sigCheck{start: make(chan struct{}), done: make(chan struct{})}
	s.sigs.Store(c)
	go func() {
		defer close(c.done)
		<-c.start
		c.err = s.checkSignatures(c, signer, ed)
	}()
}

// begin lets the check run (it may be called any number of times, on a
// nil check too).
func (c *sigCheck) begin() {
	if c != nil {
		c.once.Do(func() { close(c.start) })
	}
}

// halt stops the check and waits for it.
func (c *sigCheck) halt() {
	c.stop.Store(true)
	c.begin()
	<-c.done
}

// failed returns the check's error once it has failed, nil before and
// after a success (and on a nil check).
func (c *sigCheck) failed() error {
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// checkSignatures verifies every record's signature, in batches; it
// returns nil when stopped.
func (s *Store) checkSignatures(c *sigCheck, signer *seal.Signer, ed *seal.EdSigner) error {
	var after []byte
	for !c.stop.Load() {
		urgent := c.urgent.Load()
		workers := max(1, runtime.GOMAXPROCS(0)-1)
		if urgent {
			workers = runtime.GOMAXPROCS(0)
		}
		recs := make([]rawRecord, 0, sigBatch)
		if err := s.db.View(func(tx *bolt.Tx) error {
			cur := tx.Bucket(bucketKeys).Cursor()
			k, v := cur.First()
			if after != nil {
				k, v = cur.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			for ; k != nil && len(recs) < sigBatch; k, v = cur.Next() {
				recs = append(recs, rawRecord{bytes.Clone(k), bytes.Clone(v)})
			}
			return nil
		}); err != nil {
			return fmt.Errorf("check record signatures: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		after = recs[len(recs)-1].id
		errs := make([]error, len(recs))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(recs) && !c.stop.Load(); i += workers {
					k, sig, err := decodeSignedAt(recs[i].id, recs[i].data)
					if err != nil {
						errs[i] = err
						continue
					}
					p := k.MACPayload()
					if !signer.VerifyRecord(p, k.MAC) {
						continue // tampered: flagged on its own, never verifies
					}
					if !ed.VerifyRecord(p, sig) {
						errs[i] = fmt.Errorf("%w (the signature of key %q does not match it)", ErrTampered, k.ID)
					}
					// Yield after each verification: the check runs
					// while nothing else wants the CPU, at a low
					// priority, and the window goes first.
					if !urgent {
						runtime.Gosched()
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// StartSignatureCheck starts the background check of the record
// signatures that Seal set up (see SignatureCheck); it returns at once.
// Calling it again, or on a store not sealed, does nothing.
// A background Seal (SealInBackground) that has not ended yet is waited
// for first (without starting it), on another goroutine.
func (s *Store) StartSignatureCheck() {
	if r := s.sealing.Load(); r != nil {
		select {
		case <-r.done:
		default:
			go func() {
				if s.awaitSeal() == nil {
					s.sigs.Load().begin()
				}
			}()
			return
		}
	}
	s.sigs.Load().begin()
}

// SignatureCheck waits for the background check of the record signatures
// that Seal set up (starting it if StartSignatureCheck did not, and
// moving it to every CPU) and returns its result: nil when every record whose
// MAC checks out carries the store's signature of it (or the store was
// not sealed, or is closed), an error wrapping ErrTampered otherwise, after
// which the store refuses every change and read. A background Seal
// (SealInBackground) is started if need be and waited for first; its
// error is returned as is.
func (s *Store) SignatureCheck() error {
	if err := s.WaitSeal(); err != nil {
		return err
	}
	c := s.sigs.Load()
	if c == nil {
		return nil
	}
	c.urgent.Store(true)
	c.begin()
	<-c.done
	return c.err
}

// WaitSignatureCheck waits, without hurrying it, for the background check
// of the record signatures to end (once StartSignatureCheck or
// SignatureCheck has started it), following a check that a new Seal
// started meanwhile, and returns its result as SignatureCheck does. A
// closed store's check ends at once with nil. Front ends wait on it to
// stop trusting keys already loaded into memory when a record turns out
// forged. A background Seal (SealInBackground) is waited for first,
// without starting it; its error is returned as is.
func (s *Store) WaitSignatureCheck() error {
	if err := s.awaitSeal(); err != nil {
		return err
	}
	for {
		c := s.sigs.Load()
		if c == nil {
			return nil
		}
		<-c.done
		if s.sigs.Load() == c {
			return c.err
		}
	}
}

// refused returns the error that every operation of a store whose
// signature check failed returns, nil otherwise.
func (s *Store) refused() error {
	if err := s.sealFailed(); err != nil {
		return err
	}
	return s.sigs.Load().failed()
}

// read runs fn in a read transaction of a store whose records may be
// trusted: once the signature check has found a forged record it returns
// that error instead, so every read of keys, audit, settings and digest
// state is refused alike (changes are, in change).
func (s *Store) read(fn func(tx *bolt.Tx) error) error {
	if err := s.refused(); err != nil {
		return err
	}
	return s.db.View(fn)
}
