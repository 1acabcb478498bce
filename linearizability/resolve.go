package linearizability

import "sort"

// Resolution counts how indeterminate writes were settled before porcupine
// ran. Settling them keeps the model deterministic and the search small.
type Resolution struct {
	// Resolved: found by a read, so they happened: ok at the offset found,
	// returning when the first read that saw them returned.
	Resolved int
	// Dropped: absent from a complete final drain, so they never happened.
	Dropped int
	// Unresolved: on partitions without a complete drain, so they may take
	// effect at any time after their call (an unknown offset, returning
	// never), which makes the search larger.
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
//     had a complete drain, and left open otherwise.
func resolveAppends(h History, facts map[TopicPartition]*partitionFacts) ([]logAppend, Resolution) {
	var out []logAppend
	var res Resolution
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
			case f.completeDrain():
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
