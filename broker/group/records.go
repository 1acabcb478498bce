package group

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record key and value versions Ordo writes: what Kafka 3.x and 4.x write
// for classic groups.
const (
	offsetCommitKeyVersion    = 1 // key versions 0 and 1 are offset commits
	groupMetadataKeyVersion   = 2
	offsetCommitValueVersion  = 3 // v3: leader epoch (KIP-320), no expiry
	groupMetadataValueVersion = 3 // v3: group.instance.id (KIP-345)
	// The newest value versions kmsg decodes.
	maxOffsetCommitValueVersion  = 4
	maxGroupMetadataValueVersion = 4
)

func offsetCommitKey(group string, tp TopicPartition) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: group, Topic: tp.Topic, Partition: tp.Partition}
	return k.AppendTo(nil)
}

func offsetCommitRecord(group string, tp TopicPartition, o Offset) Record {
	v := kmsg.OffsetCommitValue{
		Version:         offsetCommitValueVersion,
		Offset:          o.Offset,
		LeaderEpoch:     o.LeaderEpoch,
		Metadata:        o.Metadata,
		CommitTimestamp: o.CommitTimestamp,
	}
	return Record{Key: offsetCommitKey(group, tp), Value: v.AppendTo(nil)}
}

func offsetTombstone(group string, tp TopicPartition) Record {
	return Record{Key: offsetCommitKey(group, tp)}
}

func groupMetadataKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: group}
	return k.AppendTo(nil)
}

func groupTombstone(group string) Record { return Record{Key: groupMetadataKey(group)} }

// groupMetadataRecord is the group's membership with the given assignments
// (Kafka's newGroupMetadataRecord). An Empty group's record has no members.
func groupMetadataRecord(g *Group, assignment map[string][]byte) Record {
	v := kmsg.GroupMetadataValue{
		Version:               groupMetadataValueVersion,
		ProtocolType:          g.protocolType,
		Generation:            g.generation,
		Protocol:              optional(g.protocol),
		Leader:                optional(g.leader),
		CurrentStateTimestamp: -1,
	}
	if !g.stateSince.IsZero() {
		v.CurrentStateTimestamp = g.stateSince.UnixMilli()
	}
	for _, id := range g.order {
		m := g.members[id]
		a := assignment[id]
		if a == nil {
			a = []byte{}
		}
		sub := m.metadata(g.protocol)
		if sub == nil {
			sub = []byte{}
		}
		v.Members = append(v.Members, kmsg.GroupMetadataValueMember{
			MemberID:               m.id,
			InstanceID:             m.instanceID,
			ClientID:               m.clientID,
			ClientHost:             m.clientHost,
			RebalanceTimeoutMillis: m.rebalanceTimeoutMs,
			SessionTimeoutMillis:   m.sessionTimeoutMs,
			Subscription:           sub,
			Assignment:             a,
		})
	}
	return Record{Key: groupMetadataKey(g.id), Value: v.AppendTo(nil)}
}

// DecodedRecord is one __consumer_offsets record: exactly one of Offset
// and Group is set. A nil value in it is a tombstone.
type DecodedRecord struct {
	Offset *DecodedOffset
	Group  *DecodedGroup
}

// DecodedOffset is an offset commit record.
type DecodedOffset struct {
	Key   kmsg.OffsetCommitKey
	Value *kmsg.OffsetCommitValue
}

// DecodedGroup is a group metadata record.
type DecodedGroup struct {
	Key   kmsg.GroupMetadataKey
	Value *kmsg.GroupMetadataValue
}

// DecodeRecord parses a record of __consumer_offsets. Keys of other kinds
// (Kafka 4's records for KIP-848 groups, versions 3 and up) give a zero
// DecodedRecord and no error: a loader skips them.
func DecodeRecord(key, value []byte) (DecodedRecord, error) {
	if len(key) < 2 {
		return DecodedRecord{}, fmt.Errorf("group: record key of %d bytes", len(key))
	}
	switch v := int16(binary.BigEndian.Uint16(key)); {
	case v == 0 || v == 1:
		d := &DecodedOffset{}
		if err := d.Key.ReadFrom(key); err != nil {
			return DecodedRecord{}, fmt.Errorf("group: offset commit key: %w", err)
		}
		if value != nil {
			d.Value = &kmsg.OffsetCommitValue{}
			if err := readValue(value, maxOffsetCommitValueVersion, d.Value.ReadFrom); err != nil {
				return DecodedRecord{}, fmt.Errorf("group: offset commit value: %w", err)
			}
		}
		return DecodedRecord{Offset: d}, nil
	case v == groupMetadataKeyVersion:
		d := &DecodedGroup{}
		if err := d.Key.ReadFrom(key); err != nil {
			return DecodedRecord{}, fmt.Errorf("group: group metadata key: %w", err)
		}
		if value != nil {
			d.Value = &kmsg.GroupMetadataValue{}
			if err := readValue(value, maxGroupMetadataValueVersion, d.Value.ReadFrom); err != nil {
				return DecodedRecord{}, fmt.Errorf("group: group metadata value: %w", err)
			}
		}
		return DecodedRecord{Group: d}, nil
	}
	return DecodedRecord{}, nil
}

func readValue(value []byte, maxVersion int16, read func([]byte) error) error {
	if len(value) < 2 {
		return fmt.Errorf("value of %d bytes", len(value))
	}
	if v := int16(binary.BigEndian.Uint16(value)); v < 0 || v > maxVersion {
		return fmt.Errorf("unknown value version %d", v)
	}
	return read(value)
}
