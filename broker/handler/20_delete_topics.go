package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteTopics: v0-6
//
// Behaviour: each topic is deleted on its own and answered with its own
// error: UNKNOWN_TOPIC_OR_PARTITION (or UNKNOWN_TOPIC_ID) for a topic that
// does not exist. The partitions' folders are removed once the deletion is
// recorded.
//
// Version notes:
//   - v0 is kept although Kafka 4 dropped it: kafka-go sends it
//   - v1: ThrottleMillis
//   - v4: flexible (KIP-482)
//   - v5: ErrorMessage
//   - v6: topics by name or by id (KIP-516)
func init() { register(kmsg.DeleteTopics, 0, 6, (*Handlers).deleteTopics) }

func (h *Handlers) deleteTopics(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.DeleteTopicsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	topics := r.Topics
	if r.Version < 6 {
		for _, name := range r.TopicNames {
			topics = append(topics, kmsg.DeleteTopicsRequestTopic{Topic: &name})
		}
	}
	for _, rt := range topics {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name := ""
		if rt.Topic != nil {
			name = *rt.Topic
		}
		t, err := h.Controller.DeleteTopic(name, rt.TopicID)
		if err != nil {
			st.ErrorCode = h.errorCode(err)
			st.ErrorMessage = errorMessage(err)
			if name == "" && st.ErrorCode == kerr.UnknownTopicOrPartition.Code {
				st.ErrorCode = kerr.UnknownTopicID.Code
			}
		} else {
			st.Topic, st.TopicID = &t.Name, t.ID
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}
