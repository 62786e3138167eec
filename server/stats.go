package server

import (
	"sync/atomic"

	"github.com/keydesk/keydesk/core"
)

// Reasons lists every verification reason, in the order Stats reports them.
var Reasons = []core.Reason{
	core.ReasonOK, core.ReasonMalformed, core.ReasonBadChecksum, core.ReasonUnknown,
	core.ReasonExpired, core.ReasonForbidden, core.ReasonTampered,
}

// counters are the server's request counts; they never hold a key.
type counters struct {
	byReason    [8]atomic.Uint64 // index of Reasons; the last slot is "other"
	missingKey  atomic.Uint64
	noRoute     atomic.Uint64
	badRequests atomic.Uint64
}

func reasonIndex(r core.Reason) int {
	for i, x := range Reasons {
		if x == r {
			return i
		}
	}
	return len(Reasons)
}

// Stats are the counts GET /v1/stats reports since the server started.
type Stats struct {
	// Verifications counts answered verifications (both endpoints) by
	// reason; every reason is present, zero included.
	Verifications map[core.Reason]uint64 `json:"verifications"`
	// MissingKey counts /v1/auth requests without a bearer key.
	MissingKey uint64 `json:"missingKey"`
	// NoRoute counts /v1/auth requests with a valid key whose method and
	// path match no catalog operation.
	NoRoute uint64 `json:"noRoute"`
	// BadRequests counts requests refused with 400, 413 or similar.
	BadRequests uint64 `json:"badRequests"`
}

// Failed returns the number of verifications that did not allow the request.
func (st Stats) Failed() uint64 {
	var n uint64
	for r, c := range st.Verifications {
		if r != core.ReasonOK {
			n += c
		}
	}
	return n + st.MissingKey + st.NoRoute
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{Verifications: make(map[core.Reason]uint64, len(Reasons))}
	for i, r := range Reasons {
		st.Verifications[r] = s.stats.byReason[i].Load()
	}
	if n := s.stats.byReason[len(Reasons)].Load(); n > 0 {
		st.Verifications["other"] = n
	}
	st.MissingKey = s.stats.missingKey.Load()
	st.NoRoute = s.stats.noRoute.Load()
	st.BadRequests = s.stats.badRequests.Load()
	return st
}
