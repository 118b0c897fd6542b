//go:build unix

package clitest

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time this process has used, for the benchmarks.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
