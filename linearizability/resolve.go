package linearizability

import "sort"

// Resolution counts how indeterminate writes were settled before porcupine
// ran. Settling them keeps the model deterministic and the search small.
type Resolution struct {
	// Resolved: found by a read, so they happened: ok at the offset found,
	// returning when the first read that saw them returned.
	Resolved int
	// Dropped: absent from a complete final drain that reads every
	// offset they could have taken, so they never happened.
	Dropped int
	// Unresolved: nothing says whether or where they took effect (no
	// complete drain; or retention or compaction may have removed them
	// before anyone read them), so they may take effect at any time after
	// their call, or never. The log model counts them (see logModel).
	Unresolved int
	// Unrecorded: values reads returned that no recorded produce sent;
	// they are writes of some unrecorded client, which happened before the
	// first read that saw them.
	Unrecorded int
}

// logAppend is one record's append as porcupine sees it.
type logAppend struct {
	tp     TopicPartition
	value  string
	offset int64 // -1: unknown (unresolved)
	call   int64
	ret    int64
	client int
	op     int // history index, -1 for an unrecorded write
}

// resolveAppends turns the history's produces into one append per record
// (kgo may split one call's records over several batches, so one append
// per record is what is always true) and settles indeterminate ones
// against what reads found:
//   - an acknowledged record appends at its acknowledged offset;
//   - a record reads found at an offset (any outcome: an indeterminate
//     write that happened, a duplicate, a definite failure that is visible
//     anyway) appends there, returning when the first read that saw it
//     there returned; the static checker judges whether it should be;
//   - an indeterminate record no read found is dropped if its partition
//     had a complete drain, begun after the produce returned, that reads
//     every offset it could have taken, and left open otherwise. It could only have taken an offset at or
//     above the log end at its call, which is at least the highest end
//     an operation that returned before the call showed; if that is at or
//     above the drain's log start, and the topic is not compacted (the
//     cleaner removes records anywhere), the drain would have found it.
//     Otherwise retention or compaction may have removed it unread.
func resolveAppends(h History, facts map[TopicPartition]*partitionFacts, compacted func(string) bool) ([]logAppend, Resolution) {
	var out []logAppend
	var res Resolution
	floors := endFloors(h)
	start := int64(0)
	unrecordedClient := 0
	for i, op := range h {
		if i == 0 || op.Call < start {
			start = op.Call
		}
		unrecordedClient = max(unrecordedClient, op.Client+1)
	}
	// Each record at an offset is appended once: acknowledgements claim
	// theirs first, then other produces of the value, in call order, claim
	// what reads found.
	claimed := map[TopicPartition]map[valueAt]bool{}
	claim := func(tp TopicPartition, k valueAt) bool {
		if claimed[tp] == nil {
			claimed[tp] = map[valueAt]bool{}
		}
		if claimed[tp][k] {
			return false
		}
		claimed[tp][k] = true
		return true
	}
	var produces []*Op
	for i := range h {
		op := &h[i]
		if op.Kind != KindProduce {
			continue
		}
		produces = append(produces, op)
		if op.Outcome == OK {
			for j, v := range op.Values {
				if claim(op.tp(), valueAt{v, op.Offsets[j]}) {
					out = append(out, logAppend{op.tp(), v, op.Offsets[j], op.Call, op.Return, op.Client, op.Index})
				}
			}
		}
	}
	sort.SliceStable(produces, func(i, j int) bool { return produces[i].Call < produces[j].Call })
	for _, op := range produces {
		f := facts[op.tp()]
		for _, v := range op.Values {
			found := false
			for _, o := range sortedOffsets(f.seenAt[v]) {
				first, read := f.firstRead[valueAt{v, o}]
				if !read || !claim(op.tp(), valueAt{v, o}) {
					continue
				}
				found = true
				out = append(out, logAppend{op.tp(), v, o, op.Call, max(op.Call, h[first].Return), op.Client, op.Index})
			}
			switch {
			case op.Outcome == OK || op.Outcome == Fail:
			case found:
				res.Resolved++
			case f.completeDrain() && op.Return < f.drain.Call && !compacted(op.Topic) && floors[op.tp()].before(op.Call) >= f.drain.LogStartOffset:
				res.Dropped++
			case len(f.seenAt[v]) > 0:
				// Another produce of the same value claimed what reads found.
				res.Dropped++
			default:
				res.Unresolved++
				out = append(out, logAppend{op.tp(), v, -1, op.Call, never, op.Client, op.Index})
			}
		}
	}
	for _, f := range sortedPartitions(facts) {
		for _, v := range sortedKeys(f.seenAt) {
			if len(f.produced[v]) > 0 {
				continue
			}
			for _, o := range sortedOffsets(f.seenAt[v]) {
				res.Unrecorded++
				out = append(out, logAppend{f.tp, v, o, start, h[f.firstRead[valueAt{v, o}]].Return, unrecordedClient, -1})
			}
		}
	}
	return out, res
}

func sortedOffsets(m map[int64][]int) []int64 {
	out := make([]int64, 0, len(m))
	for o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// endFloor is what a partition's history shows of its log end over time:
// an operation that returned at ret showed the end was at least end then.
// The end never decreases, so at any later moment it is at least that.
type endFloor struct {
	ret []int64 // ascending
	end []int64 // the highest end shown by ret[i] or before
}

// before is the highest log end operations that returned before t showed
// (0 if none).
func (e *endFloor) before(t int64) int64 {
	if e == nil {
		return 0
	}
	i := sort.Search(len(e.ret), func(i int) bool { return e.ret[i] >= t })
	if i == 0 {
		return 0
	}
	return e.end[i-1]
}

// endFloors gathers, per partition, the log ends operations showed:
// acknowledged offsets, records read, high watermarks reported and latest
// offsets listed (a follower's too: its high watermark never passes the
// leader's log end).
func endFloors(h History) map[TopicPartition]*endFloor {
	type shown struct{ ret, end int64 }
	all := map[TopicPartition][]shown{}
	add := func(tp TopicPartition, ret, end int64) { all[tp] = append(all[tp], shown{ret, end}) }
	for i := range h {
		op := &h[i]
		switch op.Kind {
		case KindProduce:
			if op.Outcome == OK {
				for _, o := range op.Offsets {
					add(op.tp(), op.Return, o+1)
				}
			}
		case KindPoll, KindFetch:
			for _, r := range op.Records {
				add(TopicPartition{r.Topic, r.Partition}, op.Return, r.Offset+1)
			}
			for _, fe := range op.Fetched {
				if fe.Error == "" {
					add(TopicPartition{fe.Topic, fe.Partition}, op.Return, fe.HighWatermark)
				}
			}
			if op.Kind == KindFetch && op.Outcome == OK {
				add(op.tp(), op.Return, op.HighWatermark)
			}
		case KindListOffsets:
			if op.Outcome == OK && op.Spec == SpecLatest {
				add(op.tp(), op.Return, op.Offset)
			}
		}
	}
	out := make(map[TopicPartition]*endFloor, len(all))
	for tp, ss := range all {
		sort.Slice(ss, func(i, j int) bool { return ss[i].ret < ss[j].ret })
		e := &endFloor{ret: make([]int64, len(ss)), end: make([]int64, len(ss))}
		var top int64
		for i, s := range ss {
			top = max(top, s.end)
			e.ret[i], e.end[i] = s.ret, top
		}
		out[tp] = e
	}
	return out
}
