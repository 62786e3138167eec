package core

// Changes made elsewhere: a verification server, or an admin's window on a
// shared store, learns of other processes' changes from the store and
// applies them here, without writing anything.

// ApplyRemote indexes a record another process wrote (created or
// replaced): its signature is checked (a record that fails never
// verifies), and it replaces any record with the same id.
func (s *Service) ApplyRemote(k *Key) {
	k = k.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[k.ID]; ok && old.digest != string(k.Digest) {
		s.dropLocked(old)
	}
	s.index(k)
}

// RemoveRemote drops the record with this id, which another process
// deleted: it stops verifying at once. It reports whether the record was
// here.
func (s *Service) RemoveRemote(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if ok {
		s.dropLocked(e)
	}
	return ok
}

// dropLocked removes e from both indexes; s.mu must be held for writing.
func (s *Service) dropLocked(e *entry) {
	delete(s.byID, e.key.ID)
	if s.byDigest[e.digest] == e {
		delete(s.byDigest, e.digest)
		s.removeRow(e)
	}
}
