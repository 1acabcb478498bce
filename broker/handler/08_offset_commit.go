package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit: v2-9
//
// Behaviour:
//   - the offsets are records of __consumer_offsets (OffsetCommitKey and
//     OffsetCommitValue, Kafka's formats); the response waits until they
//     are committed, so a committed offset is as durable as a record
//   - partitions of topics that do not exist: UNKNOWN_TOPIC_OR_PARTITION
//   - generation -1 with no member id commits to a group with no members
//     (a "simple" group, created if needed); otherwise the member and
//     generation must be current (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
//     FENCED_INSTANCE_ID), and REBALANCE_IN_PROGRESS between JoinGroup and
//     SyncGroup
//   - metadata longer than offset.metadata.max.bytes (4096):
//     OFFSET_METADATA_TOO_LARGE; otherwise it is stored as sent (null as
//     the empty string, as Kafka)
//   - offsets do not expire (offsets.retention.minutes is not enforced)
//
// Version notes:
//   - v2-v4: RetentionTimeMillis, ignored (Kafka 4 ignores it too)
//   - v3: ThrottleMillis
//   - v5: RetentionTimeMillis removed
//   - v6: LeaderEpoch per partition (KIP-320), stored
//   - v7: InstanceID (KIP-345)
//   - v8: flexible (KIP-482)
//   - v9: a group that does not exist is GROUP_ID_NOT_FOUND, not
//     ILLEGAL_GENERATION (KIP-848)
func init() { register(kmsg.OffsetCommit, 2, 9, (*Handlers).offsetCommit) }

func (h *Handlers) offsetCommit(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.OffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	im := h.Controller.Image()

	cr := group.CommitRequest{Group: r.Group, MemberID: r.MemberID, InstanceID: r.InstanceID, Generation: r.Generation}
	// where locates each committed offset's answer in resp.
	type at struct{ ti, pi int }
	var where []at
	for ti, rt := range r.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		t := im.Topics[rt.Topic]
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.Partitions) {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				leaderEpoch := rp.LeaderEpoch
				if r.Version < 6 {
					leaderEpoch = -1
				}
				cr.Offsets = append(cr.Offsets, group.CommitOffset{
					TopicPartition: group.TopicPartition{Topic: rt.Topic, Partition: rp.Partition},
					Offset:         rp.Offset,
					LeaderEpoch:    leaderEpoch,
					Metadata:       rp.Metadata,
				})
				where = append(where, at{ti, pi})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(cr.Offsets) == 0 {
		return ready(resp)
	}
	pending := h.Groups.CommitOffsets(cr, r.Version)
	return wire.Later(func() (kmsg.Response, error) {
		rep, err := pending.Wait(ctx)
		if err != nil {
			return nil, err
		}
		for i, w := range where {
			err := rep.Err
			if err == nil && i < len(rep.Commit) {
				err = rep.Commit[i]
			}
			resp.Topics[w.ti].Partitions[w.pi].ErrorCode = h.errorCode(err)
		}
		return resp, nil
	})
}
