//go:build !unix

package clitest

import "time"

// ProcessCPU is not measured here (no getrusage): the benchmarks' CPU
// figures read 0 on this platform; their other figures stand.
func ProcessCPU() time.Duration { return 0 }
