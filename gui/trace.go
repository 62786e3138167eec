package gui

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// startupTraceEnv names the environment variable that makes the window
// report on stderr when the keys table is first shown and how long each
// search refilter took (make perf-gui reads it). It never prints a key.
const startupTraceEnv = "KEYDESK_STARTUP_TRACE"

// processStart approximates the process's start, for the start-up trace.
var processStart = time.Now()

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
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "keydesk-trace: table-shown rows=%d go-heap-mb=%d go-sys-mb=%d at-ms=%d\n",
			len(v.model.rows), m.HeapAlloc>>20, m.Sys>>20, time.Since(processStart).Milliseconds())
	}
	v.onFiltered = func(n int, d time.Duration) {
		fmt.Fprintf(os.Stderr, "keydesk-trace: filter shown=%d ms=%.3f\n", n, float64(d)/float64(time.Millisecond))
	}
}
