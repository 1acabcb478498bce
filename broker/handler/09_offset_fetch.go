package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetFetch: v1-9
//
// Behaviour:
//   - returns the committed offsets, with their leader epoch and metadata;
//     a partition with none gets offset -1 and empty metadata, not an error
//   - null topics (v2+) means every partition the group committed
//   - only committed (durable) offsets are visible: a commit shows once
//     its records are committed
//   - a group that does not exist has no offsets
//
// Version notes:
//   - v2: top-level ErrorCode; null topics = all
//   - v3: ThrottleMillis
//   - v5: LeaderEpoch (KIP-320)
//   - v6: flexible (KIP-482)
//   - v7: RequireStable (KIP-447): there are no pending transactional
//     offsets here, so every offset is stable
//   - v8: several groups per request (KIP-709)
//   - v9: MemberID and MemberEpoch (KIP-848), not checked for classic
//     groups (as Kafka)
func init() { register(kmsg.OffsetFetch, 1, 9, (*Handlers).offsetFetch) }

func (h *Handlers) offsetFetch(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.OffsetFetchRequest)
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if r.Version >= 8 {
		for _, rg := range r.Groups {
			sg := kmsg.NewOffsetFetchResponseGroup()
			sg.Group = rg.Group
			var topics []fetchTopic
			if rg.Topics != nil {
				topics = []fetchTopic{}
				for _, t := range rg.Topics {
					topics = append(topics, fetchTopic{t.Topic, t.Partitions})
				}
			}
			got, err := h.fetchOffsets(rg.Group, topics)
			sg.ErrorCode = h.errorCode(err)
			for _, t := range got {
				gt := kmsg.NewOffsetFetchResponseGroupTopic()
				gt.Topic = t.topic
				for _, p := range t.partitions {
					gp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata
					gt.Partitions = append(gt.Partitions, gp)
				}
				sg.Topics = append(sg.Topics, gt)
			}
			resp.Groups = append(resp.Groups, sg)
		}
		return ready(resp)
	}

	var topics []fetchTopic
	if r.Topics != nil || r.Version < 2 {
		topics = []fetchTopic{}
		for _, t := range r.Topics {
			topics = append(topics, fetchTopic{t.Topic, t.Partitions})
		}
	}
	got, err := h.fetchOffsets(r.Group, topics)
	code := h.errorCode(err)
	if err != nil && r.Version < 2 {
		// v1 has no top-level error: every partition carries it.
		for _, t := range topics {
			st := kmsg.NewOffsetFetchResponseTopic()
			st.Topic = t.topic
			for _, p := range t.partitions {
				sp := kmsg.NewOffsetFetchResponseTopicPartition()
				sp.Partition, sp.Offset, sp.ErrorCode = p, -1, code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return ready(resp)
	}
	resp.ErrorCode = code
	for _, t := range got {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = t.topic
		for _, p := range t.partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// fetchTopic is one requested topic and its partitions.
type fetchTopic struct {
	topic      string
	partitions []int32
}

// fetchedTopic is one topic's answer.
type fetchedTopic struct {
	topic      string
	partitions []fetchedOffset
}

type fetchedOffset struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
}

// fetchOffsets answers one group: the requested partitions in request
// order (offset -1 where nothing is committed), or with topics nil every
// committed partition.
func (h *Handlers) fetchOffsets(groupID string, topics []fetchTopic) ([]fetchedTopic, error) {
	var tps []group.TopicPartition
	for _, t := range topics {
		for _, p := range t.partitions {
			tps = append(tps, group.TopicPartition{Topic: t.topic, Partition: p})
		}
	}
	if topics == nil {
		tps = nil
	} else if tps == nil {
		tps = []group.TopicPartition{}
	}
	committed, err := h.Groups.FetchOffsets(groupID, tps)
	if err != nil {
		return nil, err
	}
	byTP := make(map[group.TopicPartition]group.Offset, len(committed))
	for _, c := range committed {
		byTP[c.TopicPartition] = c.Offset
	}
	answer := func(tp group.TopicPartition) fetchedOffset {
		empty := ""
		o, ok := byTP[tp]
		if !ok {
			return fetchedOffset{Partition: tp.Partition, Offset: -1, LeaderEpoch: -1, Metadata: &empty}
		}
		meta := o.Metadata
		return fetchedOffset{Partition: tp.Partition, Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, Metadata: &meta}
	}
	var out []fetchedTopic
	if topics == nil {
		for _, c := range committed { // sorted by topic, then partition
			if len(out) == 0 || out[len(out)-1].topic != c.Topic {
				out = append(out, fetchedTopic{topic: c.Topic})
			}
			last := &out[len(out)-1]
			last.partitions = append(last.partitions, answer(c.TopicPartition))
		}
		return out, nil
	}
	for _, t := range topics {
		ft := fetchedTopic{topic: t.topic}
		for _, p := range t.partitions {
			ft.partitions = append(ft.partitions, answer(group.TopicPartition{Topic: t.topic, Partition: p}))
		}
		out = append(out, ft)
	}
	return out, nil
}
