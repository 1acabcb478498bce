package metadata

import (
	"fmt"
	"maps"
	"slices"
)

// Image is the cluster metadata after some prefix of the record log. It is a
// value: Apply returns a new image and never changes the receiver's maps, so
// readers can keep using an old image while a new one is built.
type Image struct {
	ClusterID string
	Brokers   map[int32]BrokerRecord
	Topics    map[string]*Topic
	// NextProducerID is the first producer id no broker has been given
	// yet (see ProducerIDsRecord).
	NextProducerID int64
	byID           map[TopicID]string
	// deleted are the ids of the topics a RemoveTopicRecord removed, with
	// their names. A partition folder holding one of these ids is a
	// deleted topic's, which a broker may remove; one holding an id nobody
	// names is kept (see partition.Manager).
	deleted map[TopicID]string
}

// Topic is one topic in an image.
type Topic struct {
	Name       string
	ID         TopicID
	Internal   bool
	Partitions []PartitionRecord // index == partition number
	Configs    map[string]string // overrides only
}

// NewImage returns an empty image.
func NewImage(clusterID string) *Image {
	return &Image{
		ClusterID: clusterID,
		Brokers:   map[int32]BrokerRecord{},
		Topics:    map[string]*Topic{},
		byID:      map[TopicID]string{},
	}
}

// TopicByID finds a topic by its id.
func (im *Image) TopicByID(id TopicID) (*Topic, bool) {
	name, ok := im.byID[id]
	if !ok {
		return nil, false
	}
	return im.Topics[name], true
}

// WasDeleted reports whether a RemoveTopicRecord in this image's history
// deleted the topic with this id.
func (im *Image) WasDeleted(id TopicID) bool {
	_, ok := im.deleted[id]
	return ok
}

// TopicNames returns the topic names, sorted.
func (im *Image) TopicNames() []string {
	return slices.Sorted(maps.Keys(im.Topics))
}

// UnfencedBrokerIDs returns the ids of the registered brokers that are not
// fenced, sorted: the brokers that may lead partitions and that Metadata
// lists.
func (im *Image) UnfencedBrokerIDs() []int32 {
	var ids []int32
	for _, id := range im.BrokerIDs() {
		if !im.Brokers[id].Fenced {
			ids = append(ids, id)
		}
	}
	return ids
}

// BrokerIDs returns the registered broker ids, sorted.
func (im *Image) BrokerIDs() []int32 {
	return slices.Sorted(maps.Keys(im.Brokers))
}

// Apply returns the image with recs applied in order. A record that does not
// fit the image (a partition of an unknown topic, a duplicate topic) is an
// error and nothing is applied: the controller only writes records that fit.
func (im *Image) Apply(recs ...Record) (*Image, error) {
	next := &Image{
		ClusterID:      im.ClusterID,
		Brokers:        maps.Clone(im.Brokers),
		Topics:         maps.Clone(im.Topics),
		NextProducerID: im.NextProducerID,
		byID:           maps.Clone(im.byID),
		deleted:        im.deleted, // cloned only when a topic is removed
	}
	deletedCopied := false
	// Topics touched by this batch are copied once, so the old image's
	// topics stay untouched.
	copied := map[string]bool{}
	mutable := func(name string) *Topic {
		t := next.Topics[name]
		if !copied[name] {
			c := *t
			c.Partitions = slices.Clone(t.Partitions)
			c.Configs = maps.Clone(t.Configs)
			t = &c
			next.Topics[name] = t
			copied[name] = true
		}
		return t
	}
	for i, r := range recs {
		switch {
		case r.Broker != nil:
			next.Brokers[r.Broker.NodeID] = *r.Broker
		case r.Topic != nil:
			if _, ok := next.Topics[r.Topic.Name]; ok {
				return nil, fmt.Errorf("record %d: topic %q exists", i, r.Topic.Name)
			}
			if _, ok := next.byID[r.Topic.TopicID]; ok {
				return nil, fmt.Errorf("record %d: topic id %s exists", i, r.Topic.TopicID)
			}
			next.Topics[r.Topic.Name] = &Topic{
				Name: r.Topic.Name,
				ID:   r.Topic.TopicID,
				// By name too: an older Ordo let a client create
				// __consumer_offsets as an ordinary topic.
				Internal: r.Topic.Internal || IsInternalTopic(r.Topic.Name),
				Configs:  map[string]string{},
			}
			next.byID[r.Topic.TopicID] = r.Topic.Name
			copied[r.Topic.Name] = true
		case r.Partition != nil:
			name, ok := next.byID[r.Partition.TopicID]
			if !ok {
				return nil, fmt.Errorf("record %d: partition of unknown topic %s", i, r.Partition.TopicID)
			}
			t := mutable(name)
			p := *r.Partition
			p.Replicas = slices.Clone(p.Replicas)
			p.ISR = slices.Clone(p.ISR)
			switch {
			case int(p.Partition) < len(t.Partitions):
				t.Partitions[p.Partition] = p
			case int(p.Partition) == len(t.Partitions):
				t.Partitions = append(t.Partitions, p)
			default:
				return nil, fmt.Errorf("record %d: partition %d of %q leaves a gap", i, p.Partition, name)
			}
		case r.Config != nil:
			if _, ok := next.Topics[r.Config.Topic]; !ok {
				return nil, fmt.Errorf("record %d: config of unknown topic %q", i, r.Config.Topic)
			}
			t := mutable(r.Config.Topic)
			if r.Config.Value == nil {
				delete(t.Configs, r.Config.Name)
			} else {
				t.Configs[r.Config.Name] = *r.Config.Value
			}
		case r.RemoveTopic != nil:
			name, ok := next.byID[r.RemoveTopic.TopicID]
			if !ok {
				return nil, fmt.Errorf("record %d: removing unknown topic %s", i, r.RemoveTopic.TopicID)
			}
			delete(next.Topics, name)
			delete(next.byID, r.RemoveTopic.TopicID)
			if !deletedCopied {
				next.deleted = maps.Clone(next.deleted)
				if next.deleted == nil {
					next.deleted = map[TopicID]string{}
				}
				deletedCopied = true
			}
			next.deleted[r.RemoveTopic.TopicID] = name
		case r.FenceBroker != nil, r.UnfenceBroker != nil:
			id, epoch, fenced := int32(0), int64(0), r.FenceBroker != nil
			if fenced {
				id, epoch = r.FenceBroker.NodeID, r.FenceBroker.Epoch
			} else {
				id, epoch = r.UnfenceBroker.NodeID, r.UnfenceBroker.Epoch
			}
			b, ok := next.Brokers[id]
			if !ok || b.Epoch != epoch {
				return nil, fmt.Errorf("record %d: broker %d has no registration of epoch %d", i, id, epoch)
			}
			b.Fenced = fenced
			next.Brokers[id] = b
		case r.ProducerIDs != nil:
			// Ids only move forward: a block must never be handed out
			// twice.
			if r.ProducerIDs.NextProducerID <= next.NextProducerID {
				return nil, fmt.Errorf("record %d: next producer id %d is not above %d", i, r.ProducerIDs.NextProducerID, next.NextProducerID)
			}
			next.NextProducerID = r.ProducerIDs.NextProducerID
		default:
			return nil, fmt.Errorf("record %d: empty", i)
		}
	}
	return next, nil
}
