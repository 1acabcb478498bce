package linearizability

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// valueIndex is what the whole history says of each value, across
// partitions: who sent it where, and where it was found. Values are unique
// per run in the workloads, so a value is one write. What happened to a
// value inside one partition is in that partition's facts.
type valueIndex map[string]*valueFacts

type valueFacts struct {
	produced []int            // produce ops, any partition, in history order
	sentTo   []TopicPartition // partitions a produce sent it to, in order
	foundIn  []TopicPartition // partitions holding it (acks or reads), in order
	readIn   []TopicPartition // partitions where a read returned it, in order
}

func (vf *valueFacts) sent(tp TopicPartition) bool {
	return vf != nil && slices.Contains(vf.sentTo, tp)
}

func indexValues(facts map[TopicPartition]*partitionFacts) valueIndex {
	x := valueIndex{}
	get := func(v string) *valueFacts {
		vf := x[v]
		if vf == nil {
			vf = &valueFacts{}
			x[v] = vf
		}
		return vf
	}
	for _, f := range sortedPartitions(facts) {
		for v, ops := range f.produced {
			vf := get(v)
			vf.produced = append(vf.produced, ops...)
			vf.sentTo = append(vf.sentTo, f.tp)
		}
		for v := range f.seenAt {
			vf := get(v)
			vf.foundIn = append(vf.foundIn, f.tp)
		}
		for v := range f.readBy {
			vf := get(v)
			vf.readIn = append(vf.readIn, f.tp)
		}
	}
	for _, vf := range x {
		if len(vf.sentTo) > 1 {
			sort.Ints(vf.produced)
		}
	}
	return x
}

// definiteErrorsVisible (G1a): a value every produce of which definitely
// failed, read anyway — in the partition it was sent to or in another.
// A value that another produce also sent (a failed attempt and a
// successful one) is not judged.
func definiteErrorsVisible(h History, facts map[TopicPartition]*partitionFacts, x valueIndex) []Anomaly {
	var out []Anomaly
	for _, v := range sortedKeys(x) {
		vf := x[v]
		if len(vf.produced) == 0 || len(vf.readIn) == 0 {
			continue
		}
		failed := true
		for _, i := range vf.produced {
			failed = failed && h[i].Outcome == Fail
		}
		if !failed {
			continue
		}
		tp := vf.readIn[0]
		ops := append([]int(nil), vf.produced...)
		for _, t := range vf.readIn {
			ops = append(ops, facts[t].readBy[v]...)
		}
		detail := fmt.Sprintf("value %q failed definitely (%s) but was read", v, h[vf.produced[0]].Error)
		if !vf.sent(tp) || len(vf.readIn) > 1 {
			detail += fmt.Sprintf(" in %s (sent to %s)", joinPartitions(vf.readIn), joinPartitions(vf.sentTo))
		}
		out = append(out, Anomaly{Name: G1a, Topic: tp.Topic, Partition: tp.Partition, Offset: minOffset(facts[tp].seenAt[v]), Value: v,
			Ops: uniqueSorted(ops), Detail: detail})
	}
	return out
}

// duplicatesAcross: one value at offsets in two partitions or more,
// though it was not sent to each of them (a value sent to two partitions
// may be in both). Duplicates inside one partition are duplicates().
func duplicatesAcross(facts map[TopicPartition]*partitionFacts, x valueIndex, compacted func(string) bool) []Anomaly {
	var out []Anomaly
	for v, vf := range x {
		if len(vf.foundIn) < 2 {
			continue
		}
		unsent := false
		tomb := false
		for _, tp := range vf.foundIn {
			unsent = unsent || !vf.sent(tp)
			tomb = tomb || v == "" && compacted(tp.Topic)
		}
		if !unsent || tomb {
			continue
		}
		var ops []int
		parts := make([]string, len(vf.foundIn))
		for i, tp := range vf.foundIn {
			parts[i] = fmt.Sprintf("%s@%v", tp, sortedOffsets(facts[tp].seenAt[v]))
			for _, oops := range facts[tp].seenAt[v] {
				ops = append(ops, oops...)
			}
		}
		tp := vf.foundIn[0]
		out = append(out, Anomaly{Name: Duplicate, Topic: tp.Topic, Partition: tp.Partition, Offset: minOffset(facts[tp].seenAt[v]), Value: v,
			Ops: uniqueSorted(ops), Detail: fmt.Sprintf("value %q in %d partitions: %s", v, len(vf.foundIn), strings.Join(parts, ", "))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// unsentValues: values reads returned in a partition no recorded produce
// sent them to — sent nowhere (phantom-value) or only elsewhere
// (wrong-partition). Anomalies when the history declares every producer
// recorded; otherwise the count is returned for a note (they are judged
// as writes of unrecorded clients).
func unsentValues(facts map[TopicPartition]*partitionFacts, x valueIndex, declared bool) ([]Anomaly, int) {
	var out []Anomaly
	n := 0
	for _, f := range sortedPartitions(facts) {
		for _, v := range sortedKeys(f.readBy) {
			vf := x[v]
			if vf.sent(f.tp) {
				continue
			}
			n++
			if !declared {
				continue
			}
			a := Anomaly{Topic: f.tp.Topic, Partition: f.tp.Partition, Offset: minOffset(f.seenAt[v]), Value: v}
			reads := uniqueSorted(f.readBy[v])
			if len(vf.produced) == 0 {
				a.Name, a.Ops = PhantomValue, reads
				a.Detail = fmt.Sprintf("value %q was read at offsets %v, but no recorded producer sent it", v, sortedOffsets(f.seenAt[v]))
			} else {
				a.Name, a.Ops = WrongPartition, uniqueSorted(append(append([]int(nil), vf.produced...), reads...))
				a.Detail = fmt.Sprintf("value %q was read at offsets %v, but recorded producers sent it only to %s", v, sortedOffsets(f.seenAt[v]), joinPartitions(vf.sentTo))
			}
			out = append(out, a)
		}
	}
	return out, n
}

// futureReads: a read returned a value before any produce of it was
// called. One anomaly per value and partition, at the earliest such read.
func futureReads(h History, facts map[TopicPartition]*partitionFacts, x valueIndex) []Anomaly {
	var out []Anomaly
	for _, f := range sortedPartitions(facts) {
		for _, v := range sortedKeys(f.readBy) {
			vf := x[v]
			if len(vf.produced) == 0 {
				continue
			}
			prods := vf.produced
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
