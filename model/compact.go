package model

// Compact does to one partition what log compaction (cleanup.policy=compact)
// does to the records below upTo: of the records with offsets below upTo,
// it keeps, for each key, only the one with the largest offset; records
// without a key go (Kafka's cleaner drops them; a compacted topic refuses
// them on produce); with dropTombstones, tombstones go too (their
// delete.retention.ms has passed). Offsets do not change: a compacted log
// has gaps. Records at or above upTo, the log start offset, the log end
// offset and the high watermark stay as they are, and so does producer
// state.
//
// upTo is capped at the high watermark: the broker never cleans what is not
// committed. Compacting twice over nested ranges equals compacting once over
// the larger one, which is what lets a test compare a broker that cleaned
// several times with one call here.
func (c *Cluster) Compact(topic string, partition int32, upTo int64, dropTombstones bool) ErrorCode {
	p := c.partition(topic, partition)
	if p == nil {
		return UnknownTopicOrPartition
	}
	p.records = CompactRecords(p.records, min(upTo, p.highWatermark()), dropTombstones)
	return None
}

// CompactRecords is Compact on a slice of records in offset order: it
// returns a new slice and leaves records alone.
func CompactRecords(records []Record, upTo int64, dropTombstones bool) []Record {
	latest := map[string]int64{}
	for _, r := range records {
		if r.Offset < upTo && r.Key != "" {
			latest[r.Key] = r.Offset
		}
	}
	out := make([]Record, 0, len(records))
	for _, r := range records {
		if r.Offset < upTo && (r.Key == "" || latest[r.Key] != r.Offset || r.Tombstone && dropTombstones) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// LatestPerKey is what a reader of a compacted partition must find, whatever the
// cleaner did: the last record of every key whose last record is not a
// tombstone, in offset order. Reads of a compacted partition return a
// subsequence of its log (offsets increasing, each offset holding what was
// written there) that contains all of these.
func LatestPerKey(records []Record) []Record {
	return CompactRecords(records, maxOffset(records)+1, true)
}

func maxOffset(records []Record) int64 {
	if len(records) == 0 {
		return -1
	}
	return records[len(records)-1].Offset
}
