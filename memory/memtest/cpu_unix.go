//go:build unix

package memtest

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time this process has used, user and system: what
// benchmarks report beside the wall clock, which on a shared machine
// follows the load rather than the code.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
