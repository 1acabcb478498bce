package fs

import (
	"os"
	"sort"
)

// OS is the real filesystem. Its zero value is ready to use.
type OS struct{}

// NewOS returns the real filesystem.
func NewOS() OS { return OS{} }

var _ FS = OS{}

// OpenFile opens name with os.OpenFile.
func (OS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		// Return a nil interface, not a typed nil *os.File.
		return nil, err
	}
	return f, nil
}

// Remove removes a file or an empty directory.
func (OS) Remove(name string) error { return os.Remove(name) }

// RemoveAll removes path and everything under it.
func (OS) RemoveAll(path string) error { return os.RemoveAll(path) }

// Rename renames oldpath to newpath, replacing newpath if it is a file.
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// MkdirAll creates path and any missing parents.
func (OS) MkdirAll(path string, perm os.FileMode) error { return os.MkdirAll(path, perm) }

// ReadDir lists the names in a directory, sorted.
func (OS) ReadDir(name string) ([]string, error) {
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	sort.Strings(names) // os.ReadDir sorts already; keep the promise explicit.
	return names, nil
}

// Stat returns the file's information.
func (OS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

// SyncDir fsyncs the directory itself, which is what makes a file's
// creation, rename or removal survive power loss on POSIX filesystems: a
// file's own fsync covers its data, not the directory entry that names it.
func (OS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return serr
	}
	return cerr
}
