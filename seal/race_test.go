//go:build race

package seal

// raceEnabled is set under the race detector, whose sync.Pool drops what
// is put back at random, so a pooled state is allocated again.
const raceEnabled = true
