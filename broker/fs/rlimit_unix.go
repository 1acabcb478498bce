//go:build unix

package fs

import "syscall"

// openFilesLimit is the process's soft RLIMIT_NOFILE (which the Go runtime
// raises to the hard limit at start-up), 0 if unknown or unlimited.
func openFilesLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	cur := uint64(rl.Cur)                    // int64 on some systems
	if cur == ^uint64(0) || int64(cur) < 0 { // RLIM_INFINITY
		return 0
	}
	return cur
}
