// Package fs is the filesystem seam of the broker's storage. OS is the real
// disk; Mem is an in-memory twin that can simulate a crash (dropping every
// byte that was not fsynced, and optionally tearing the last unsynced write)
// so that tests can prove what survives power loss.
package fs

import (
	"errors"
	"io"
	"os"
)

// ErrLocked is FS.Lock's answer when someone else holds the lock.
var ErrLocked = errors.New("lock is held")

// FS is the subset of a filesystem that storage uses. Paths use the host's
// separator (filepath.Join).
type FS interface {
	// OpenFile opens name with os.O_* flags, as os.OpenFile does.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	RemoveAll(path string) error
	Rename(oldpath, newpath string) error
	MkdirAll(path string, perm os.FileMode) error
	// ReadDir lists the names in a directory, sorted.
	ReadDir(name string) ([]string, error)
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory's entries (creations, renames, removals)
	// durable.
	SyncDir(name string) error
	// Lock takes an exclusive lock on the named file, creating the file if
	// it does not exist, without waiting: if anyone else holds it (another
	// process, or another Lock in this one) it fails with ErrLocked. The
	// lock lasts until the returned Lock is released or its holder dies,
	// as Kafka's log directory .lock file.
	Lock(name string) (Lock, error)
}

// Lock is a held lock (FS.Lock).
type Lock interface {
	// Release gives the lock up. Releasing twice is not an error.
	Release() error
}

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Seeker
	io.Closer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Name() string
}
