package replica

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Unix(1_700_000_000, 0)

var (
	syncEach = FlushPolicy{SyncEachAppend: true}
	interval = FlushPolicy{Interval: time.Second}
)

// open is a single-replica partition led by this broker (node 1) at
// leader epoch 3.
func open(end int64, p FlushPolicy) *Replica {
	r := New(Recovered{LogStartOffset: 0, LogEndOffset: end, HighWatermark: end}, p, Config{Node: 1, MinInsyncReplicas: 1})
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 3, Replicas: []int32{1}, ISR: []int32{1}})
	return r
}

func TestRecoveredLogIsFlushedAndCommitted(t *testing.T) {
	r := open(7, syncEach)
	assert.Equal(t, int64(7), r.HighWatermark())
	assert.Equal(t, int64(7), r.FlushedOffset())
	assert.Equal(t, int64(7), r.LogEndOffset())
	_, due := r.NextDeadline()
	assert.False(t, due)
}

// Under flush.messages=1 a record counts only once it is on disk, whatever
// the producer's acks: the core asks for the fsync itself.
func TestSyncEachAppendCommitsAfterTheFsyncOnly(t *testing.T) {
	r := open(0, syncEach)
	out := r.Appended(t0, 3)
	assert.Equal(t, Output{Flush: true}, out, "the append asks for an fsync at once")
	assert.Equal(t, int64(0), r.HighWatermark(), "nothing is committed before the fsync")
	until, err := r.ReadBound(0)
	require.NoError(t, err)
	assert.Equal(t, int64(0), until, "appended but unflushed records are invisible")

	out = r.Flushed(t0, 3)
	assert.Equal(t, Output{HighWatermarkMoved: true}, out)
	assert.Equal(t, int64(3), r.HighWatermark())
	until, err = r.ReadBound(0)
	require.NoError(t, err)
	assert.Equal(t, int64(3), until)
}

// Group commit: appends that arrive while an fsync runs do not start
// another; the next one covers them all.
func TestSyncEachAppendOneFsyncInFlightCoversLaterAppends(t *testing.T) {
	r := open(0, syncEach)
	require.True(t, r.Appended(t0, 1).Flush)
	assert.False(t, r.Appended(t0, 2).Flush, "an fsync is in flight")
	assert.False(t, r.Appended(t0, 5).Flush, "an fsync is in flight")

	out := r.Flushed(t0, 1) // the fsync started before the later appends
	assert.Equal(t, Output{Flush: true, HighWatermarkMoved: true}, out)
	assert.Equal(t, int64(1), r.HighWatermark())

	out = r.Flushed(t0, 5)
	assert.Equal(t, Output{HighWatermarkMoved: true}, out)
	assert.Equal(t, int64(5), r.HighWatermark())
}

// An fsync the caller runs on its own (shutdown) makes records durable and
// committed, but leaves the core's own fsync in charge: no second one is
// asked for while the first is in flight.
func TestSyncedOutsideLeavesTheFsyncInFlight(t *testing.T) {
	r := open(0, syncEach)
	require.True(t, r.Appended(t0, 2).Flush)
	r.Appended(t0, 4)
	out := r.Synced(t0, 3)
	assert.Equal(t, Output{HighWatermarkMoved: true}, out, "no second fsync while one is in flight")
	assert.Equal(t, int64(3), r.HighWatermark())
	out = r.Flushed(t0, 3)
	assert.Equal(t, Output{Flush: true}, out, "the record past the outside fsync still needs one")
}

// A failed fsync commits nothing more: what waits for the high watermark
// is never acknowledged, and no more fsyncs are asked for.
func TestFailedFsyncCommitsNothingMore(t *testing.T) {
	r := open(0, syncEach)
	require.True(t, r.Appended(t0, 2).Flush)
	r.FlushFailed()
	assert.True(t, r.Failed())
	assert.Equal(t, Output{}, r.Appended(t0, 4))
	assert.Equal(t, Output{}, r.Tick(t0.Add(time.Hour)))
	assert.Equal(t, int64(0), r.HighWatermark())
}

// Under the interval policy records are committed once appended (Kafka's
// default trade-off) and fsynced by a deadline, not by the append.
func TestIntervalPolicyCommitsAtOnceAndFlushesByDeadline(t *testing.T) {
	r := open(0, interval)
	out := r.Appended(t0, 2)
	assert.Equal(t, Output{HighWatermarkMoved: true}, out)
	assert.Equal(t, int64(2), r.HighWatermark())

	at, ok := r.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Second), at, "the first unflushed append starts the clock")
	r.Appended(t0.Add(500*time.Millisecond), 3)
	at, _ = r.NextDeadline()
	assert.Equal(t, t0.Add(time.Second), at, "later appends do not push the deadline back")

	assert.Equal(t, Output{}, r.Tick(t0.Add(999*time.Millisecond)))
	assert.Equal(t, Output{Flush: true}, r.Tick(t0.Add(time.Second)))
	_, ok = r.NextDeadline()
	assert.False(t, ok, "the fsync in flight covers everything appended")

	r.Appended(t0.Add(1100*time.Millisecond), 4) // while the fsync runs
	_, ok = r.NextDeadline()
	assert.False(t, ok, "the fsync in flight decides what is next")
	at = t0.Add(2100 * time.Millisecond)
	assert.Equal(t, Output{}, r.Tick(at), "one fsync at a time")
	assert.Equal(t, Output{}, r.Flushed(t0.Add(1200*time.Millisecond), 3))
	next, ok := r.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, at, next, "records appended during the fsync got their own deadline")
	assert.Equal(t, Output{Flush: true}, r.Tick(at))
	assert.Equal(t, Output{}, r.Flushed(at, 4))
	_, ok = r.NextDeadline()
	assert.False(t, ok, "nothing left to flush")
	assert.Equal(t, int64(4), r.FlushedOffset())
}

func TestPolicyChangeFromIntervalToSyncFlushesWhatWaits(t *testing.T) {
	r := open(0, interval)
	r.Appended(t0, 2)
	out := r.SetPolicy(t0, syncEach)
	assert.Equal(t, Output{Flush: true}, out)
	_, ok := r.NextDeadline()
	assert.False(t, ok)
}

func TestPolicyChangeFromSyncToIntervalCommitsWhatWaits(t *testing.T) {
	r := open(0, syncEach)
	require.True(t, r.Appended(t0, 2).Flush)
	out := r.SetPolicy(t0, interval)
	assert.True(t, out.HighWatermarkMoved)
	assert.Equal(t, int64(2), r.HighWatermark())
	_, ok := r.NextDeadline()
	assert.False(t, ok, "the fsync asked for under the old policy is in flight")
	r.Flushed(t0, 1) // it covered only the first record
	at, ok := r.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Second), at)
}

func TestShorterFlushMsBringsTheDeadlineForward(t *testing.T) {
	r := open(0, FlushPolicy{Interval: time.Minute})
	r.Appended(t0, 1)
	r.SetPolicy(t0.Add(time.Second), FlushPolicy{Interval: time.Second})
	at, _ := r.NextDeadline()
	assert.Equal(t, t0.Add(2*time.Second), at)
}

// KIP-320: a request's leader epoch older than the replica's is fenced, a
// newer one unknown; -1 skips the check.
func TestLeaderEpochFencing(t *testing.T) {
	r := open(0, syncEach)
	assert.NoError(t, r.CheckLeaderEpoch(-1))
	assert.NoError(t, r.CheckLeaderEpoch(3))
	assert.ErrorIs(t, r.CheckLeaderEpoch(2), ErrFencedLeaderEpoch)
	assert.ErrorIs(t, r.CheckLeaderEpoch(4), ErrUnknownLeaderEpoch)
	r.SetPartition(t0, PartitionState{Leader: 2, LeaderEpoch: 4, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	assert.NoError(t, r.CheckLeaderEpoch(4))
	assert.Equal(t, int32(2), r.Leader())
	assert.False(t, r.IsLeader())
	assert.ErrorIs(t, r.CheckLeaderEpoch(3), ErrFencedLeaderEpoch)
}

// A consumer sees only what is below the high watermark; between it and
// the log end an answer is empty, not an error; outside the log it is
// OFFSET_OUT_OF_RANGE.
func TestReadBound(t *testing.T) {
	r := open(10, syncEach)
	r.LogStartMoved(4)
	r.Appended(t0, 12) // 10 and 11 unflushed
	for _, tc := range []struct {
		offset, until int64
		err           error
	}{
		{3, 0, ErrOffsetOutOfRange},
		{4, 10, nil},
		{9, 10, nil},
		{10, 10, nil},
		{12, 12, nil},
		{13, 0, ErrOffsetOutOfRange},
	} {
		until, err := r.ReadBound(tc.offset)
		if tc.err != nil {
			assert.ErrorIs(t, err, tc.err, "offset %d", tc.offset)
			continue
		}
		require.NoError(t, err, "offset %d", tc.offset)
		assert.Equal(t, tc.until, until, "offset %d", tc.offset)
	}
	assert.True(t, r.Visible(9))
	assert.False(t, r.Visible(10), "not committed")
	assert.False(t, r.Visible(3), "deleted")
}

func TestLogStartNeverMovesBack(t *testing.T) {
	r := open(10, syncEach)
	r.LogStartMoved(5)
	r.LogStartMoved(2)
	assert.Equal(t, int64(5), r.LogStartOffset())
}

// DeleteRecords may not pass the high watermark; -1 means the high
// watermark.
func TestDeleteRecordsBound(t *testing.T) {
	r := open(10, syncEach)
	r.Appended(t0, 15)
	to, err := r.DeleteRecordsBound(-1)
	require.NoError(t, err)
	assert.Equal(t, int64(10), to)
	to, err = r.DeleteRecordsBound(7)
	require.NoError(t, err)
	assert.Equal(t, int64(7), to)
	_, err = r.DeleteRecordsBound(11)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
	_, err = r.DeleteRecordsBound(-5)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
}

// Truncation (KIP-101) cuts the log end, and with it the flushed offset and
// the high watermark, never past what is left.
func TestTruncatedCutsEverythingPastTheNewEnd(t *testing.T) {
	r := open(10, syncEach)
	r.Truncated(6)
	assert.Equal(t, int64(6), r.LogEndOffset())
	assert.Equal(t, int64(6), r.FlushedOffset())
	assert.Equal(t, int64(6), r.HighWatermark())
	r.Truncated(8)
	assert.Equal(t, int64(6), r.LogEndOffset(), "truncation never lengthens the log")
}

func TestStaleAppendIsIgnored(t *testing.T) {
	r := open(10, syncEach)
	assert.Equal(t, Output{}, r.Appended(t0, 10))
	assert.Equal(t, Output{}, r.Appended(t0, 9))
	assert.Equal(t, int64(10), r.LogEndOffset())
}

// An fsync that could not run for want of a file descriptor is not a
// failure: nothing is committed meanwhile, the core asks for it again at
// the retry time (or with the next append), and commits once it succeeds.
func TestPostponedFlushIsRetried(t *testing.T) {
	r := open(0, syncEach)
	require.True(t, r.Appended(t0, 2).Flush)
	r.FlushPostponed(t0.Add(time.Second))
	assert.False(t, r.Failed())
	assert.Equal(t, int64(0), r.HighWatermark())
	at, ok := r.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Second), at)
	assert.Equal(t, Output{}, r.Tick(t0.Add(time.Second/2)), "not due yet")

	out := r.Tick(t0.Add(time.Second))
	assert.Equal(t, Output{Flush: true}, out, "the retry")
	_, ok = r.NextDeadline()
	assert.False(t, ok, "the retry deadline is spent: no timer loop while the fsync runs")
	r.FlushPostponed(t0.Add(2 * time.Second))

	// Under the per-append policy the next append asks at once.
	assert.Equal(t, Output{Flush: true}, r.Appended(t0.Add(1500*time.Millisecond), 3))
	assert.Equal(t, Output{HighWatermarkMoved: true}, r.Flushed(t0.Add(1500*time.Millisecond), 3))
	assert.Equal(t, int64(3), r.HighWatermark())
	_, ok = r.NextDeadline()
	assert.False(t, ok, "everything is durable: no retry left")

	// Under the interval policy the records are committed already; the
	// retry only makes them durable.
	r = open(0, interval)
	r.Appended(t0, 4)
	require.True(t, r.Tick(t0.Add(time.Second)).Flush)
	r.FlushPostponed(t0.Add(1200 * time.Millisecond))
	assert.Equal(t, int64(4), r.HighWatermark())
	at, _ = r.NextDeadline()
	assert.Equal(t, t0.Add(1200*time.Millisecond), at)
	assert.True(t, r.Tick(at).Flush)
}

// While an fsync runs, a flush deadline that passes is not a deadline to
// wake for: the fsync's report decides what comes next (a timer armed for
// a past deadline would fire again and again until it returns).
func TestNoDeadlineForAFlushWhileOneRuns(t *testing.T) {
	r := open(0, interval)
	r.Appended(t0, 1)
	require.True(t, r.Tick(t0.Add(time.Second)).Flush)
	r.Appended(t0.Add(1100*time.Millisecond), 2) // due at 2.1 s
	_, ok := r.NextDeadline()
	assert.False(t, ok, "the fsync in flight decides")
	assert.Equal(t, Output{}, r.Tick(t0.Add(3*time.Second)))
	r.Flushed(t0.Add(3*time.Second), 1)
	at, ok := r.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, t0.Add(2100*time.Millisecond), at, "past: due at once")
	assert.True(t, r.Tick(at).Flush)
}
