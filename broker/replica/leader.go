package replica

import (
	"errors"
	"slices"
	"time"
)

// Errors of the leader's decisions.
var (
	// ErrNotLeader: this broker does not lead the partition (at the
	// epoch asked for).
	ErrNotLeader = errors.New("this broker is not the leader of the partition")
	// ErrNotEnoughReplicas: an acks=all produce while the ISR is smaller
	// than min.insync.replicas; nothing was appended.
	ErrNotEnoughReplicas = errors.New("fewer in-sync replicas than min.insync.replicas")
	// ErrNotEnoughReplicasAfterAppend: the records were appended, but the
	// ISR shrank below min.insync.replicas before they were committed.
	ErrNotEnoughReplicasAfterAppend = errors.New("appended, but the in-sync replicas fell below min.insync.replicas")
	// ErrUnknownReplica: a fetch from a broker that is not a replica.
	ErrUnknownReplica = errors.New("the fetching broker is not a replica of the partition")
)

// PartitionState is the partition's replication state as the metadata log
// says it (the PartitionRecord).
type PartitionState struct {
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
}

// leaderState is what the leader knows of its followers (Kafka's
// Partition and its remote Replica objects). It is empty on a follower.
type leaderState struct {
	replicas       []int32
	isr            []int32
	partitionEpoch int32
	// pendingISR is the ISR of the AlterPartition in flight (nil: none).
	// Until the controller commits it, the high watermark is computed
	// over the maximal ISR, isr ∪ pendingISR, so it never counts on a
	// replica that may not be in the ISR the controller ends up with
	// (KIP-497; AsyncIsr.tla's HighWatermark).
	pendingISR []int32
	followers  map[int32]*follower
	// epochStart is the log end offset when this broker became leader at
	// its leader epoch: a follower may join the ISR only once the high
	// watermark has reached it, so every new member holds everything the
	// previous leaders committed (Kip320.tla's
	// HasHighWatermarkReachedCurrentEpoch).
	epochStart int64
}

// follower is the leader's view of one follower (Kafka's remote Replica).
type follower struct {
	// end is the follower's log end offset as its last fetch at the
	// current leader epoch said (its fetch offset); -1 until it has
	// fetched at this epoch, so it holds back the high watermark rather
	// than count on a replica that has not acknowledged this leader
	// (Kip320.tla, rule 3).
	end int64
	// caughtUpAt is the last time it was caught up with the leader's log
	// end (lastCaughtUpTimeMs).
	caughtUpAt time.Time
	// lastFetchAt and lastFetchLeaderEnd: the time of its previous fetch
	// and the leader's log end offset then.
	lastFetchAt        time.Time
	lastFetchLeaderEnd int64
}

// IsLeader tells whether this broker leads the partition.
func (r *Replica) IsLeader() bool { return r.leader == r.cfg.Node && r.leader >= 0 }

// ISR is the in-sync replica set the leader works with (the committed
// one; nil on a follower).
func (r *Replica) ISR() []int32 { return slices.Clone(r.isr) }

// PendingISR is the ISR of the AlterPartition in flight, nil if none.
func (r *Replica) PendingISR() []int32 { return slices.Clone(r.pendingISR) }

// SetPartition applies the partition's state from the metadata log:
//   - a leader epoch newer than the replica's, naming this broker: it
//     becomes leader, with every follower unknown until it fetches at the
//     new epoch and every ISR member given a full replica.lag.time.max.ms;
//   - the same leader epoch, naming this broker, with a newer partition
//     epoch: the ISR the controller committed (the end of an
//     AlterPartition, or the controller's own change);
//   - a newer leader epoch naming another broker, or none: it becomes a
//     follower (the caller truncates before fetching, truncate.go).
//
// A stale state (an older leader epoch, or an older partition epoch) is
// ignored.
func (r *Replica) SetPartition(now time.Time, st PartitionState) Output {
	switch {
	case st.LeaderEpoch < r.leaderEpoch:
		return Output{}
	case st.LeaderEpoch == r.leaderEpoch && r.leader == st.Leader && st.PartitionEpoch <= r.partitionEpoch && r.leaderState.followers != nil:
		return Output{}
	}
	if st.Leader != r.cfg.Node || st.Leader < 0 {
		r.leader, r.leaderEpoch = st.Leader, st.LeaderEpoch
		r.leaderState = leaderState{}
		return Output{}
	}
	if st.LeaderEpoch > r.leaderEpoch || r.leader != st.Leader || r.leaderState.followers == nil {
		r.becomeLeader(now, st)
	} else {
		r.isr = slices.Clone(st.ISR)
		r.partitionEpoch = st.PartitionEpoch
		r.pendingISR = nil
		r.replicas = slices.Clone(st.Replicas)
		for _, id := range r.replicas {
			if id != r.cfg.Node && r.followers[id] == nil {
				r.followers[id] = &follower{end: -1, caughtUpAt: now}
			}
		}
	}
	return r.decide()
}

func (r *Replica) becomeLeader(now time.Time, st PartitionState) {
	r.leader, r.leaderEpoch = st.Leader, st.LeaderEpoch
	r.leaderState = leaderState{
		replicas:       slices.Clone(st.Replicas),
		isr:            slices.Clone(st.ISR),
		partitionEpoch: st.PartitionEpoch,
		followers:      map[int32]*follower{},
		epochStart:     r.logEnd,
	}
	for _, id := range st.Replicas {
		if id != r.cfg.Node {
			r.followers[id] = &follower{end: -1, caughtUpAt: now, lastFetchLeaderEnd: -1}
		}
	}
}

// CheckAppend tells whether a produce may append: only the leader takes
// writes, and an acks=all produce needs at least min.insync.replicas in
// the ISR (Kafka checks this before appending).
func (r *Replica) CheckAppend(acksAll bool) error {
	if !r.IsLeader() {
		return ErrNotLeader
	}
	if acksAll && len(r.isr) < r.cfg.MinInsyncReplicas {
		return ErrNotEnoughReplicas
	}
	return nil
}

// Committed tells an acks=all produce waiting for offset end whether it is
// done, and how: nil once the high watermark has passed end with the ISR
// at least min.insync.replicas; ErrNotEnoughReplicasAfterAppend when the
// high watermark passed it with a smaller ISR (Kafka's
// checkEnoughReplicasReachOffset). done is false while it must wait.
func (r *Replica) Committed(end int64) (done bool, err error) {
	if r.hw < end {
		return false, nil
	}
	if len(r.isr) < r.cfg.MinInsyncReplicas {
		return true, ErrNotEnoughReplicasAfterAppend
	}
	return true, nil
}

// FollowerFetched is a follower's fetch at the leader: follower fetched
// from fetchOffset (its log end offset) at currentLeaderEpoch. It updates
// what the leader knows of the follower (KIP-320 fences a fetch at another
// epoch), when it was last caught up (Kafka's rule: caught up now if it
// reached the leader's log end, or as of its previous fetch if it reached
// the log end the leader had then), may move the high watermark, and may
// propose the follower back into the ISR.
func (r *Replica) FollowerFetched(now time.Time, id int32, currentLeaderEpoch int32, fetchOffset int64) (Output, error) {
	if !r.IsLeader() {
		return Output{}, ErrNotLeader
	}
	if err := r.CheckLeaderEpoch(currentLeaderEpoch); err != nil {
		return Output{}, err
	}
	f := r.followers[id]
	if f == nil {
		return Output{}, ErrUnknownReplica
	}
	if fetchOffset > r.logEnd || fetchOffset < 0 {
		// Past the leader's end: the follower must truncate first
		// (the fetch answers with the diverging epoch).
		return Output{}, ErrOffsetOutOfRange
	}
	switch {
	case fetchOffset >= r.logEnd:
		f.caughtUpAt = now
	case f.lastFetchLeaderEnd >= 0 && fetchOffset >= f.lastFetchLeaderEnd:
		f.caughtUpAt = maxTime(f.caughtUpAt, f.lastFetchAt)
	}
	f.lastFetchAt, f.lastFetchLeaderEnd = now, r.logEnd
	f.end = fetchOffset
	out := r.decide()
	if ap := r.proposeExpand(id); ap != nil {
		out.AlterPartition = ap
	}
	return out, nil
}

// proposeExpand proposes follower id back into the ISR when it has caught
// up with the high watermark and the high watermark has reached the start
// of this leader's epoch (Kip320.tla's FencedLeaderExpandIsr), and no
// other change is in flight.
func (r *Replica) proposeExpand(id int32) *AlterPartition {
	f := r.followers[id]
	if r.pendingISR != nil || slices.Contains(r.isr, id) || f.end < r.hw || r.hw < r.epochStart {
		return nil
	}
	isr := append(slices.Clone(r.isr), id)
	slices.Sort(isr)
	return r.propose(isr)
}

// shrinkDue proposes the ISR without the followers that have not caught up
// for replica.lag.time.max.ms (Kafka's maybeShrinkIsr), when no other
// change is in flight. The leader never removes itself.
func (r *Replica) shrinkDue(now time.Time) *AlterPartition {
	if !r.IsLeader() || r.pendingISR != nil || r.cfg.ReplicaLagTimeMax <= 0 {
		return nil
	}
	var out []int32
	shrunk := false
	for _, id := range r.isr {
		if f := r.followers[id]; id != r.cfg.Node && f != nil && now.Sub(f.caughtUpAt) > r.cfg.ReplicaLagTimeMax {
			shrunk = true
			continue
		}
		out = append(out, id)
	}
	if !shrunk {
		return nil
	}
	return r.propose(out)
}

func (r *Replica) propose(isr []int32) *AlterPartition {
	r.pendingISR = isr
	return &AlterPartition{LeaderEpoch: r.leaderEpoch, PartitionEpoch: r.partitionEpoch, ISR: slices.Clone(isr)}
}

// AlterPartitionFailed reports that the controller refused the change in
// flight, or that it was lost: the leader may propose again.
func (r *Replica) AlterPartitionFailed() { r.pendingISR = nil }

// lagDeadline is when the next ISR member falls behind for
// replica.lag.time.max.ms, and whether there is one.
func (r *Replica) lagDeadline() (time.Time, bool) {
	if !r.IsLeader() || r.cfg.ReplicaLagTimeMax <= 0 || r.pendingISR != nil {
		return time.Time{}, false
	}
	var at time.Time
	for _, id := range r.isr {
		f := r.followers[id]
		if id == r.cfg.Node || f == nil {
			continue
		}
		// Strictly after the lag time: Tick fires at or after it, and
		// a follower is behind only past it.
		due := f.caughtUpAt.Add(r.cfg.ReplicaLagTimeMax + time.Nanosecond)
		if at.IsZero() || due.Before(at) {
			at = due
		}
	}
	return at, !at.IsZero()
}

// highWatermarkCandidate is the minimum, over the maximal ISR (the ISR and
// the one in flight), of the end each member has acknowledged: this
// broker's localEnd, each follower's fetch offset at this leader epoch.
// ok is false when a member has not fetched at this epoch yet. A follower
// of the partition (not its leader) computes nothing: its high watermark
// comes from the leader's fetch responses (FollowedLeader).
func (r *Replica) highWatermarkCandidate() (int64, bool) {
	if !r.IsLeader() {
		return 0, false
	}
	c := r.localEnd()
	for _, set := range [][]int32{r.isr, r.pendingISR} {
		for _, id := range set {
			if id == r.cfg.Node {
				continue
			}
			f := r.followers[id]
			if f == nil || f.end < 0 {
				return 0, false
			}
			c = min(c, f.end)
		}
	}
	return c, true
}

// FollowedLeader is a follower's fetch response from its leader: the
// leader's high watermark. A follower's high watermark is the leader's,
// capped at its own log end (Kafka's follower: min(leader HW, LEO)).
func (r *Replica) FollowedLeader(leaderHW int64) Output {
	if r.IsLeader() {
		return Output{}
	}
	hw := min(leaderHW, r.logEnd)
	if hw <= r.hw {
		return Output{}
	}
	r.hw = hw
	return Output{HighWatermarkMoved: true}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
