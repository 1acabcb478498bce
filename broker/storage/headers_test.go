package storage

import (
	"bytes"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

// readCountingFS counts the bytes read through its files.
type readCountingFS struct {
	*fs.Mem
	read atomic.Int64
}

func (c *readCountingFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	f, err := c.Mem.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &readCountingFile{File: f, c: c}, nil
}

type readCountingFile struct {
	fs.File
	c *readCountingFS
}

func (f *readCountingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.c.read.Add(int64(n))
	return n, err
}

func TestScanHeaders(t *testing.T) {
	cfsys := &readCountingFS{Mem: fs.NewMem()}
	l := openLog(t, cfsys, Config{SegmentBytes: 400_000, IndexIntervalBytes: 4096}, nil)
	defer l.Close()
	big := bytes.Repeat([]byte("v"), 60_000)
	for i := range 30 {
		mustAppend(t, l, keyedBatch(t, 0, int64(i), rec("k", string(big[:40_000+i])), rec("k2", "x")), int32(i/10))
	}
	want, _ := logBatches(t, l)
	require.Greater(t, len(l.segments), 2)

	scan := func(from int64) ([]Batch, error) {
		var got []Batch
		err := l.ScanHeaders(from, func(b Batch) { got = append(got, b) })
		return got, err
	}
	before := cfsys.read.Load()
	got, err := scan(0)
	require.NoError(t, err)
	read := cfsys.read.Load() - before
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].BaseOffset, got[i].BaseOffset)
		assert.Equal(t, want[i].LastOffset(), got[i].LastOffset())
		assert.Equal(t, want[i].PartitionLeaderEpoch, got[i].PartitionLeaderEpoch)
		assert.Equal(t, want[i].MaxTimestamp, got[i].MaxTimestamp)
	}
	assert.Less(t, read, l.Size()/4, "headers only: a few KiB per 40 KB batch, not the records")

	got, err = scan(31) // inside the batch [30, 31]
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Equal(t, int64(30), got[0].BaseOffset)
	assert.Len(t, got, 15)

	got, err = scan(l.LogEndOffset())
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = scan(l.LogEndOffset() + 1)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
	require.NoError(t, l.SetLogStartOffset(10))
	_, err = scan(9)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
}
