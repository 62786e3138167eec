package replica

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keydesk/keydesk/pgstore"
)

// The replica's metrics: what /healthz reports, and the signed generation,
// the follow lag and the reconnections.
var (
	dataAgeDesc = prometheus.NewDesc("keydesk_replica_data_age_seconds",
		"Seconds since the replica last read every change of the shared store and accepted it (the dataAgeSeconds of /healthz).", nil, nil)
	degradedDesc = prometheus.NewDesc("keydesk_replica_degraded",
		"1 while /healthz reports degraded (the data is older than three heartbeats, or the store's state was not accepted), else 0.", nil, nil)
	generationDesc = prometheus.NewDesc("keydesk_replica_signed_generation",
		"Generation of the signed state of the shared store the replica last accepted.", nil, nil)
	lagDesc = prometheus.NewDesc("keydesk_replica_follow_lag_changes",
		"Changes the follower has read from the shared store that the replica has not yet accepted.", nil, nil)
	reconnectsDesc = prometheus.NewDesc("keydesk_replica_reconnects_total",
		"Times the replica's follower connected to the shared store again after losing its connection.", nil, nil)
	followDesc = prometheus.NewDesc("keydesk_replica_follow_mode",
		"How changes reach the replica (the follow of /healthz): 1 for the current mode, listen or poll.", []string{"mode"}, nil)
)

// Collector returns the replica's Prometheus collector, to register with
// the server's metrics. It reads at scrape time what Health reads, and never
// waits for a read of the store in progress: the generation and the number
// of the last change accepted are then the ones seen at the previous scrape.
func (r *Replica) Collector() prometheus.Collector {
	c := &collector{r: r}
	if r.syncMu.TryLock() {
		c.gen, c.seq = r.gen, r.seq
		r.syncMu.Unlock()
	}
	return c
}

type collector struct {
	r *Replica

	mu  sync.Mutex
	gen uint64 // the last values read from the replica
	seq int64
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dataAgeDesc, degradedDesc, generationDesc, lagDesc, reconnectsDesc, followDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	h := r.Health()
	c.mu.Lock()
	// syncMu is held across a read of the store (which may hang while
	// the store is unreachable): a scrape does not wait for it.
	if r.syncMu.TryLock() {
		c.gen, c.seq = r.gen, r.seq
		r.syncMu.Unlock()
	}
	gen, seq := c.gen, c.seq
	c.mu.Unlock()
	r.mu.Lock()
	f := r.follower
	r.mu.Unlock()
	var lag, reconnects int64
	if f != nil {
		st := f.Status()
		lag, reconnects = max(st.Seq-seq, 0), st.Reconnects
	}
	degraded := 0.0
	if h.Status != "ok" {
		degraded = 1
	}
	ch <- prometheus.MustNewConstMetric(dataAgeDesc, prometheus.GaugeValue, h.DataAgeSeconds)
	ch <- prometheus.MustNewConstMetric(degradedDesc, prometheus.GaugeValue, degraded)
	ch <- prometheus.MustNewConstMetric(generationDesc, prometheus.GaugeValue, float64(gen))
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag))
	ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(reconnects))
	for _, mode := range []string{pgstore.FollowListen, pgstore.FollowPoll} {
		v := 0.0
		if h.Follow == mode {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(followDesc, prometheus.GaugeValue, v, mode)
	}
}
