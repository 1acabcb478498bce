package partition

import (
	"os"
	"syscall"

	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/ordo-broker/ordo/broker/fs"
)

// faultFS is the partition logs' filesystem in a build with -tags
// failpoints (NewManager wraps it only then): every File.Sync evaluates
// failpoints.FsyncError first. Everything else goes straight through.
type faultFS struct {
	fs.FS
	node int32
}

func (f faultFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return faultFile{File: file, node: f.node}, nil
}

type faultFile struct {
	fs.File
	node int32
}

// Sync fails with EIO, making nothing durable, when failpoints.FsyncError
// fires (a sleep action stalls it instead).
func (f faultFile) Sync() error {
	if _, ok := failpoints.Eval(failpoints.FsyncError, f.node); ok {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Sync()
}
