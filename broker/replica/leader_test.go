package replica

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The leader's rules, each test named after the rule of Kafka's
// replication it checks; the TLA+ actions are those of
// hachikuji/kafka-specification (KafkaReplication.tla, Kip320.tla,
// AsyncIsr.tla).

const lag = 30 * time.Second

var interval1 = FlushPolicy{Interval: time.Second} // committed once written: offsets are the log end

// leaderOf3 is node 1 leading replicas 1, 2, 3 (all in the ISR) at leader
// epoch 5, with end records in its log.
func leaderOf3(t *testing.T, end int64) *Replica {
	t.Helper()
	r := New(Recovered{LogEndOffset: end, HighWatermark: 0}, interval1, Config{Node: 1, ReplicaLagTimeMax: lag, MinInsyncReplicas: 2})
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 7, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	require.True(t, r.IsLeader())
	return r
}

func fetch(t *testing.T, r *Replica, now time.Time, id int32, offset int64) Output {
	t.Helper()
	out, err := r.FollowerFetched(now, id, 5, offset)
	require.NoError(t, err)
	return out
}

// FencedLeaderIncHighWatermark: the high watermark is the smallest end
// acknowledged over the ISR.
func TestHighWatermarkIsTheMinimumOverTheISR(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0, 2, 10)
	assert.Equal(t, int64(0), r.HighWatermark(), "3 has not fetched yet")
	out := fetch(t, r, t0, 3, 6)
	assert.True(t, out.HighWatermarkMoved)
	assert.Equal(t, int64(6), r.HighWatermark())
	fetch(t, r, t0, 3, 10)
	assert.Equal(t, int64(10), r.HighWatermark())
	r.Appended(t0, 12)
	assert.Equal(t, int64(10), r.HighWatermark(), "nobody has fetched 10 and 11 yet")
}

// Kip320 rule 3: the leader counts a follower only once it has fetched at
// the leader's current epoch; what it acknowledged to an earlier leader
// does not count.
func TestHighWatermarkCountsOnlyFetchesAtTheCurrentEpoch(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0, 2, 10)
	fetch(t, r, t0, 3, 10)
	require.Equal(t, int64(10), r.HighWatermark())

	// A new leader epoch for this broker (a leadership bounced back):
	// the followers must fetch again before anything new commits.
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 6, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	r.Appended(t0, 11)
	_, err := r.FollowerFetched(t0, 2, 5, 11)
	assert.ErrorIs(t, err, ErrFencedLeaderEpoch, "a fetch at the old epoch is fenced (KIP-320)")
	_, err = r.FollowerFetched(t0, 2, 7, 11)
	assert.ErrorIs(t, err, ErrUnknownLeaderEpoch)
	assert.Equal(t, int64(10), r.HighWatermark(), "the high watermark never moves back")
	_, err = r.FollowerFetched(t0, 2, 6, 11)
	require.NoError(t, err)
	assert.Equal(t, int64(10), r.HighWatermark(), "3 has not fetched at epoch 6")
	_, err = r.FollowerFetched(t0, 3, 6, 11)
	require.NoError(t, err)
	assert.Equal(t, int64(11), r.HighWatermark())
}

// The per-append flush policy: the leader's own records count once on its
// disk, like every follower's acknowledgement.
func TestLeaderCountsItsOwnRecordsOnceFlushed(t *testing.T) {
	r := New(Recovered{}, syncEach, Config{Node: 1, MinInsyncReplicas: 1})
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	require.True(t, r.Appended(t0, 4).Flush)
	_, err := r.FollowerFetched(t0, 2, 1, 4)
	require.NoError(t, err)
	assert.Equal(t, int64(0), r.HighWatermark(), "the leader's own copy is not on disk yet")
	r.Flushed(t0, 4)
	assert.Equal(t, int64(4), r.HighWatermark())
}

// FencedLeaderShrinkIsr with replica.lag.time.max.ms: a follower that has
// not caught up with the leader's log end for the lag time is proposed
// out of the ISR; one that keeps up is not.
func TestShrinkAFollowerBehindForTheLagTime(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0, 2, 10)
	fetch(t, r, t0, 3, 10)
	at, ok := r.NextDeadline()
	require.True(t, ok)
	assert.Equal(t, t0.Add(lag+time.Nanosecond), at)

	// 2 keeps fetching to the end; 3 stops.
	for i := 1; i <= 3; i++ {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		r.Appended(now, 10+int64(i))
		fetch(t, r, now, 2, 10+int64(i))
	}
	out := r.Tick(t0.Add(lag))
	assert.Nil(t, out.AlterPartition, "exactly the lag time is not past it")
	out = r.Tick(t0.Add(lag + time.Millisecond))
	require.NotNil(t, out.AlterPartition)
	assert.Equal(t, AlterPartition{LeaderEpoch: 5, PartitionEpoch: 7, ISR: []int32{1, 2}}, *out.AlterPartition)
	assert.Equal(t, []int32{1, 2}, r.PendingISR())
	assert.Nil(t, r.Tick(t0.Add(2*lag)).AlterPartition, "one change in flight at a time")
}

// Kafka's lastCaughtUpTime: a follower that fetches up to the log end the
// leader had at its previous fetch was caught up as of that fetch, even if
// the leader has moved on since.
func TestCaughtUpAsOfThePreviousFetch(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0, 2, 10) // caught up at t0
	r.Appended(t0.Add(time.Second), 20)
	fetch(t, r, t0.Add(20*time.Second), 2, 15) // behind, but not where the leader was at its last fetch? 15 >= 10: caught up as of t0
	r.Appended(t0.Add(25*time.Second), 30)
	fetch(t, r, t0.Add(40*time.Second), 2, 20) // reached 20, the leader's end at the previous fetch: caught up as of t0+20s
	fetch(t, r, t0.Add(40*time.Second), 3, 30)
	assert.Nil(t, r.Tick(t0.Add(20*time.Second+lag)).AlterPartition)
	out := r.Tick(t0.Add(20*time.Second + lag + time.Millisecond))
	require.NotNil(t, out.AlterPartition)
	assert.Equal(t, []int32{1, 3}, out.AlterPartition.ISR)
}

// AsyncIsr.tla's ValidHighWatermark: while a shrink is in flight the high
// watermark is still computed over the old (maximal) ISR, so it never
// passes a replica the controller may keep in the ISR.
func TestHighWatermarkOverTheMaximalISRWhileAShrinkIsInFlight(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0, 2, 10)
	fetch(t, r, t0, 3, 4)
	r.Appended(t0.Add(time.Second), 12)
	fetch(t, r, t0.Add(time.Second), 2, 12)
	out := r.Tick(t0.Add(lag + 500*time.Millisecond)) // 3 is past the lag time, 2 is not
	require.NotNil(t, out.AlterPartition)
	assert.Equal(t, []int32{1, 2}, out.AlterPartition.ISR)
	assert.Equal(t, int64(4), r.HighWatermark(), "3 is still counted until the shrink commits")

	out = r.SetPartition(t0.Add(lag+time.Second), PartitionState{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}})
	assert.True(t, out.HighWatermarkMoved)
	assert.Equal(t, int64(12), r.HighWatermark())
	assert.Equal(t, []int32{1, 2}, r.ISR())
	assert.Nil(t, r.PendingISR())
}

// A refused change leaves the ISR as it was, and may be proposed again.
func TestAlterPartitionFailedMayBeProposedAgain(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0.Add(lag), 2, 10) // 2 keeps up, 3 never fetches
	now := t0.Add(lag + time.Second)
	require.NotNil(t, r.Tick(now).AlterPartition)
	r.AlterPartitionFailed()
	assert.Equal(t, []int32{1, 2, 3}, r.ISR())
	out := r.Tick(now)
	require.NotNil(t, out.AlterPartition)
	assert.Equal(t, []int32{1, 2}, out.AlterPartition.ISR)
}

// FencedLeaderExpandIsr: a follower rejoins once it has caught up with the
// high watermark and the high watermark has reached the start of the
// leader's epoch; from the proposal on it counts (the maximal ISR).
func TestExpandOnceCaughtUpWithTheHighWatermarkOfThisEpoch(t *testing.T) {
	r := New(Recovered{LogEndOffset: 10, HighWatermark: 6}, interval1, Config{Node: 1, ReplicaLagTimeMax: lag, MinInsyncReplicas: 1})
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}})
	// The new leader's epoch starts at 10; its high watermark (6) is
	// behind: 3 at 8 is past the high watermark but may lack 8 and 9,
	// which the previous leader may have committed.
	out := fetch(t, r, t0, 3, 8)
	assert.Nil(t, out.AlterPartition, "the high watermark has not reached the epoch start")
	fetch(t, r, t0, 2, 10)
	assert.Equal(t, int64(10), r.HighWatermark())
	out = fetch(t, r, t0, 3, 9)
	assert.Nil(t, out.AlterPartition, "not caught up with the high watermark")
	out = fetch(t, r, t0, 3, 10)
	require.NotNil(t, out.AlterPartition)
	assert.Equal(t, []int32{1, 2, 3}, out.AlterPartition.ISR)

	r.Appended(t0, 12)
	fetch(t, r, t0, 2, 12)
	assert.Equal(t, int64(10), r.HighWatermark(), "the member in flight counts at once")
}

// min.insync.replicas: acks=all is refused before the append with too few
// in-sync replicas, and fails after it when the ISR shrank before commit.
func TestMinInsyncReplicas(t *testing.T) {
	r := leaderOf3(t, 10)
	require.NoError(t, r.CheckAppend(true))
	fetch(t, r, t0, 2, 10)
	fetch(t, r, t0, 3, 10)
	r.Appended(t0, 11)
	done, err := r.Committed(11)
	assert.False(t, done)
	require.NoError(t, err)

	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{1}})
	assert.ErrorIs(t, r.CheckAppend(true), ErrNotEnoughReplicas)
	assert.NoError(t, r.CheckAppend(false), "acks=1 does not need the ISR")
	assert.Equal(t, int64(11), r.HighWatermark(), "alone in the ISR, the leader commits by itself")
	done, err = r.Committed(11)
	assert.True(t, done)
	assert.ErrorIs(t, err, ErrNotEnoughReplicasAfterAppend)
}

func TestOnlyTheLeaderTakesWritesAndFetches(t *testing.T) {
	r := New(Recovered{LogEndOffset: 3}, interval1, Config{Node: 2, MinInsyncReplicas: 1})
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	assert.ErrorIs(t, r.CheckAppend(false), ErrNotLeader)
	_, err := r.FollowerFetched(t0, 1, 5, 0)
	assert.ErrorIs(t, err, ErrNotLeader)
	leader := leaderOf3(t, 10)
	_, err = leader.FollowerFetched(t0, 9, 5, 0)
	assert.ErrorIs(t, err, ErrUnknownReplica)
	_, err = leader.FollowerFetched(t0, 2, 5, 11)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange, "a follower past the leader's end must truncate")
}

// Stale metadata (an older leader epoch or partition epoch) changes
// nothing.
func TestStalePartitionStateIsIgnored(t *testing.T) {
	r := leaderOf3(t, 10)
	r.SetPartition(t0, PartitionState{Leader: 2, LeaderEpoch: 4, Replicas: []int32{1, 2, 3}, ISR: []int32{2}})
	assert.True(t, r.IsLeader())
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 6, Replicas: []int32{1, 2, 3}, ISR: []int32{1}})
	assert.Equal(t, []int32{1, 2, 3}, r.ISR())
}

// A follower's high watermark is the leader's, capped at its own log end
// (FencedFollowerFetch).
func TestFollowerHighWatermarkIsTheLeadersCappedAtItsLogEnd(t *testing.T) {
	r := New(Recovered{LogEndOffset: 3}, interval1, Config{Node: 2, MinInsyncReplicas: 1})
	r.SetPartition(t0, PartitionState{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	assert.Equal(t, Output{}, r.Appended(t0, 8), "a follower's appends do not commit by themselves")
	assert.Equal(t, int64(0), r.HighWatermark())
	assert.True(t, r.FollowedLeader(5).HighWatermarkMoved)
	assert.Equal(t, int64(5), r.HighWatermark())
	r.FollowedLeader(20)
	assert.Equal(t, int64(8), r.HighWatermark())
}

// A leader that becomes a follower keeps its high watermark (capped by a
// truncation later), and stops proposing ISR changes.
func TestLeaderBecomingFollowerDropsItsLeaderState(t *testing.T) {
	r := leaderOf3(t, 10)
	fetch(t, r, t0, 2, 10)
	fetch(t, r, t0, 3, 10)
	r.SetPartition(t0, PartitionState{Leader: 2, LeaderEpoch: 6, Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}})
	assert.False(t, r.IsLeader())
	assert.Equal(t, int64(10), r.HighWatermark())
	assert.Nil(t, r.Tick(t0.Add(time.Hour)).AlterPartition)
	_, ok := r.NextDeadline()
	assert.False(t, ok)
}
