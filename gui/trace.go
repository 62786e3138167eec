package gui

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// startupTraceEnv names the environment variable that makes the window
// report on stderr when the keys table is first shown and how long each
// search refilter took (make perf-gui reads it). It never prints a key.
const startupTraceEnv = "KEYDESK_STARTUP_TRACE"

// startupProfileEnv names the environment variable holding a file name:
// the window then writes a CPU profile of its start, from the gui
// package's initialisation to the keys table first shown (make perf-gui
// -cpuprofile sets it).
const startupProfileEnv = "KEYDESK_STARTUP_CPUPROFILE"

// processStart approximates the process's start, for the start-up trace.
var processStart = time.Now()

// stopStartupProfile ends the start-up CPU profile; nil when none runs.
var stopStartupProfile func()

func init() {
	name := os.Getenv(startupProfileEnv)
	if name == "" {
		return
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keydesk-trace: no start-up profile: %v\n", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "keydesk-trace: no start-up profile: %v\n", err)
		f.Close()
		return
	}
	stopStartupProfile = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// trace prints a start-up milestone with the time since the process started
// when startupTraceEnv is set. It never prints a key.
func trace(what string) {
	if os.Getenv(startupTraceEnv) != "" {
		fmt.Fprintf(os.Stderr, "keydesk-trace: %s at-ms=%d\n", what, time.Since(processStart).Milliseconds())
	}
}

// traceMemory prints the Go heap in use (after a GC) on the start-up trace.
func traceMemory(when string) {
	if os.Getenv(startupTraceEnv) == "" {
		return
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(os.Stderr, "keydesk-trace: memory %s go-heap-alloc-mb=%d go-heap-inuse-mb=%d go-heap-released-mb=%d go-sys-mb=%d\n",
		when, m.HeapAlloc>>20, m.HeapInuse>>20, m.HeapReleased>>20, m.Sys>>20)
}

// traceKeysView makes the keys screen report on the start-up trace when the
// table is first shown and how long each search refilter took.
func traceKeysView(v *keysView) {
	if os.Getenv(startupTraceEnv) == "" {
		return
	}
	v.onTableShown = func() {
		if stopStartupProfile != nil {
			stopStartupProfile()
			stopStartupProfile = nil
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "keydesk-trace: table-shown rows=%d go-heap-mb=%d go-sys-mb=%d at-ms=%d\n",
			len(v.model.rows), m.HeapAlloc>>20, m.Sys>>20, time.Since(processStart).Milliseconds())
	}
	v.onFiltered = func(n int, d time.Duration) {
		fmt.Fprintf(os.Stderr, "keydesk-trace: filter shown=%d ms=%.3f\n", n, float64(d)/float64(time.Millisecond))
	}
}
