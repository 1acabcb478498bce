package storage

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

// fdLimitFS is fs.Mem with a full descriptor table on demand: while full,
// every call that would make a descriptor (OpenFile, and SyncDir, which
// opens the directory) fails with EMFILE, as os does.
type fdLimitFS struct {
	*fs.Mem
	full      atomic.Bool
	filesFull atomic.Bool // OpenFile alone fails
}

func (f *fdLimitFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	if f.full.Load() || f.filesFull.Load() {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
	}
	return f.Mem.OpenFile(name, flag, perm)
}

func (f *fdLimitFS) SyncDir(name string) error {
	if f.full.Load() {
		return &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
	}
	return f.Mem.SyncDir(name)
}

func requireRetriable(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, ErrResourceExhausted)
	require.ErrorIs(t, err, syscall.EMFILE, "the cause is kept")
	require.NotErrorIs(t, err, ErrLogFailed, "running out of descriptors is not a storage failure")
}

// The first append of a new leader epoch writes the leader-epoch
// checkpoint, which opens a file: with no descriptor free it fails
// retriably, appends nothing, keeps the log writable, and the epoch is
// assigned (and checkpointed) by the next append that can open files.
func TestEpochCheckpointWithoutDescriptorsIsRetriable(t *testing.T) {
	fsys := &fdLimitFS{Mem: fs.NewMem()}
	l := openLog(t, fsys, Config{}, nil)
	mustAppend(t, l, simpleBatch(t, 2, 100), 0)
	require.NoError(t, l.Sync())

	fsys.full.Store(true)
	_, err := l.Append(simpleBatch(t, 1, 200), 1, -1)
	requireRetriable(t, err)
	assert.Equal(t, int64(2), l.LogEndOffset(), "nothing appended")
	assert.Equal(t, int32(0), l.LatestEpoch(), "the epoch that could not be checkpointed is not kept")
	requireRetriable(t, l.AssignEpoch(1))
	assert.Equal(t, int32(0), l.LatestEpoch())
	mustAppend(t, l, simpleBatch(t, 1, 300), 0) // same epoch: nothing to open

	fsys.full.Store(false)
	info := mustAppend(t, l, simpleBatch(t, 1, 400), 1)
	assert.Equal(t, int64(3), info.FirstOffset)
	require.NoError(t, l.Sync())
	require.NoError(t, l.Close())

	fsys.Crash(fs.CrashOptions{})
	l = openLog(t, fsys, Config{}, nil)
	defer l.Close()
	assert.Equal(t, int64(4), l.LogEndOffset())
	assert.Equal(t, int32(1), l.LatestEpoch())
	ep, end := l.EndOffsetForEpoch(0)
	assert.Equal(t, []int64{0, 3}, []int64{int64(ep), end}, "epoch 1 starts where it was appended")
}

// Rolling a full segment opens three files: without descriptors the append
// fails retriably and the next one rolls.
func TestRollWithoutDescriptorsIsRetriable(t *testing.T) {
	fsys := &fdLimitFS{Mem: fs.NewMem()}
	l := openLog(t, fsys, Config{SegmentBytes: 1}, nil)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)

	fsys.full.Store(true)
	_, err := l.Append(simpleBatch(t, 1, 0), 0, -1)
	requireRetriable(t, err)
	assert.Equal(t, int64(1), l.LogEndOffset())

	fsys.full.Store(false)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	assert.Len(t, segmentFiles(t, fsys), 2)
	readAllLog(t, l)
	require.NoError(t, l.Sync())
}

// A sync round that cannot open the directory to fsync a new segment's
// entry fails retriably: SyncedOffset stays, and the next round syncs the
// directory too, so the rolled segment survives a power loss.
func TestSyncDirWithoutDescriptorsIsRetriable(t *testing.T) {
	fsys := &fdLimitFS{Mem: fs.NewMem()}
	l := openLog(t, fsys, Config{SegmentBytes: 1}, nil)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0) // rolls: a new directory entry
	require.Equal(t, int64(0), l.SyncedOffset())

	fsys.full.Store(true)
	requireRetriable(t, l.Sync())
	assert.Equal(t, int64(0), l.SyncedOffset(), "nothing is reported durable")

	fsys.full.Store(false)
	require.NoError(t, l.Sync())
	assert.Equal(t, int64(2), l.SyncedOffset())
	require.NoError(t, l.Close())

	fsys.Crash(fs.CrashOptions{})
	l = openLog(t, fsys, Config{SegmentBytes: 1}, nil)
	defer l.Close()
	assert.Equal(t, int64(2), l.LogEndOffset(), "the retried round made the new segment's name durable")
}

// The recovery-point checkpoint only saves recovery work: when it cannot be
// written for want of a descriptor, the sync still succeeds, and a later
// round writes it.
func TestRecoveryPointWithoutDescriptorsDoesNotFailSync(t *testing.T) {
	fsys := &fdLimitFS{Mem: fs.NewMem()}
	l := openLog(t, fsys, Config{SegmentBytes: 1}, nil)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0) // rolls: segment 0 is closed
	fsys.filesFull.Store(true)                // files, not the directory
	require.NoError(t, l.Sync(), "the data and the directory are durable")
	assert.Equal(t, int64(2), l.SyncedOffset())
	rp, _, err := readOffsetCheckpoint(fsys.Mem, testDir, recoveryPointFile)
	require.NoError(t, err)
	assert.Equal(t, int64(0), rp, "not written")

	fsys.filesFull.Store(false)
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	require.NoError(t, l.Sync())
	rp, _, err = readOffsetCheckpoint(fsys.Mem, testDir, recoveryPointFile)
	require.NoError(t, err)
	assert.Equal(t, int64(2), rp, "written by the next round")
}

// A real I/O error still fails the log for good, and ENOMEM counts as
// exhaustion only where a file was being opened.
func TestResourceExhaustedClassification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&os.PathError{Op: "open", Path: "x", Err: syscall.EMFILE}, true},
		{&os.PathError{Op: "open", Path: "x", Err: syscall.ENFILE}, true},
		{&os.PathError{Op: "open", Path: "x", Err: syscall.ENOMEM}, true},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.ENOMEM}, false},
		{&os.PathError{Op: "sync", Path: "x", Err: syscall.EIO}, false},
		{&os.PathError{Op: "open", Path: "x", Err: syscall.ENOSPC}, false},
		{errors.New("input/output error"), false},
	} {
		assert.Equal(t, tc.want, resourceExhausted(tc.err), "%v", tc.err)
	}

	fsys := &fdLimitFS{Mem: fs.NewMem()}
	l := openLog(t, fsys, Config{}, nil)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, 0), 0)
	fsys.FailSync(syscall.EIO)
	require.ErrorIs(t, l.Sync(), ErrLogFailed)
	fsys.FailSync(nil)
	_, err := l.Append(simpleBatch(t, 1, 0), 0, -1)
	require.ErrorIs(t, err, ErrLogFailed, "sticky")
}
