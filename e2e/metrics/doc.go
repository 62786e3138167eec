// Package metrics holds the end-to-end tests of the Prometheus metrics: a
// real Prometheus (Debian's prometheus package, started by
// scripts/prometheus.sh on loopback) scrapes the real keydesk binary's
// `serve` every second, and the values are read back through Prometheus's
// query API; the README's alert rules pass `promtool check rules`. Without
// Prometheus the tests skip, except under CI=true, where they fail.
package metrics
