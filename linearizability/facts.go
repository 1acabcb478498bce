package linearizability

import "sort"

// partitionFacts is everything a history says about one partition's log:
// which value each offset holds according to acknowledgements and reads,
// who read what, how far the log was seen to reach, and its final drain.
type partitionFacts struct {
	tp TopicPartition

	known       map[int64]map[string][]int // offset → value → ops that placed it there
	seenAt      map[string]map[int64][]int // value → offset → ops
	knownSorted []int64                    // offsets of known, ascending

	readBy    map[string][]int // value → read ops (poll, fetch) that returned it
	firstRead map[valueAt]int  // a value at an offset → the read that returned it first
	produced  map[string][]int // value → produce ops, any outcome
	acked     []ackedValue     // values of ok produces, in history order
	minRead   int64            // lowest offset any read returned (valid if hasRead)
	maxRead   int64            // highest offset any read returned
	hasRead   bool
	endSeen   int64 // the furthest log end a read showed: a record's offset+1 or a high watermark
	endSeenOp int   // the op that showed it (-1: none)
	drain     *Op   // the final drain of this partition, if any
	drainEnd  int64 // the final log end: the drain's high watermark or beyond if it read further
	drainRead int64 // how far the drain's reads reached: their last offset + 1

	// Keys, for compacted topics: the key at each offset whose key is
	// known (from a keyed produce or a read), and each key's highest
	// known offset.
	keyAt     map[int64]string
	lastOfKey map[string]int64
}

type valueAt struct {
	value  string
	offset int64
}

type ackedValue struct {
	value  string
	offset int64
	op     int
}

// factsOf indexes a history by partition. The result's keys are listed in
// order by partitionOrder for deterministic reports.
func factsOf(h History) map[TopicPartition]*partitionFacts {
	all := map[TopicPartition]*partitionFacts{}
	get := func(tp TopicPartition) *partitionFacts {
		f, ok := all[tp]
		if !ok {
			f = &partitionFacts{tp: tp, known: map[int64]map[string][]int{}, seenAt: map[string]map[int64][]int{},
				readBy: map[string][]int{}, firstRead: map[valueAt]int{}, produced: map[string][]int{}, endSeenOp: -1,
				keyAt: map[int64]string{}, lastOfKey: map[string]int64{}}
			all[tp] = f
		}
		return f
	}
	for i := range h {
		op := &h[i]
		switch op.Kind {
		case KindProduce:
			f := get(op.tp())
			for j, v := range op.Values {
				f.produced[v] = append(f.produced[v], i)
				if op.Outcome == OK {
					f.place(op.Offsets[j], v, i)
					f.acked = append(f.acked, ackedValue{v, op.Offsets[j], i})
					if j < len(op.Keys) {
						f.keyed(op.Offsets[j], op.Keys[j])
					}
				}
			}
		case KindPoll, KindFetch:
			for _, r := range op.Records {
				f := get(TopicPartition{r.Topic, r.Partition})
				f.place(r.Offset, r.Value, i)
				f.read(r, h, i)
				f.keyed(r.Offset, r.Key)
			}
			for _, fe := range op.Fetched {
				if fe.Error == "" {
					get(TopicPartition{fe.Topic, fe.Partition}).sawEnd(fe.HighWatermark, i)
				}
			}
			if op.Kind == KindFetch && op.Outcome == OK {
				get(op.tp()).sawEnd(op.HighWatermark, i)
			}
		case KindListOffsets:
			if op.Outcome == OK && op.Spec == SpecLatest {
				get(op.tp()).sawEnd(op.Offset, i)
			}
		case KindDrain:
			get(op.tp()).drain = op
		}
	}
	for _, f := range all {
		f.knownSorted = make([]int64, 0, len(f.known))
		for o := range f.known {
			f.knownSorted = append(f.knownSorted, o)
		}
		sort.Slice(f.knownSorted, func(i, j int) bool { return f.knownSorted[i] < f.knownSorted[j] })
		if f.drain != nil {
			f.drainEnd = f.drain.HighWatermark
		}
	}
	// The drain's own reads may pass the high watermark it started from if a
	// writer was still running; the final log reaches at least that far.
	for i := range h {
		op := &h[i]
		if op.Drain && (op.Kind == KindFetch || op.Kind == KindPoll) {
			for _, r := range op.Records {
				f := all[TopicPartition{r.Topic, r.Partition}]
				if f.drain == nil {
					continue
				}
				f.drainRead = max(f.drainRead, r.Offset+1)
				f.drainEnd = max(f.drainEnd, r.Offset+1)
			}
		}
	}
	return all
}

func (f *partitionFacts) place(offset int64, value string, op int) {
	if f.known[offset] == nil {
		f.known[offset] = map[string][]int{}
	}
	f.known[offset][value] = append(f.known[offset][value], op)
	if f.seenAt[value] == nil {
		f.seenAt[value] = map[int64][]int{}
	}
	f.seenAt[value][offset] = append(f.seenAt[value][offset], op)
}

func (f *partitionFacts) read(r Record, h History, op int) {
	f.readBy[r.Value] = append(f.readBy[r.Value], op)
	k := valueAt{r.Value, r.Offset}
	if first, ok := f.firstRead[k]; !ok || h[op].Return < h[first].Return {
		f.firstRead[k] = op
	}
	if !f.hasRead || r.Offset < f.minRead {
		f.minRead = r.Offset
	}
	if !f.hasRead || r.Offset > f.maxRead {
		f.maxRead = r.Offset
	}
	f.hasRead = true
	f.sawEnd(r.Offset+1, op)
}

func (f *partitionFacts) sawEnd(end int64, op int) {
	if f.endSeenOp < 0 || end > f.endSeen {
		f.endSeen, f.endSeenOp = end, op
	}
}

// knownBetween reports whether some offset strictly between a and b holds a
// known value.
func (f *partitionFacts) knownBetween(a, b int64) bool {
	i := sort.Search(len(f.knownSorted), func(i int) bool { return f.knownSorted[i] > a })
	return i < len(f.knownSorted) && f.knownSorted[i] < b
}

// keyed notes that offset holds a record with key ("": unknown).
func (f *partitionFacts) keyed(offset int64, key string) {
	if key == "" {
		return
	}
	f.keyAt[offset] = key
	if last, ok := f.lastOfKey[key]; !ok || offset > last {
		f.lastOfKey[key] = offset
	}
}

// compactable reports whether compaction may remove the record at offset:
// a later offset holds the same key, or it is a tombstone (value ""),
// which goes after delete.retention.ms. On a compacted topic, reads may
// skip exactly these. A record whose key the history does not know cannot
// be judged, so it counts as compactable (checkStatic notes how many).
func (f *partitionFacts) compactable(offset int64, value string) bool {
	if value == "" {
		return true
	}
	key, ok := f.keyAt[offset]
	return !ok || f.lastOfKey[key] > offset
}

// unkeyed counts the acknowledged values whose key the history does not
// know.
func (f *partitionFacts) unkeyed() int {
	n := 0
	for _, a := range f.acked {
		if _, ok := f.keyAt[a.offset]; !ok && a.value != "" {
			n++
		}
	}
	return n
}

// liveBetween reports whether some offset strictly between a and b holds a
// known value that compaction may not remove.
func (f *partitionFacts) liveBetween(a, b int64) bool {
	i := sort.Search(len(f.knownSorted), func(i int) bool { return f.knownSorted[i] > a })
	for ; i < len(f.knownSorted) && f.knownSorted[i] < b; i++ {
		o := f.knownSorted[i]
		for v := range f.known[o] {
			if !f.compactable(o, v) {
				return true
			}
		}
	}
	return false
}

// completeDrain reports whether the partition was drained to its end.
func (f *partitionFacts) completeDrain() bool { return f.drain != nil && f.drain.Complete }

// sortedPartitions lists the keys of a facts map in order.
func sortedPartitions(all map[TopicPartition]*partitionFacts) []*partitionFacts {
	out := make([]*partitionFacts, 0, len(all))
	for _, f := range all {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].tp.Topic != out[j].tp.Topic {
			return out[i].tp.Topic < out[j].tp.Topic
		}
		return out[i].tp.Partition < out[j].tp.Partition
	})
	return out
}
