package fs

import (
	"fmt"
	"os"
	"slices"
	"sync"
)

// The real filesystem's locks are flock(2) locks on an open file (see
// flock_unix.go), as Kafka locks each log directory's .lock file for the
// life of the process, plus a table of the locks this process holds.
//
// flock conflicts between two open file descriptions, so on a local Linux
// filesystem a second Lock in the same process fails as one in another
// process does. The table makes that true everywhere: where flock is
// emulated with fcntl byte-range locks (NFS since Linux 2.6.12), and on
// systems without flock, a process would not conflict with itself.
var osLocks struct {
	mu   sync.Mutex
	held []*osLock
}

type osLock struct {
	f    *os.File
	info os.FileInfo
	once sync.Once
	err  error
}

var (
	errLockedHere  = fmt.Errorf("%w in this process", ErrLocked)
	errLockedThere = fmt.Errorf("%w by another process", ErrLocked)
)

// Lock takes an exclusive flock on name (created if missing), held until
// Release or until the process exits, whichever comes first. The file is
// never removed: removing a lock file while another process waits to open it
// would let two processes lock two different files of the same name.
func (OS) Lock(name string) (Lock, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	osLocks.mu.Lock()
	defer osLocks.mu.Unlock()
	for _, l := range osLocks.held {
		if os.SameFile(l.info, info) {
			_ = f.Close()
			return nil, &os.PathError{Op: "lock", Path: name, Err: errLockedHere}
		}
	}
	if err := flock(f); err != nil {
		_ = f.Close()
		return nil, &os.PathError{Op: "lock", Path: name, Err: err}
	}
	l := &osLock{f: f, info: info}
	osLocks.held = append(osLocks.held, l)
	return l, nil
}

// Release closes the file, which drops the flock.
func (l *osLock) Release() error {
	l.once.Do(func() {
		osLocks.mu.Lock()
		osLocks.held = slices.DeleteFunc(osLocks.held, func(h *osLock) bool { return h == l })
		osLocks.mu.Unlock()
		l.err = l.f.Close()
	})
	return l.err
}
