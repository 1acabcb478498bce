// Package metadata holds the cluster metadata image: brokers, topics, their
// partitions (replicas, ISR, leader, leader epoch), topic config overrides
// and the producer id blocks handed out.
// Like KRaft (KIP-500), the image is built by applying metadata records in
// order; Apply is pure, so the same records always give the same image, and
// the records can later be carried by a Raft log without changing this code.
package metadata

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// TopicID is a topic's unique id (KIP-516).
type TopicID [16]byte

// NewTopicID returns a random, non-zero topic id.
func NewTopicID() TopicID {
	var id TopicID
	for id == (TopicID{}) {
		_, _ = rand.Read(id[:])
	}
	return id
}

func (id TopicID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText encodes the id as hex, for the JSON record log.
func (id TopicID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex id.
func (id *TopicID) UnmarshalText(b []byte) error {
	if len(b) != 32 {
		return fmt.Errorf("topic id %q: want 32 hex digits", b)
	}
	_, err := hex.Decode(id[:], b)
	return err
}

// Record is one metadata change. Exactly one field is set.
type Record struct {
	Topic       *TopicRecord       `json:"topic,omitempty"`
	Partition   *PartitionRecord   `json:"partition,omitempty"`
	Config      *ConfigRecord      `json:"config,omitempty"`
	RemoveTopic *RemoveTopicRecord `json:"remove_topic,omitempty"`
	Broker      *BrokerRecord      `json:"broker,omitempty"`
	ProducerIDs *ProducerIDsRecord `json:"producer_ids,omitempty"`

	FenceBroker   *FenceBrokerRecord   `json:"fence_broker,omitempty"`
	UnfenceBroker *UnfenceBrokerRecord `json:"unfence_broker,omitempty"`
}

// TopicRecord creates a topic (KRaft's TopicRecord).
type TopicRecord struct {
	Name     string  `json:"name"`
	TopicID  TopicID `json:"topic_id"`
	Internal bool    `json:"internal,omitempty"`
}

// PartitionRecord creates a partition or replaces its replication state
// (KRaft's PartitionRecord and PartitionChangeRecord in one).
type PartitionRecord struct {
	TopicID        TopicID `json:"topic_id"`
	Partition      int32   `json:"partition"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch"`
}

// ConfigRecord sets (Value non-nil) or removes (Value nil) one topic config
// override.
type ConfigRecord struct {
	Topic string  `json:"topic"`
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// RemoveTopicRecord deletes a topic and its partitions.
type RemoveTopicRecord struct {
	TopicID TopicID `json:"topic_id"`
}

// BrokerRecord registers a broker and where clients reach it (KRaft's
// RegisterBrokerRecord). A registration replaces the broker's previous one.
type BrokerRecord struct {
	NodeID int32  `json:"node_id"`
	Host   string `json:"host"`
	Port   int32  `json:"port"`
	Rack   string `json:"rack,omitempty"`
	// Epoch is the broker epoch this registration gave the broker
	// (KIP-631): heartbeats and fencing name it, so a message about an
	// older registration is recognised as stale.
	Epoch int64 `json:"epoch,omitempty"`
	// Incarnation identifies the broker process that registered (a
	// random id per start): a second process registering the same node
	// id while the first is alive is a duplicate, not a restart.
	Incarnation string `json:"incarnation,omitempty"`
	// Fenced: the broker may not lead partitions or be listed to
	// clients. A new registration starts fenced; the controller unfences
	// it once it has caught up with the metadata log, and fences it when
	// its session expires.
	Fenced bool `json:"fenced,omitempty"`
}

// FenceBrokerRecord fences a broker's registration of the given epoch
// (KRaft's FenceBrokerRecord).
type FenceBrokerRecord struct {
	NodeID int32 `json:"node_id"`
	Epoch  int64 `json:"epoch"`
}

// UnfenceBrokerRecord unfences a broker's registration of the given epoch
// (KRaft's UnfenceBrokerRecord).
type UnfenceBrokerRecord struct {
	NodeID int32 `json:"node_id"`
	Epoch  int64 `json:"epoch"`
}

// ProducerIDsRecord hands out the block of producer ids below NextProducerID
// to Broker (KRaft's ProducerIdsRecord, KIP-730): every id below it has been
// given to some broker, so no id is ever handed out twice, across restarts
// and crashes, once the record is durable.
type ProducerIDsRecord struct {
	Broker         int32 `json:"broker"`
	NextProducerID int64 `json:"next_producer_id"`
}
