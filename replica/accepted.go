package replica

import (
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// The set the replica accepted, without a copy of it per key.
//
// Sync updates the set digest of the accepted records (acc) by removing
// the element of each changed key's accepted record and adding its new
// one. An element is derived from a record (seal.EdVerifier.SetElement of
// its id and signature), and the service holds the accepted record of
// almost every key, so the replica keeps only the exceptions: diverged
// holds the accepted element of each key whose record in the service is
// not (or may not be) the accepted one. That happens when the service
// changed a record without the replica accepting it:
//   - an admin's window changes its service directly (Create, Rename,
//     Roll, Delete), before the change comes back through the store's
//     change log (the service tells the replica: core's
//     ObserveOwnChanges, with the record it held);
//   - a deletion applies at once, before its signed state is read
//     (onChange), and deletions and rolls apply when a signed state is
//     refused (Sync).
//
// Invariant: the accepted record of id is diverged[id] if present, else
// the service's record of id (or none). Each change of the service's
// record first records the accepted element if id is not diverged yet,
// or marks the entry unsettled; accepting a record sets diverged[id] to
// it, makes it the service's, and drops the entry only if no change came
// between and the service holds it (settle). The replica's own changes of
// the service (applyMu) do not interleave; the window's come with the
// service's index locked, so they are atomic with their report. A wrong
// element could only make the computed digest differ from the signed
// state (a reload follows), never make a forged set match it.

// acceptedRecord is the accepted record of a diverged key.
type acceptedRecord struct {
	elem seal.Element // its set element, if live
	live bool         // false: no record of the key was accepted
	// settled is set by accept and settle, cleared by every change of
	// the service's record: an entry is dropped only while it is set.
	settled bool
}

// element returns the set element of the record accepted for id, and
// whether one is accepted.
func (r *Replica) element(id string) (seal.Element, bool) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	// The service first, then diverged: a change of the service's record
	// in between records the element read here (or keeps an older
	// accepted one) in diverged first.
	mac, held := r.svc.RecordMAC(id)
	r.accMu.Lock()
	a, ok := r.diverged[id]
	r.accMu.Unlock()
	switch {
	case ok:
		return a.elem, a.live
	case held:
		return r.v.SetElement(id, mac), true
	}
	return seal.Element{}, false
}

// ownChange is the service's report of its own change of id's record
// (core.Service.ObserveOwnChanges): before is the record it held, the
// accepted one unless id is diverged already.
func (r *Replica) ownChange(id string, before *core.Key) {
	var a acceptedRecord
	if before != nil {
		a = acceptedRecord{elem: r.v.SetElement(id, before.MAC), live: true}
	}
	r.accMu.Lock()
	r.divergeLocked(id, a)
	r.accMu.Unlock()
}

// divergeLocked records a as id's accepted record unless id is diverged
// already, in which case its entry is marked unsettled. accMu must be
// held.
func (r *Replica) divergeLocked(id string, a acceptedRecord) {
	if old, ok := r.diverged[id]; ok {
		old.settled = false
		r.diverged[id] = old
		return
	}
	a.settled = false
	r.diverged[id] = a
}

// unaccepted runs change, which changes the service's record of id
// without the replica accepting one (a deletion, or a roll of a held
// record, applied without a signed state), having recorded the accepted
// record first.
func (r *Replica) unaccepted(id string, change func()) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	mac, held := r.svc.RecordMAC(id)
	var a acceptedRecord
	if held {
		a = acceptedRecord{elem: r.v.SetElement(id, mac), live: true}
	}
	r.accMu.Lock()
	r.divergeLocked(id, a)
	r.accMu.Unlock()
	change()
}

// accept makes k (nil: none) the accepted record of id, with its set
// element elem, and the service's record.
func (r *Replica) accept(id string, k *core.Key, elem seal.Element) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.accMu.Lock()
	r.diverged[id] = acceptedRecord{elem: elem, live: k != nil, settled: true}
	r.accMu.Unlock()
	if k == nil {
		r.remove(id)
	} else {
		r.apply(k)
	}
	r.settle(id)
}

// settle drops id's diverged entry if the service holds the accepted
// record and nothing changed it since the entry was last settled.
// applyMu must be held.
func (r *Replica) settle(id string) {
	mac, held := r.svc.RecordMAC(id)
	var elem seal.Element
	if held {
		elem = r.v.SetElement(id, mac)
	}
	r.accMu.Lock()
	if a, ok := r.diverged[id]; ok && a.settled && a.live == held && (!held || a.elem == elem) {
		delete(r.diverged, id)
	}
	r.accMu.Unlock()
}

// settleAll drops the entries of the diverged keys whose accepted record
// the service holds again (the window's own change came back through the
// change log; a deletion applied early was accepted).
func (r *Replica) settleAll() {
	r.accMu.Lock()
	ids := make([]string, 0, len(r.diverged))
	for id := range r.diverged {
		ids = append(ids, id)
	}
	r.accMu.Unlock()
	for _, id := range ids {
		r.applyMu.Lock()
		r.accMu.Lock()
		a, ok := r.diverged[id]
		if ok {
			a.settled = true
			r.diverged[id] = a
		}
		r.accMu.Unlock()
		if ok {
			r.settle(id)
		}
		r.applyMu.Unlock()
	}
}

// diverging returns the number of diverged keys (normally 0 once the
// changes made were read back).
func (r *Replica) diverging() int {
	r.accMu.Lock()
	defer r.accMu.Unlock()
	return len(r.diverged)
}
