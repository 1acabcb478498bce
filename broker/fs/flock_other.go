//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fs

import "os"

// flock is a no-op where syscall has no flock(2): only the table of this
// process's locks (lock.go) guards the file, so two processes are not kept
// apart there.
func flock(*os.File) error { return nil }
