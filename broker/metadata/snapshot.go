package metadata

import (
	"bytes"
	"maps"
	"slices"
)

func compareIDs(a, b TopicID) int { return bytes.Compare(a[:], b[:]) }

// Records is a snapshot of the image as records: applied in order to
// NewImage(im.ClusterID), they rebuild it. This is what KRaft's snapshots
// hold too (the image's records, not a serialised structure), so a
// snapshot and the log share one format and one Apply.
func (im *Image) Records() []Record {
	var recs []Record
	for _, id := range im.BrokerIDs() {
		b := im.Brokers[id]
		recs = append(recs, Record{Broker: &b})
	}
	// Deleted topics first, as they happened: created and removed, so
	// the rebuilt image remembers their ids (a folder of a deleted topic
	// may be removed; one nobody accounts for is set aside).
	for _, id := range slices.SortedFunc(maps.Keys(im.deleted), compareIDs) {
		recs = append(recs,
			Record{Topic: &TopicRecord{Name: im.deleted[id], TopicID: id}},
			Record{RemoveTopic: &RemoveTopicRecord{TopicID: id}})
	}
	for _, name := range im.TopicNames() {
		t := im.Topics[name]
		recs = append(recs, Record{Topic: &TopicRecord{Name: t.Name, TopicID: t.ID, Internal: t.Internal}})
		for i := range t.Partitions {
			p := t.Partitions[i]
			p.Replicas = slices.Clone(p.Replicas)
			p.ISR = slices.Clone(p.ISR)
			recs = append(recs, Record{Partition: &p})
		}
		for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
			v := t.Configs[k]
			recs = append(recs, Record{Config: &ConfigRecord{Topic: t.Name, Name: k, Value: &v}})
		}
	}
	if im.NextProducerID > 0 {
		recs = append(recs, Record{ProducerIDs: &ProducerIDsRecord{Broker: -1, NextProducerID: im.NextProducerID}})
	}
	return recs
}
