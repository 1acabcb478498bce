package partition

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/storage"
)

// fdLimitFS is fs.Mem with a full descriptor table on demand: OpenFile
// (filesFull) and SyncDir, which opens the directory (dirsFull), fail with
// EMFILE as os does.
type fdLimitFS struct {
	*fs.Mem
	filesFull, dirsFull atomic.Bool
}

func (f *fdLimitFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	if f.filesFull.Load() {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
	}
	return f.Mem.OpenFile(name, flag, perm)
}

func (f *fdLimitFS) SyncDir(name string) error {
	if f.dirsFull.Load() {
		return &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
	}
	return f.Mem.SyncDir(name)
}

// Running out of file descriptors is not a storage failure: an append that
// cannot open a file fails retriably, an fsync that cannot open the
// directory is postponed and retried, nothing is reported to
// OnStorageFailure, and once descriptors are free again the partition goes
// on and commits what it took.
func TestOutOfDescriptorsIsNotAStorageFailure(t *testing.T) {
	fsys := &fdLimitFS{Mem: fs.NewMem()}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	mgr := NewManager(Config{FS: fsys, Dir: "/data", Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var reported atomic.Value
	mgr.OnStorageFailure = func(err error) { reported.Store(err) }
	defer mgr.Close()
	// segment.ms=1: every append after the clock moved rolls a segment,
	// which opens files and dirties the directory.
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{"segment.ms": "1"})))
	p := mgr.Get("t", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a, err := p.Append(batch(2), clk.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(ctx, a, time.Hour))

	// No descriptor for the new segment's files.
	clk.Advance(time.Second)
	fsys.filesFull.Store(true)
	fsys.dirsFull.Store(true)
	_, err = p.Append(batch(1), clk.Now())
	require.ErrorIs(t, err, ErrResourceExhausted)
	require.NotErrorIs(t, err, ErrLogFailed)
	assert.Equal(t, int64(2), p.LogEndOffset())

	// Files open again, the directory does not: the append rolls, its
	// fsync is postponed.
	fsys.filesFull.Store(false)
	a, err = p.Append(batch(3), clk.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(2), a.FirstOffset)
	waited := make(chan error, 1)
	go func() { waited <- p.WaitCommitted(ctx, a, time.Hour) }()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		_, retry := p.core.NextDeadline()
		return retry
	}, 10*time.Second, time.Millisecond, "the fsync is postponed to a retry")
	assert.Equal(t, int64(2), p.HighWatermark(), "nothing unsynced is committed")
	assert.Nil(t, reported.Load(), "not a storage failure")
	select {
	case err := <-waited:
		t.Fatalf("WaitCommitted returned %v before the fsync", err)
	default:
	}

	fsys.dirsFull.Store(false)
	clk.Advance(flushRetryDelay)
	select {
	case err := <-waited:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("the postponed fsync was never retried")
	}
	assert.Equal(t, int64(5), p.HighWatermark())
	recs, _, err := p.Read(0, 1<<20, true)
	require.NoError(t, err)
	batches, err := storage.ParseBatches(recs)
	require.NoError(t, err)
	assert.Len(t, batches, 2)
	assert.Nil(t, reported.Load())
}
