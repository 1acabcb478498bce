package handler

import (
	"context"
	"errors"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata: v0-12
//
// Behaviour:
//   - null topics (v1+), or an empty list at v0, means every topic
//   - unknown topics are created when auto.create.topics.enable is on and
//     the request allows it (always before v4); invalid names get
//     INVALID_TOPIC_EXCEPTION and are never created
//   - __consumer_offsets is auto-created as the group coordinator creates
//     it (offsets.topic.num.partitions, compacted, internal), as Kafka's
//     AutoTopicCreationManager does; the other internal topics and
//     __cluster_metadata are never auto-created (UNKNOWN_TOPIC_OR_PARTITION)
//   - every live broker is listed; the controller id is a live broker
//     (sarama and kafka-go send admin requests there)
//
// Version notes:
//   - v1: ControllerID, IsInternal, Rack; null topics = all
//   - v2: ClusterID
//   - v4: AllowAutoTopicCreation
//   - v5: OfflineReplicas
//   - v7: LeaderEpoch (KIP-320)
//   - v8: authorized operations (no ACLs here: left at the default)
//   - v9: flexible (KIP-482)
//   - v10: TopicID (KIP-516); topics may be asked for by id
//   - v11: cluster authorized operations removed
//   - v12: topic name nullable when asking by id
func init() { register(kmsg.Metadata, 0, 12, (*Handlers).metadata) }

func (h *Handlers) metadata(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	im := h.Controller.Image()

	allTopics := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	autoCreate := h.AutoCreateTopics && (r.Version < 4 || r.AllowAutoTopicCreation)

	var topics []metadataTopic
	if allTopics {
		for _, name := range im.TopicNames() {
			topics = append(topics, metadataTopic{topic: im.Topics[name]})
		}
	} else {
		for _, rt := range r.Topics {
			topics = append(topics, h.lookupMetadataTopic(&im, rt, autoCreate))
		}
	}

	for _, id := range im.BrokerIDs() {
		b := im.Brokers[id]
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port = b.NodeID, b.Host, b.Port
		if b.Rack != "" {
			mb.Rack = &b.Rack
		}
		resp.Brokers = append(resp.Brokers, mb)
	}
	resp.ClusterID = &im.ClusterID
	resp.ControllerID = h.NodeID

	for _, mt := range topics {
		rt := kmsg.NewMetadataResponseTopic()
		rt.ErrorCode = mt.code
		if mt.topic == nil {
			rt.Topic, rt.TopicID = mt.name, mt.id
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		t := mt.topic
		rt.Topic = &t.Name
		rt.TopicID = t.ID
		rt.IsInternal = t.Internal
		for _, pr := range t.Partitions {
			rp := kmsg.NewMetadataResponseTopicPartition()
			rp.Partition = pr.Partition
			rp.Leader = pr.Leader
			rp.LeaderEpoch = pr.LeaderEpoch
			rp.Replicas = pr.Replicas
			rp.ISR = pr.ISR
			rp.OfflineReplicas = []int32{}
			if _, live := im.Brokers[pr.Leader]; !live {
				rp.ErrorCode = kerr.LeaderNotAvailable.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return ready(resp)
}

type metadataTopic struct {
	topic *metadata.Topic // nil on error
	name  *string
	id    [16]byte
	code  int16
}

// lookupMetadataTopic resolves one requested topic, creating it if allowed.
// It updates *im when it creates a topic, so later lookups see it.
func (h *Handlers) lookupMetadataTopic(im **metadata.Image, rt kmsg.MetadataRequestTopic, autoCreate bool) metadataTopic {
	if rt.Topic == nil || (*rt.Topic == "" && rt.TopicID != [16]byte{}) {
		if t, ok := (*im).TopicByID(rt.TopicID); ok {
			return metadataTopic{topic: t}
		}
		return metadataTopic{id: rt.TopicID, code: kerr.UnknownTopicID.Code}
	}
	name := *rt.Topic
	if t, ok := (*im).Topics[name]; ok {
		return metadataTopic{topic: t}
	}
	if err := metadata.ValidateTopicName(name); err != nil {
		return metadataTopic{name: rt.Topic, code: kerr.InvalidTopicException.Code}
	}
	if !autoCreate {
		return metadataTopic{name: rt.Topic, code: kerr.UnknownTopicOrPartition.Code}
	}
	switch {
	case name == metadata.OffsetsTopic && h.Groups != nil:
		// Created as the group coordinator creates it (Kafka's
		// AutoTopicCreationManager does the same), never as an
		// ordinary topic a client could then write.
		if err := h.Groups.CreateOffsetsTopic(); err != nil {
			// The coordinator logged why; the client retries.
			return metadataTopic{name: rt.Topic, code: kerr.LeaderNotAvailable.Code}
		}
	case metadata.IsInternalTopic(name) || name == metadata.ClusterMetadataTopic:
		// Ordo has no coordinator that would own the other internal
		// topics, and __cluster_metadata is no topic at all.
		return metadataTopic{name: rt.Topic, code: kerr.UnknownTopicOrPartition.Code}
	default:
		_, err := h.Controller.CreateTopic(controller.CreateTopic{
			Name: name, NumPartitions: -1, ReplicationFactor: -1,
		}, h.Defaults, false)
		if err != nil && !errors.Is(err, controller.ErrTopicExists) {
			return metadataTopic{name: rt.Topic, code: h.errorCode(err)}
		}
	}
	*im = h.Controller.Image()
	if t, ok := (*im).Topics[name]; ok {
		return metadataTopic{topic: t}
	}
	// Created and deleted again in between: let the client retry.
	return metadataTopic{name: rt.Topic, code: kerr.LeaderNotAvailable.Code}
}
