package group

import (
	"cmp"
	"slices"
	"time"
)

// CommitOffsets handles an OffsetCommit parked as w. The offsets become
// visible (to FetchOffsets) and the reply goes out once their records are
// committed (Written). Partitions of unknown topics are the caller's to
// refuse; this checks the member, the generation and the metadata size.
func (g *Group) CommitOffsets(now time.Time, w Waiter, req CommitRequest) Output {
	g.begin(now)
	errs := make([]error, len(req.Offsets))
	if err := g.validateCommit(req); err != nil {
		for i := range errs {
			errs[i] = err
		}
		g.reply(Reply{To: w, Commit: errs})
		return g.end()
	}
	if m := g.members[req.MemberID]; m != nil && (g.state == Stable || g.state == PreparingRebalance) {
		// Commits keep a classic member's session alive.
		g.scheduleHeartbeat(m)
	}
	var records []Record
	var written []writtenOffset
	for i, c := range req.Offsets {
		meta := ""
		if c.Metadata != nil {
			meta = *c.Metadata
		}
		if len(meta) > g.cfg.MaxMetadataSize {
			errs[i] = ErrOffsetMetadataTooLarge
			continue
		}
		o := Offset{Offset: c.Offset, LeaderEpoch: c.LeaderEpoch, Metadata: meta, CommitTimestamp: now.UnixMilli()}
		records = append(records, offsetCommitRecord(g.id, c.TopicPartition, o))
		written = append(written, writtenOffset{index: i, tp: c.TopicPartition, offset: o})
	}
	if len(records) == 0 {
		g.reply(Reply{To: w, Commit: errs})
		return g.end()
	}
	g.write(records, pendingWrite{kind: writeCommit, waiter: w, offsets: written, errs: errs})
	return g.end()
}

// validateCommit is Kafka's ClassicGroup.validateOffsetCommit. Generation
// -1 is a "simple" commit (an admin client, or a consumer that assigns
// partitions itself): allowed only while the group has no members.
func (g *Group) validateCommit(req CommitRequest) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	if req.Generation < 0 && g.state == Empty {
		return nil
	}
	if req.Generation >= 0 || req.MemberID != "" || req.InstanceID != nil {
		if err := g.validateMember(req.MemberID, req.InstanceID); err != nil {
			return err
		}
		if req.Generation != g.generation {
			return ErrIllegalGeneration
		}
	} else if g.state != Empty {
		return ErrUnknownMemberID
	}
	if g.state == CompletingRebalance {
		// The member has its JoinGroup answer but not its assignment:
		// it should sync first.
		return ErrRebalanceInProgress
	}
	return nil
}

// CommittedOffset is one committed offset, for OffsetFetch.
type CommittedOffset struct {
	TopicPartition
	Offset
}

// Offset is the committed offset of a partition, if any.
func (g *Group) Offset(tp TopicPartition) (Offset, bool) {
	o, ok := g.offsets[tp]
	return o, ok
}

// Offsets are every committed offset, by topic and partition.
func (g *Group) Offsets() []CommittedOffset {
	out := make([]CommittedOffset, 0, len(g.offsets))
	for tp, o := range g.offsets {
		out = append(out, CommittedOffset{tp, o})
	}
	slices.SortFunc(out, func(a, b CommittedOffset) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// DeleteOffsets handles an OffsetDelete parked as w: offsets of topics the
// group's consumers are subscribed to stay (GROUP_SUBSCRIBED_TO_TOPIC); a
// non-consumer group must be empty.
func (g *Group) DeleteOffsets(now time.Time, w Waiter, tps []TopicPartition) Output {
	g.begin(now)
	switch g.state {
	case Dead:
		g.reply(Reply{To: w, Err: ErrGroupIDNotFound})
		return g.end()
	case Stable, PreparingRebalance, CompletingRebalance:
		if g.protocolType != ConsumerProtocolType {
			g.reply(Reply{To: w, Err: ErrNonEmptyGroup})
			return g.end()
		}
	}
	errs := make([]error, len(tps))
	var records []Record
	var written []writtenOffset
	for i, tp := range tps {
		if g.state != Empty && g.subscribed[tp.Topic] {
			errs[i] = ErrGroupSubscribedToTopic
			continue
		}
		if _, ok := g.offsets[tp]; ok {
			records = append(records, offsetTombstone(g.id, tp))
			written = append(written, writtenOffset{index: i, tp: tp, delete: true})
		}
	}
	if len(records) == 0 {
		g.reply(Reply{To: w, OffsetDelete: errs})
		return g.end()
	}
	g.write(records, pendingWrite{kind: writeOffsetDelete, waiter: w, offsets: written, errs: errs})
	return g.end()
}

// Delete handles DeleteGroups for this group, parked as w: only an Empty
// group may go. It becomes Dead at once; the tombstones of its offsets and
// of its group record are written, and the reply waits for them.
func (g *Group) Delete(now time.Time, w Waiter) Output {
	g.begin(now)
	switch g.state {
	case Dead:
		g.reply(Reply{To: w, Err: ErrGroupIDNotFound})
		return g.end()
	case Stable, PreparingRebalance, CompletingRebalance:
		g.reply(Reply{To: w, Err: ErrNonEmptyGroup})
		return g.end()
	}
	var records []Record
	for _, o := range g.Offsets() {
		records = append(records, offsetTombstone(g.id, o.TopicPartition))
	}
	records = append(records, groupTombstone(g.id))
	clear(g.offsets)
	clear(g.pending)
	g.join, g.syncAt = joinTimer{}, time.Time{}
	g.transition(Dead)
	g.write(records, pendingWrite{kind: writeGroupDelete, waiter: w})
	return g.end()
}
