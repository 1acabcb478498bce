package replica

// Truncation and divergence: how a follower's log is made a prefix of its
// leader's after a leader change, by leader epoch (KIP-101, KIP-279), and
// never by the high watermark alone, which loses committed records when
// leaders change quickly (KafkaTruncateToHighWatermark.tla shows how).
// Every stored batch carries the leader epoch that wrote it, and each log
// knows where each of its epochs ends (the leader-epoch checkpoint).

// EpochEnd is a log's answer to OffsetForLeaderEpoch for some epoch e: the
// largest epoch at or below e that the log holds, and the offset where it
// ends (the start of the next epoch, or the log end for the latest). Epoch
// -1 and EndOffset -1 mean the log holds no such epoch.
type EpochEnd struct {
	Epoch     int32
	EndOffset int64
}

// Undefined is the answer of a log that holds no epoch at or below the one
// asked for (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
var Undefined = EpochEnd{Epoch: -1, EndOffset: -1}

// Diverging decides, at the leader, whether a follower's fetch has left
// the leader's log (KIP-595's DivergingEpoch in Fetch v12+, which spares
// the follower a round of OffsetForLeaderEpoch): the follower fetches at
// fetchOffset, and the last record it holds has epoch lastFetchedEpoch;
// leaderEnd is the leader's own answer for lastFetchedEpoch. They have
// diverged when the leader does not hold that epoch (its answer is an
// older one) or holds it ending before the fetch offset. The answer to
// send back is leaderEnd; the follower then truncates (TruncationPoint).
// A follower that names no epoch (-1: an empty log, or an old fetch
// version) is not checked.
func Diverging(fetchOffset int64, lastFetchedEpoch int32, leaderEnd EpochEnd) (EpochEnd, bool) {
	if lastFetchedEpoch < 0 {
		return EpochEnd{}, false
	}
	if leaderEnd.Epoch < lastFetchedEpoch || leaderEnd.EndOffset < fetchOffset {
		return leaderEnd, true
	}
	return EpochEnd{}, false
}

// TruncationPoint decides where a follower truncates, given the leader's
// answer for the follower's latest epoch (from OffsetForLeaderEpoch or a
// fetch's diverging epoch), the follower's own answer for the epoch the
// leader named (local), its log end and its high watermark. It follows
// Kafka's AbstractFetcherThread:
//   - the follower holds the epoch the leader named: truncate to where
//     the first of the two logs ends it (KIP-101), and no further than the
//     log end: done;
//   - the follower holds only older epochs than the one the leader named:
//     truncate to where its largest of them ends, which the leader's log
//     may still diverge below, so done is false: ask again for that
//     epoch (KIP-279, consecutive fast leader changes);
//   - the follower holds no epoch at or below it: the leader's end offset
//     bounds it;
//   - the leader holds no epoch at or below the follower's (its log is
//     empty of epochs): the high watermark, the one case where Kafka falls
//     back to it, since the leader can say nothing about the records.
func TruncationPoint(leader, local EpochEnd, logEnd, highWatermark int64) (offset int64, done bool) {
	switch {
	case leader.EndOffset < 0:
		return min(highWatermark, logEnd), true
	case local.Epoch == leader.Epoch:
		return min(leader.EndOffset, local.EndOffset, logEnd), true
	case local.Epoch < 0:
		return min(leader.EndOffset, logEnd), true
	default:
		return min(local.EndOffset, logEnd), false
	}
}
