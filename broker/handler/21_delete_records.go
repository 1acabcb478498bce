package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteRecords: v0-2
//
// Behaviour: moves each partition's log start offset up to the requested
// offset (-1 means the high watermark) and answers the new log start offset
// (the "low watermark"). An offset past the high watermark is
// OFFSET_OUT_OF_RANGE. The new start is durable before the answer; whole
// segments below it are deleted.
//
// Version notes:
//   - v1: same as v0 (throttle behaviour, KIP-219)
//   - v2: flexible (KIP-482)
func init() { register(kmsg.DeleteRecords, 0, 2, (*Handlers).deleteRecords) }

func (h *Handlers) deleteRecords(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			p := h.Partitions.Get(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if low, err := p.DeleteRecordsBefore(rp.Offset); err != nil {
				sp.ErrorCode = h.errorCode(err)
			} else {
				sp.LowWatermark = low
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}
