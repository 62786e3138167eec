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
	if old, ok := s.byID.get(k.ID); ok && string(old.key.Digest) != string(k.Digest) {
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
	e, ok := s.byID.get(id)
	if ok {
		s.dropLocked(e)
	}
	return ok
}

// dropLocked removes e from both indexes; s.mu must be held for writing.
func (s *Service) dropLocked(e *entry) {
	s.byID.del(e.key.ID)
	if e.indexed() {
		s.unindex(e)
	}
}

// ObserveOwnChanges makes the service call f, with its index locked for
// writing, just before its own change (Create, Rename, Roll or Delete)
// replaces or removes the record of id in its index: before is the record
// it held (nil for a created key). A replica whose service an admin's
// window changes directly uses it to know which of the records it accepted
// from the store the service no longer holds (replica.Replica). f must not
// call the service. Call it before the service is used.
func (s *Service) ObserveOwnChanges(f func(id string, before *Key)) { s.ownChange = f }

// ownIndex indexes k, a record of the service's own change; s.mu must be
// held for writing.
func (s *Service) ownIndex(k *Key) {
	s.observeOwn(k.ID)
	s.index(k)
}

// observeOwn tells the observer (ObserveOwnChanges) that the service's
// own change replaces or removes the record of id; s.mu must be held for
// writing.
func (s *Service) observeOwn(id string) {
	if s.ownChange == nil {
		return
	}
	var before *Key
	if e, ok := s.byID.get(id); ok {
		before = e.key
	}
	s.ownChange(id, before)
}

// RecordMAC returns the MAC (or signature) of the record held for id, as
// the record carries it, checked or not, and whether one is held. The
// slice is the record's own: read it, do not modify it.
func (s *Service) RecordMAC(id string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byID.get(id)
	if !ok {
		return nil, false
	}
	return e.key.MAC, true
}
