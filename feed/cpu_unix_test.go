//go:build unix

package feed

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, for the benchmarks.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
