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

// RecordMAC returns the MAC (or signature) of the record held for id,
// without checking it, and whether there is one: a replica computes a
// record's element in its store's set digest from it instead of keeping
// the elements of 100,000 records. The slice is the record's own: read it,
// do not modify it.
func (s *Service) RecordMAC(id string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return e.key.MAC, true
}

// dropLocked removes e from both indexes; s.mu must be held for writing.
func (s *Service) dropLocked(e *entry) {
	delete(s.byID, e.key.ID)
	if s.byDigest[e.digest] == e {
		delete(s.byDigest, e.digest)
		s.removeRow(e)
	}
}
