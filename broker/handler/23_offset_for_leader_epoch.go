package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch: v2-4
//
// Behaviour: for each partition, the end offset of the requested leader
// epoch: the start offset of the first later epoch, or the log end offset
// when the epoch is the latest (KIP-101, KIP-279). A consumer uses it after
// a leader change to find whether its position was truncated (KIP-320).
//
// Version notes:
//   - v2: CurrentLeaderEpoch (KIP-320): FENCED_LEADER_EPOCH or
//     UNKNOWN_LEADER_EPOCH when it is not the partition's
//   - v3: ReplicaID
//   - v4: flexible (KIP-482)
func init() { register(kmsg.OffsetForLeaderEpoch, 2, 4, (*Handlers).offsetForLeaderEpoch) }

func (h *Handlers) offsetForLeaderEpoch(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			p := h.Partitions.Get(rt.Topic, rp.Partition)
			switch {
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
					sp.ErrorCode = h.errorCode(err)
					break
				}
				sp.LeaderEpoch, sp.EndOffset = p.EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}
