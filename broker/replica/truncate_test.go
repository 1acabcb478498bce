package replica

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A log for these tests: the epochs it holds and the offset each starts
// at; it ends at end. endFor answers OffsetForLeaderEpoch on it, as the
// storage's leader-epoch cache does.
type epochLog struct {
	starts map[int32]int64
	epochs []int32 // ascending
	end    int64
}

func logOf(end int64, epochStarts ...[2]int64) epochLog {
	l := epochLog{starts: map[int32]int64{}, end: end}
	for _, es := range epochStarts {
		l.starts[int32(es[0])] = es[1]
		l.epochs = append(l.epochs, int32(es[0]))
	}
	return l
}

func (l epochLog) endFor(e int32) EpochEnd {
	found := -1
	for i, x := range l.epochs {
		if x <= e {
			found = i
		}
	}
	if found < 0 {
		return Undefined
	}
	if found == len(l.epochs)-1 {
		return EpochEnd{l.epochs[found], l.end}
	}
	return EpochEnd{l.epochs[found], l.starts[l.epochs[found+1]]}
}

func (l epochLog) latest() int32 { return l.epochs[len(l.epochs)-1] }

// truncate runs a follower's truncation against leader to the end, asking
// again while the answer is not final, as the fetcher does.
func truncate(follower, leader epochLog, hw int64) int64 {
	epoch := follower.latest()
	end := follower.end
	for range 10 {
		off, done := TruncationPoint(leader.endFor(epoch), follower.endFor(leader.endFor(epoch).Epoch), end, hw)
		end = off
		if done {
			return end
		}
		epoch = follower.endFor(leader.endFor(epoch).Epoch).Epoch
	}
	return end
}

// Kip101: a follower that took records from an old leader at epoch 1,
// which the new leader (epoch 2) never had, truncates them by epoch,
// keeping what both logs hold.
func TestKip101TruncatesByEpochNotHighWatermark(t *testing.T) {
	leader := logOf(6, [2]int64{1, 0}, [2]int64{2, 4}) // epoch 1: 0-3, epoch 2: 4-5
	follower := logOf(5, [2]int64{1, 0})               // epoch 1: 0-4 (4 never reached the leader)
	assert.Equal(t, int64(4), truncate(follower, leader, 2), "to the leader's end of epoch 1, not to the high watermark 2")
}

// The follower's log ends before the leader's end for the shared epoch:
// nothing to cut.
func TestKip101NothingToTruncateWhenBehind(t *testing.T) {
	leader := logOf(10, [2]int64{1, 0})
	follower := logOf(7, [2]int64{1, 0})
	assert.Equal(t, int64(7), truncate(follower, leader, 3))
}

// Kip279: consecutive fast leader changes. The follower holds epoch 2,
// which the leader never saw (its own log went from 1 to 3): the first
// answer names epoch 1, the follower's end of its older epoch is an
// intermediate point, and asking again with epoch 1 finds the true
// divergence.
func TestKip279TruncatesThroughEpochsTheLeaderNeverSaw(t *testing.T) {
	leader := logOf(9, [2]int64{1, 0}, [2]int64{3, 5})   // epoch 1: 0-4, epoch 3: 5-8
	follower := logOf(8, [2]int64{1, 0}, [2]int64{2, 6}) // epoch 1: 0-5 (5 was never the leader's), epoch 2: 6-7
	off, done := TruncationPoint(leader.endFor(2), follower.endFor(leader.endFor(2).Epoch), follower.end, 0)
	assert.Equal(t, int64(5), off, "the leader ends epoch 1 at 5")
	assert.True(t, done, "the follower holds epoch 1: final")
	assert.Equal(t, int64(5), truncate(follower, leader, 0))
}

// The follower holds only an older epoch than the leader names: an
// intermediate truncation, then a second question.
func TestTruncationAsksAgainWhenTheFollowerLacksTheLeadersEpoch(t *testing.T) {
	leader := logOf(12, [2]int64{1, 0}, [2]int64{2, 3}, [2]int64{4, 8})
	follower := logOf(10, [2]int64{1, 0}, [2]int64{3, 6})
	// The follower's latest epoch is 3; the leader's answer for 3 is
	// epoch 2 ending at 8. The follower holds epoch 1 as its largest at
	// or below 2, ending at 6: an intermediate point.
	off, done := TruncationPoint(leader.endFor(3), follower.endFor(2), follower.end, 0)
	assert.Equal(t, int64(6), off)
	assert.False(t, done)
	assert.Equal(t, int64(3), truncate(follower, leader, 0), "epoch 1 ends at 3 on the leader")
}

func TestTruncationWithoutEpochs(t *testing.T) {
	off, done := TruncationPoint(EpochEnd{Epoch: 2, EndOffset: 7}, Undefined, 10, 4)
	assert.Equal(t, int64(7), off, "the follower holds no epoch at or below: the leader's end bounds it")
	assert.True(t, done)
	off, done = TruncationPoint(Undefined, EpochEnd{1, 10}, 10, 4)
	assert.Equal(t, int64(4), off, "a leader that holds no epoch: the high watermark")
	assert.True(t, done)
}

// KIP-595's diverging epoch at the leader.
func TestDivergingFetch(t *testing.T) {
	leader := logOf(9, [2]int64{1, 0}, [2]int64{3, 5})
	_, div := Diverging(9, 3, leader.endFor(3))
	assert.False(t, div, "at the leader's end, same epoch")
	_, div = Diverging(4, 1, leader.endFor(1))
	assert.False(t, div, "within epoch 1")
	end, div := Diverging(7, 2, leader.endFor(2))
	assert.True(t, div, "the leader never held epoch 2")
	assert.Equal(t, EpochEnd{1, 5}, end)
	end, div = Diverging(6, 1, leader.endFor(1))
	assert.True(t, div, "epoch 1 ended at 5 on the leader")
	assert.Equal(t, EpochEnd{1, 5}, end)
	_, div = Diverging(6, -1, leader.endFor(-1))
	assert.False(t, div, "no epoch named: not checked")
}
