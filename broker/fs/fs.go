// Package fs is the filesystem seam of the broker's storage. OS is the real
// disk; Mem is an in-memory twin that can simulate a crash (dropping every
// byte that was not fsynced, and optionally tearing the last unsynced write)
// so that tests can prove what survives power loss.
package fs

import (
	"io"
	"os"
)

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
