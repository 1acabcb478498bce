package linearizability

import (
	"fmt"
	"sort"
	"strings"
)

// valueIndex is what the whole history says of each value, across
// partitions: who sent it where, and where it was found. Values are unique
// per run in the workloads, so a value is one write.
type valueIndex struct {
	produced map[string][]int                      // value → produce ops, any partition, in history order
	sentTo   map[string]map[TopicPartition]bool    // value → partitions a produce sent it to
	foundIn  map[string][]TopicPartition           // value → partitions holding it (acks or reads), in order
	readIn   map[string]map[TopicPartition][]int   // value → partition → read ops that returned it there
	places   map[string]map[TopicPartition][]int64 // value → partition → offsets holding it
}

func indexValues(facts map[TopicPartition]*partitionFacts) *valueIndex {
	x := &valueIndex{produced: map[string][]int{}, sentTo: map[string]map[TopicPartition]bool{},
		foundIn: map[string][]TopicPartition{}, readIn: map[string]map[TopicPartition][]int{},
		places: map[string]map[TopicPartition][]int64{}}
	for _, f := range sortedPartitions(facts) {
		for v, ops := range f.produced {
			x.produced[v] = append(x.produced[v], ops...)
			if x.sentTo[v] == nil {
				x.sentTo[v] = map[TopicPartition]bool{}
			}
			x.sentTo[v][f.tp] = true
		}
		for v, at := range f.seenAt {
			x.foundIn[v] = append(x.foundIn[v], f.tp)
			if x.places[v] == nil {
				x.places[v] = map[TopicPartition][]int64{}
			}
			x.places[v][f.tp] = sortedOffsets(at)
		}
		for v, ops := range f.readBy {
			if x.readIn[v] == nil {
				x.readIn[v] = map[TopicPartition][]int{}
			}
			x.readIn[v][f.tp] = ops
		}
	}
	for _, ops := range x.produced {
		sort.Ints(ops)
	}
	return x
}

// definiteErrorsVisible (G1a): a value every produce of which definitely
// failed, read anyway — in the partition it was sent to or in another.
// A value that another produce also sent (a failed attempt and a
// successful one) is not judged.
func definiteErrorsVisible(h History, facts map[TopicPartition]*partitionFacts, x *valueIndex) []Anomaly {
	var out []Anomaly
	for _, v := range sortedKeys(x.produced) {
		prods := x.produced[v]
		failed := true
		for _, i := range prods {
			failed = failed && h[i].Outcome == Fail
		}
		if !failed || len(x.readIn[v]) == 0 {
			continue
		}
		tps := partitionsOf(x.readIn[v])
		tp := tps[0]
		ops := append([]int(nil), prods...)
		for _, t := range tps {
			ops = append(ops, x.readIn[v][t]...)
		}
		detail := fmt.Sprintf("value %q failed definitely (%s) but was read", v, h[prods[0]].Error)
		if !x.sentTo[v][tp] || len(tps) > 1 {
			detail += fmt.Sprintf(" in %s (sent to %s)", joinPartitions(tps), joinPartitions(sortedSet(x.sentTo[v])))
		}
		out = append(out, Anomaly{Name: G1a, Topic: tp.Topic, Partition: tp.Partition, Offset: minOffset(facts[tp].seenAt[v]), Value: v,
			Ops: uniqueSorted(ops), Detail: detail})
	}
	return out
}

// duplicatesAcross: one value at offsets in two partitions or more,
// though it was not sent to each of them (a value sent to two partitions
// may be in both). Duplicates inside one partition are duplicates().
func duplicatesAcross(facts map[TopicPartition]*partitionFacts, x *valueIndex, compacted func(string) bool) []Anomaly {
	var out []Anomaly
	for _, v := range sortedKeys(x.foundIn) {
		tps := x.foundIn[v]
		if len(tps) < 2 {
			continue
		}
		unsent := false
		tomb := false
		for _, tp := range tps {
			unsent = unsent || !x.sentTo[v][tp]
			tomb = tomb || v == "" && compacted(tp.Topic)
		}
		if !unsent || tomb {
			continue
		}
		var ops []int
		parts := make([]string, len(tps))
		for i, tp := range tps {
			parts[i] = fmt.Sprintf("%s@%v", tp, x.places[v][tp])
			for _, oops := range facts[tp].seenAt[v] {
				ops = append(ops, oops...)
			}
		}
		tp := tps[0]
		out = append(out, Anomaly{Name: Duplicate, Topic: tp.Topic, Partition: tp.Partition, Offset: x.places[v][tp][0], Value: v,
			Ops: uniqueSorted(ops), Detail: fmt.Sprintf("value %q in %d partitions: %s", v, len(tps), strings.Join(parts, ", "))})
	}
	return out
}

// unsentValues: values reads returned in a partition no recorded produce
// sent them to — sent nowhere (phantom-value) or only elsewhere
// (wrong-partition). Anomalies when the history declares every producer
// recorded; otherwise the count is returned for a note (they are judged
// as writes of unrecorded clients).
func unsentValues(facts map[TopicPartition]*partitionFacts, x *valueIndex, declared bool) ([]Anomaly, int) {
	var out []Anomaly
	n := 0
	for _, f := range sortedPartitions(facts) {
		for _, v := range sortedKeys(f.readBy) {
			if x.sentTo[v][f.tp] {
				continue
			}
			n++
			if !declared {
				continue
			}
			a := Anomaly{Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: minOffset(f.seenAt[v]), Value: v}
			reads := uniqueSorted(f.readBy[v])
			if len(x.produced[v]) == 0 {
				a.Name, a.Ops = PhantomValue, reads
				a.Detail = fmt.Sprintf("value %q was read at offsets %v, but no recorded producer sent it", v, sortedOffsets(f.seenAt[v]))
			} else {
				a.Name, a.Ops = WrongPartition, uniqueSorted(append(append([]int(nil), x.produced[v]...), reads...))
				a.Detail = fmt.Sprintf("value %q was read at offsets %v, but recorded producers sent it only to %s", v, sortedOffsets(f.seenAt[v]), joinPartitions(sortedSet(x.sentTo[v])))
			}
			out = append(out, a)
		}
	}
	return out, n
}

// futureReads: a read returned a value before any produce of it was
// called. One anomaly per value and partition, at the earliest such read.
func futureReads(h History, facts map[TopicPartition]*partitionFacts, x *valueIndex) []Anomaly {
	var out []Anomaly
	for _, f := range sortedPartitions(facts) {
		for _, v := range sortedKeys(f.readBy) {
			prods := x.produced[v]
			if len(prods) == 0 {
				continue
			}
			first := prods[0]
			for _, i := range prods {
				if h[i].Call < h[first].Call {
					first = i
				}
			}
			read := -1
			for _, r := range f.readBy[v] {
				if h[r].Return < h[first].Call && (read < 0 || h[r].Return < h[read].Return) {
					read = r
				}
			}
			if read < 0 {
				continue
			}
			out = append(out, Anomaly{Name: FutureRead, Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: minOffset(f.seenAt[v]), Value: v,
				Ops:    []int{min(first, read), max(first, read)},
				Detail: fmt.Sprintf("value %q was returned by op %d at %d, before its first produce (op %d) was called at %d", v, read, h[read].Return, first, h[first].Call)})
		}
	}
	return out
}

// fetchBounds judges each read against the high watermark it reported:
// a fetch or poll that returned a record at or above it
// (uncommitted-read), and a fetch from an offset in [log start, high
// watermark) that returned nothing (empty-fetch; not on compacted topics).
// A poll's high watermark for a partition is the highest any of its
// fetches reported without error (kgo may hand several fetches of a
// partition to one poll).
func fetchBounds(h History, compacted func(string) bool) []Anomaly {
	var out []Anomaly
	for i := range h {
		op := &h[i]
		switch {
		case op.Kind == KindFetch && op.Outcome == OK:
			for _, r := range op.Records {
				if r.Offset >= op.HighWatermark {
					out = append(out, Anomaly{Name: UncommittedRead, Topic: op.Topic, Partition: op.Partition, Offset: r.Offset, Value: r.Value,
						Ops: []int{i}, Detail: fmt.Sprintf("fetch returned offset %d with high watermark %d", r.Offset, op.HighWatermark)})
					break
				}
			}
			if len(op.Records) == 0 && op.Offset >= op.LogStartOffset && op.Offset < op.HighWatermark && !compacted(op.Topic) {
				out = append(out, Anomaly{Name: EmptyFetch, Topic: op.Topic, Partition: op.Partition, Offset: op.Offset,
					Ops: []int{i}, Detail: fmt.Sprintf("fetch from offset %d returned nothing below its high watermark %d", op.Offset, op.HighWatermark)})
			}
		case op.Kind == KindPoll:
			hw := map[TopicPartition]int64{}
			for _, fe := range op.Fetched {
				tp := TopicPartition{fe.Topic, fe.Partition}
				if cur, ok := hw[tp]; fe.Error == "" && (!ok || fe.HighWatermark > cur) {
					hw[tp] = fe.HighWatermark
				}
			}
			flagged := map[TopicPartition]bool{}
			for _, r := range op.Records {
				tp := TopicPartition{r.Topic, r.Partition}
				if top, ok := hw[tp]; ok && r.Offset >= top && !flagged[tp] {
					flagged[tp] = true
					out = append(out, Anomaly{Name: UncommittedRead, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: r.Value,
						Ops: []int{i}, Detail: fmt.Sprintf("poll returned offset %d, and its fetches reported high watermarks up to %d", r.Offset, top)})
				}
			}
		}
	}
	return out
}

func partitionsOf[V any](m map[TopicPartition]V) []TopicPartition {
	out := make([]TopicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	sortPartitions(out)
	return out
}

func sortedSet(m map[TopicPartition]bool) []TopicPartition { return partitionsOf(m) }

func sortPartitions(tps []TopicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
}

func joinPartitions(tps []TopicPartition) string {
	if len(tps) == 0 {
		return "no partition"
	}
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = tp.String()
	}
	return strings.Join(s, " and ")
}
