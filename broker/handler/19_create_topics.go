package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/topicconfig"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics: v0-7
//
// Behaviour:
//   - each topic is validated on its own (name, partitions, replication
//     factor or a manual assignment, configs) and gets its own error code
//     and message; a name given twice in one request gets INVALID_REQUEST
//   - ValidateOnly checks everything and creates nothing
//   - __cluster_metadata is refused with INVALID_REQUEST (KRaft's
//     ControllerApis); Kafka's internal names (__consumer_offsets, ...) are
//     created as internal topics, with the request's settings, as Kafka does
//
// Version notes:
//   - v0 and v1 are kept although Kafka 4 dropped them: kafka-go sends them
//   - v1: ValidateOnly, ErrorMessage
//   - v2: ThrottleMillis
//   - v4: NumPartitions and ReplicationFactor may be -1: broker defaults
//     (KIP-464)
//   - v5: flexible (KIP-482); the response describes the created topic:
//     partitions, replication factor and configs (KIP-525)
//   - v7: TopicID (KIP-516)
func init() { register(kmsg.CreateTopics, 0, 7, (*Handlers).createTopics) }

func (h *Handlers) createTopics(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)

	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range r.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		if seen[rt.Topic] > 1 {
			st.ErrorCode = kerr.InvalidRequest.Code
			msg := "Create topics request from client contains multiple entries for the topic " + rt.Topic
			st.ErrorMessage = &msg
			resp.Topics = append(resp.Topics, st)
			continue
		}
		t, err := h.createTopic(r, rt)
		if err != nil {
			st.ErrorCode = h.errorCode(err)
			st.ErrorMessage = errorMessage(err)
			resp.Topics = append(resp.Topics, st)
			continue
		}
		st.TopicID = t.ID
		st.NumPartitions = int32(len(t.Partitions))
		st.ReplicationFactor = int16(len(t.Partitions[0].Replicas))
		for _, e := range topicconfig.Describe(t.Configs, nil, false, false) {
			c := kmsg.NewCreateTopicsResponseTopicConfig()
			c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.Value, e.ReadOnly, e.Source, e.Sensitive
			st.Configs = append(st.Configs, c)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

func (h *Handlers) createTopic(r *kmsg.CreateTopicsRequest, rt kmsg.CreateTopicsRequestTopic) (*metadata.Topic, error) {
	pairs := make([]topicconfig.Pair, len(rt.Configs))
	for i, c := range rt.Configs {
		pairs[i] = topicconfig.Pair{Name: c.Name, Value: c.Value}
	}
	overrides, err := topicconfig.CreateTopicsOverrides(pairs)
	if err != nil {
		return nil, err
	}
	ct := controller.CreateTopic{
		Name:              rt.Topic,
		NumPartitions:     rt.NumPartitions,
		ReplicationFactor: rt.ReplicationFactor,
		Configs:           overrides,
	}
	for _, a := range rt.ReplicaAssignment {
		// Kafka orders the assignment by partition id and requires ids
		// 0..n-1; the controller checks the replicas themselves.
		if int(a.Partition) != len(ct.Assignment) {
			return nil, controller.ErrInvalidReplicaAssignment
		}
		ct.Assignment = append(ct.Assignment, a.Replicas)
	}
	return h.Controller.CreateTopic(ct, h.Defaults, r.ValidateOnly)
}
