package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetDelete: v0
//
// Behaviour:
//   - deletes committed offsets (tombstones in __consumer_offsets; the
//     answer waits until they are committed)
//   - a consumer group keeps the offsets of topics its members subscribe to
//     (GROUP_SUBSCRIBED_TO_TOPIC per partition, read from the members'
//     kmsg.ConsumerMemberMetadata); a group of another protocol type must
//     be empty (NON_EMPTY_GROUP)
//   - partitions of topics that do not exist: UNKNOWN_TOPIC_OR_PARTITION
//   - a group that does not exist: GROUP_ID_NOT_FOUND
func init() { register(kmsg.OffsetDelete, 0, 0, (*Handlers).offsetDelete) }

func (h *Handlers) offsetDelete(ctx context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.OffsetDeleteRequest)
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	im := h.Controller.Image()
	type at struct{ ti, pi int }
	var tps []group.TopicPartition
	var where []at
	for ti, rt := range r.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		t := im.Topics[rt.Topic]
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.Partitions) {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				tps = append(tps, group.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
				where = append(where, at{ti, pi})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	pending := h.Groups.DeleteOffsets(r.Group, tps)
	return wire.Later(func() (kmsg.Response, error) {
		rep, err := pending.Wait(ctx)
		if err != nil {
			return nil, err
		}
		if rep.Err != nil {
			resp.ErrorCode = h.errorCode(rep.Err)
			resp.Topics = nil
			return resp, nil
		}
		for i, w := range where {
			var perr error
			if i < len(rep.OffsetDelete) {
				perr = rep.OffsetDelete[i]
			}
			resp.Topics[w.ti].Partitions[w.pi].ErrorCode = h.errorCode(perr)
		}
		return resp, nil
	})
}
