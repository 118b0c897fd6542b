//go:build !unix

package feed

import "time"

// processCPU is not measured here (no getrusage): the benchmarks' CPU
// figures read 0 on this platform; their other figures stand.
func processCPU() time.Duration { return 0 }
