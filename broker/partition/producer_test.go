package partition

import (
	"context"
	"hash/crc32"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idempotentBatch is a batch of n records from producer pid, stamped now.
func idempotentBatch(pid int64, epoch int16, seq int32, n int) []byte {
	return idempotentBatchAt(pid, epoch, seq, n, time.Now().UnixMilli())
}

func idempotentBatchAt(pid int64, epoch int16, seq int32, n int, ts int64) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte("v")}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: ts, MaxTimestamp: ts,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(n), Records: recs}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	raw := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// commit appends records and waits until they are committed (fsynced).
func commit(t *testing.T, p *Partition, records []byte) Appended {
	t.Helper()
	a, err := p.Append(records, time.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(context.Background(), a, 5*time.Second))
	return a
}

func TestDuplicateIsAnsweredWithOriginalOffsets(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)

	commit(t, p, batch(2)) // offsets 0-1, no producer id
	a := commit(t, p, idempotentBatch(7, 0, 0, 3))
	require.Equal(t, int64(2), a.FirstOffset)
	require.False(t, a.Duplicate)

	retry := commit(t, p, idempotentBatch(7, 0, 0, 3))
	require.True(t, retry.Duplicate)
	require.Equal(t, int64(2), retry.FirstOffset)
	require.Equal(t, int64(4), retry.LastOffset)
	require.Equal(t, int64(5), p.LogEndOffset(), "a duplicate is not appended")

	_, err := p.Append(idempotentBatch(7, 0, 4, 1), time.Now())
	require.ErrorIs(t, err, ErrOutOfOrderSequence)
	_, err = p.Append(idempotentBatch(8, 0, 4, 1), time.Now())
	require.ErrorIs(t, err, ErrUnknownProducerID)
	require.Equal(t, int64(5), p.LogEndOffset(), "refused batches are not appended")
}

// TestDuplicateWaitsForTheOriginalToCommit: a retry that arrives before the
// original batch is fsynced must not be acknowledged before it is.
func TestDuplicateWaitsForTheOriginalToCommit(t *testing.T) {
	g := newGate()
	mgr := newManager(gateFS{FS: fs.NewMem(), g: g})
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)

	g.close()
	a, err := p.Append(idempotentBatch(7, 0, 0, 3), time.Now())
	require.NoError(t, err)
	retry, err := p.Append(idempotentBatch(7, 0, 0, 3), time.Now())
	require.NoError(t, err)
	require.True(t, retry.Duplicate)
	waitFor(t, g.waiting, "the fsync of the original")
	require.Equal(t, int64(0), p.HighWatermark(), "nothing is committed before the fsync")
	g.open()
	require.NoError(t, p.WaitCommitted(context.Background(), retry, 5*time.Second))
	require.Equal(t, int64(3), p.HighWatermark(), "waiting for the duplicate committed the original")
	require.NoError(t, p.WaitCommitted(context.Background(), a, 5*time.Second))
}

// TestProducerStateIsRebuiltFromTheLog: the windows live in the batches, so
// they survive a clean restart and a crash, and they forget what a crash
// took away.
func TestProducerStateIsRebuiltFromTheLog(t *testing.T) {
	m := fs.NewMem()
	g := newGate()
	im := image(t, nil, "t", 1, nil)
	open := func() (*Manager, *Partition) {
		mgr := newManager(gateFS{FS: m, g: g})
		require.NoError(t, mgr.Apply(nil, im))
		return mgr, mgr.Get("t", 0)
	}
	mgr, p := open()
	commit(t, p, idempotentBatch(7, 0, 0, 3)) // 0-2
	commit(t, p, idempotentBatch(7, 0, 3, 2)) // 3-4
	commit(t, p, idempotentBatch(9, 2, 0, 1)) // 5

	require.NoError(t, mgr.Close())
	mgr, p = open()
	a, err := p.Append(idempotentBatch(7, 0, 0, 3), time.Now())
	require.NoError(t, err)
	require.True(t, a.Duplicate, "after a restart")
	require.Equal(t, int64(0), a.FirstOffset)
	_, err = p.Append(idempotentBatch(9, 1, 1, 1), time.Now())
	require.ErrorIs(t, err, ErrInvalidProducerEpoch, "the epoch is remembered too")

	// A batch appended but never fsynced is lost in a crash, and so is its
	// place in the window: its retry is appended again.
	g.close() // the partition's own fsync never gets through
	lost, err := p.Append(idempotentBatch(7, 0, 5, 1), time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(6), lost.FirstOffset)
	waitFor(t, g.waiting, "the fsync of the lost batch")
	m.Crash(fs.CrashOptions{})
	g.open()
	_ = mgr.Close() // the fenced files refuse the fsync and the final flush

	mgr, p = open()
	defer mgr.Close()
	require.Equal(t, int64(6), p.LogEndOffset())
	a, err = p.Append(idempotentBatch(7, 0, 3, 2), time.Now())
	require.NoError(t, err)
	require.True(t, a.Duplicate, "after a crash, an acknowledged batch is still a duplicate")
	require.Equal(t, int64(3), a.FirstOffset)
	a = commit(t, p, idempotentBatch(7, 0, 5, 1))
	require.False(t, a.Duplicate, "the lost batch is new again")
	require.Equal(t, int64(6), a.FirstOffset)
}

func TestTruncateRebuildsProducerState(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)
	commit(t, p, idempotentBatch(7, 0, 0, 3)) // 0-2
	commit(t, p, idempotentBatch(7, 0, 3, 2)) // 3-4

	require.NoError(t, p.TruncateTo(3, time.Now()))
	require.Equal(t, int64(3), p.LogEndOffset())
	require.Equal(t, int64(3), p.HighWatermark())
	a := commit(t, p, idempotentBatch(7, 0, 3, 2))
	require.False(t, a.Duplicate, "the window forgot the truncated batch")
	require.Equal(t, int64(3), a.FirstOffset)
	a = commit(t, p, idempotentBatch(7, 0, 0, 3))
	require.True(t, a.Duplicate, "and kept the one before it")
}

// TestRebuildForgetsProducersByBatchTimestamp: a running partition expires
// producers on its own clock, but a rebuilt state has only the batch
// timestamps to go by (Kafka's rule).
func TestRebuildForgetsProducersByBatchTimestamp(t *testing.T) {
	m := fs.NewMem()
	im := image(t, nil, "t", 1, nil)
	mgr := newManager(m)
	require.NoError(t, mgr.Apply(nil, im))
	p := mgr.Get("t", 0)
	old := time.Now().Add(-2 * producerIDExpiration).UnixMilli()
	commit(t, p, idempotentBatchAt(7, 0, 0, 1, old))
	commit(t, p, idempotentBatch(8, 0, 0, 1))
	_, err := p.Append(idempotentBatchAt(7, 0, 1, 1, old), time.Now())
	require.NoError(t, err, "old timestamps do not expire a producer while the broker runs")
	require.NoError(t, mgr.Close())

	mgr = newManager(m)
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, im))
	p = mgr.Get("t", 0)
	_, err = p.Append(idempotentBatchAt(7, 0, 2, 1, old), time.Now())
	require.ErrorIs(t, err, ErrUnknownProducerID, "rebuilt without the old-timestamped producer")
	a, err := p.Append(idempotentBatch(8, 0, 0, 1), time.Now())
	require.NoError(t, err)
	require.True(t, a.Duplicate, "the recent producer is kept")
}
