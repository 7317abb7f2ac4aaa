package agent

import (
	"os"
	"runtime/debug"
)

// TuneRuntime sets the Go garbage collector for the agent process: a
// long-running service whose live heap is small (the state lives in bbolt's
// memory map, not on the heap) but which allocates for every request it
// encodes and every HTTP exchange. At Go's default (GOGC=100) collection
// took about a third of the CPU per delivered request; at 400 it takes a
// small share and the heap stays in the tens of MiB, with a 1 GiB soft limit
// as a backstop. GOGC and GOMEMLIMIT set by an admin win.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
