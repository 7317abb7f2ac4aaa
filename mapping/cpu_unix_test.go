//go:build unix

package mapping

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system). The
// benchmark divides by it as well as by wall time: on a shared machine the
// wall time includes waiting for a core, the CPU time does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
