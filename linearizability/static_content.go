package linearizability

import (
	"fmt"
	"sort"
	"strings"
)

// inconsistentOffsets: an offset that acknowledgements and reads disagree on.
func inconsistentOffsets(f *partitionFacts) []Anomaly {
	var out []Anomaly
	for _, o := range f.knownSorted {
		vals := f.known[o]
		if len(vals) < 2 {
			continue
		}
		names := make([]string, 0, len(vals))
		var ops []int
		for v, vops := range vals {
			names = append(names, fmt.Sprintf("%q", v))
			ops = append(ops, vops...)
		}
		sort.Strings(names)
		out = append(out, Anomaly{Name: InconsistentOffsets, Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: o,
			Ops: uniqueSorted(ops), Detail: fmt.Sprintf("offset %d holds %s", o, strings.Join(names, " and "))})
	}
	return out
}

// duplicates: a value at more than one offset. On a compacted topic the
// value "" is a tombstone, which many offsets hold.
func duplicates(f *partitionFacts, compacted bool) []Anomaly {
	var out []Anomaly
	for _, v := range sortedKeys(f.seenAt) {
		at := f.seenAt[v]
		if len(at) < 2 || compacted && v == "" {
			continue
		}
		offsets := make([]int64, 0, len(at))
		var ops []int
		for o, oops := range at {
			offsets = append(offsets, o)
			ops = append(ops, oops...)
		}
		sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
		out = append(out, Anomaly{Name: Duplicate, Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: offsets[0], Value: v,
			Ops: uniqueSorted(ops), Detail: fmt.Sprintf("value %q at offsets %v", v, offsets)})
	}
	return out
}

// lostAndUnseen: acknowledged values nobody read. Below the highest offset
// read (and not below the lowest: a reader that started later never passed
// there) it is a lost write; otherwise, once a complete drain passed, it is
// unseen, if it was acknowledged before the drain began. Values below the
// final log start were deleted, not lost. On a
// compacted topic reads see a subsequence of the log that must hold the
// latest value of every key: only those are judged (values superseded by
// a later one of their key and tombstones may be gone).
func lostAndUnseen(h History, f *partitionFacts, compacted bool) []Anomaly {
	var out []Anomaly
	for _, a := range f.acked {
		if len(f.readBy[a.value]) > 0 {
			continue
		}
		if f.drain != nil && a.offset < f.drain.LogStartOffset {
			continue
		}
		if compacted && f.compactable(a.offset, a.value) {
			continue
		}
		switch {
		case f.hasRead && a.offset >= f.minRead && a.offset < f.maxRead:
			out = append(out, Anomaly{Name: LostWrite, Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: a.offset, Value: a.value,
				Ops:    []int{a.op},
				Detail: fmt.Sprintf("value %q acknowledged at offset %d, never read though reads reached offset %d", a.value, a.offset, f.maxRead)})
		case f.completeDrain() && h[a.op].Return < f.drain.Call:
			// Acknowledged before the drain began, so below the high
			// watermark it read up to.
			out = append(out, Anomaly{Name: Unseen, Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: a.offset, Value: a.value,
				Ops:    []int{a.op, f.drain.Index},
				Detail: fmt.Sprintf("value %q acknowledged at offset %d, unread after the final drain", a.value, a.offset)})
		}
	}
	return out
}

// logTruncation: the final drain found the log ending before an earlier
// read's record or high watermark.
func logTruncation(f *partitionFacts) []Anomaly {
	if f.drain == nil || f.endSeenOp < 0 || f.endSeen <= f.drainEnd {
		return nil
	}
	return []Anomaly{{Name: LogTruncation, Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: f.drainEnd,
		Ops:    uniqueSorted([]int{f.endSeenOp, f.drain.Index}),
		Detail: fmt.Sprintf("the final log ends at %d, but op %d showed it reaching %d", f.drainEnd, f.endSeenOp, f.endSeen)}}
}

// drainHoles: offsets inside a complete drain's range that nothing holds.
func drainHoles(f *partitionFacts, holes *holeSet) {
	if !f.completeDrain() {
		return
	}
	start := int64(-1)
	for o := f.drain.LogStartOffset; o <= f.drainEnd; o++ {
		_, ok := f.known[o]
		switch {
		case !ok && o < f.drainEnd && start < 0:
			start = o
		case (ok || o == f.drainEnd) && start >= 0:
			holes.add(f.tp, start, o-1, f.drain.Index)
			start = -1
		}
	}
}

// holeSet gathers offset holes found by the drain and by readers jumping
// over unknown offsets, and merges them into one anomaly per range.
type holeSet struct {
	ranges map[TopicPartition][]holeRange
}

type holeRange struct {
	from, to int64 // inclusive
	ops      []int
}

func (s *holeSet) add(tp TopicPartition, from, to int64, ops ...int) {
	if s.ranges == nil {
		s.ranges = map[TopicPartition][]holeRange{}
	}
	s.ranges[tp] = append(s.ranges[tp], holeRange{from, to, ops})
}

func (s *holeSet) anomalies(tp TopicPartition) []Anomaly {
	rs := s.ranges[tp]
	sort.Slice(rs, func(i, j int) bool { return rs[i].from < rs[j].from })
	var merged []holeRange
	for _, r := range rs {
		if n := len(merged); n > 0 && r.from <= merged[n-1].to+1 {
			m := &merged[n-1]
			m.to = max(m.to, r.to)
			m.ops = append(m.ops, r.ops...)
			continue
		}
		merged = append(merged, holeRange{r.from, r.to, append([]int(nil), r.ops...)})
	}
	var out []Anomaly
	for _, m := range merged {
		out = append(out, Anomaly{Name: OffsetHole, Topic: tp.Topic, Partition: tp.Partition, Offset: m.from,
			Ops: uniqueSorted(m.ops), Detail: fmt.Sprintf("no value at offsets %d..%d", m.from, m.to)})
	}
	return out
}

func minOffset(m map[int64][]int) int64 {
	first := true
	var lo int64 = -1
	for o := range m {
		if first || o < lo {
			lo, first = o, false
		}
	}
	return lo
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
