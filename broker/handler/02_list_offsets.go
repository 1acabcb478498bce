package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets: v1-7
//
// Behaviour: timestamp -1 is the latest offset (the high watermark: what a
// consumer can read), -2 the earliest (the log start offset), -3 the record
// with the largest timestamp (KIP-734); any other timestamp finds the first
// record whose timestamp is at or after it, or offset -1 when there is none.
//
// Version notes:
//   - v1: a single offset per partition, with its timestamp (KIP-79)
//   - v2: IsolationLevel (KIP-98): no transactions, so the same answer
//   - v4: CurrentLeaderEpoch in the request, LeaderEpoch in the response
//     (KIP-320)
//   - v6: flexible (KIP-482)
//   - v7: timestamp -3, max timestamp (KIP-734)
func init() { register(kmsg.ListOffsets, 1, 7, (*Handlers).listOffsets) }

func (h *Handlers) listOffsets(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Offset, sp.Timestamp, sp.LeaderEpoch = -1, -1, -1
			h.listOffset(rt.Topic, rp, &sp)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

func (h *Handlers) listOffset(topic string, rp kmsg.ListOffsetsRequestTopicPartition, sp *kmsg.ListOffsetsResponseTopicPartition) {
	p := h.Partitions.Get(topic, rp.Partition)
	if p == nil {
		sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return
	}
	if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
		sp.ErrorCode = h.errorCode(err)
		return
	}
	sp.LeaderEpoch = p.LeaderEpoch()
	if rp.Timestamp < partition.MaxTimestamp {
		sp.ErrorCode = kerr.InvalidRequest.Code
		return
	}
	off, ts, found, err := p.ListOffset(rp.Timestamp)
	switch {
	case err != nil:
		sp.ErrorCode = h.errorCode(err)
	case found:
		sp.Offset, sp.Timestamp = off, ts
	}
}
