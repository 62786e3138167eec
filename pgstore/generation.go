package pgstore

import "fmt"

// RolledBackError is ErrStateRolledBack with the two generations: the
// store's signed state is at Gen, older than Seen, the highest this reader
// accepted before (an admin's keyring, a replica's data folder, or the
// running process).
type RolledBackError struct{ Gen, Seen uint64 }

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("%s (generation %d, seen %d)", ErrStateRolledBack.Error(), e.Gen, e.Seen)
}

// Is makes errors.Is(err, ErrStateRolledBack) hold.
func (e *RolledBackError) Is(target error) bool { return target == ErrStateRolledBack }

// OnCommit sets fn to receive the signed generation of each key change
// this store commits (after the commit), so that an admin's keyring keeps
// the highest generation seen. fn must be set before the store is used.
func (s *SealedStore) OnCommit(fn func(gen uint64)) { s.onCommit = fn }

// committed passes gen to the OnCommit hook when the change that wrote it
// committed (err nil).
func (s *SealedStore) committed(gen uint64, err error) error {
	if err == nil && gen > 0 && s.onCommit != nil {
		s.onCommit(gen)
	}
	return err
}
