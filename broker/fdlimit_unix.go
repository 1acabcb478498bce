//go:build linux || darwin

package broker

import "syscall"

// openFileLimit is the process's limit on open file descriptors
// (RLIMIT_NOFILE, soft: the one that applies; Go raises it to the hard
// limit when the process starts), and whether it could be read.
func openFileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return rl.Cur, true
}
