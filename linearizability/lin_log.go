package linearizability

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// The log model of one partition, as porcupine checks it.
//
// The specification is package model: a partition is a log whose end
// offset an append moves by its length, and a linearizable read of the
// latest offset (ListOffsets latest from the leader, a leader's fetch)
// reports the end. Porcupine needs no more than that end offset as its
// state; TestLogModelRefinesTheSpecification holds this abstraction
// against model.Cluster step by step.
//
// Three things keep the search polynomial and its memory bounded, and
// none changes the verdict (each argument is written where it is done):
//   - unresolved indeterminate appends are not porcupine operations but a
//     count in the state (logState.used, logInput.avail);
//   - every operation's interval is narrowed to what the offsets it
//     reports force (clipIntervals);
//   - each partition's history is cut where no operation is pending, and
//     the pieces are checked one after the other from the state the
//     prefix must end in (segments).

// logState is the state of the log model: the log end offset, and how
// many unresolved indeterminate appends have taken effect so far.
type logState struct {
	end  int64
	used int64
}

// notStarted is the model's initial state: the first operation of a
// segment replaces it with the state its segment starts from (logInput.init).
var notStarted = logState{end: -1}

// logInput is one operation of the log model of a partition: an append of
// one record whose offset is known, or a linearizable read of the high
// watermark.
type logInput struct {
	tp     TopicPartition
	seg    int // the segment of the partition's history (see segments)
	read   bool
	values []string // append
	op     int      // history index, -1 for an unrecorded write
	// avail is how many of the partition's unresolved indeterminate
	// appends were called no later than this operation (clipped) returns:
	// those that may take effect before it.
	avail int64
	init  logState // the state the segment starts from
}

// logOutput is an append's base offset or a read's high watermark.
type logOutput struct {
	offset int64
}

// logModel is the sequential specification of one partition as porcupine
// checks it (see the comment at the top of this file). An operation that
// needs the log end at offset o (an append based at o, a read of o) may
// first let d = o - end ≥ 0 unresolved appends take effect, if that many
// are available to it (used + d ≤ avail); an append must also carry the
// values reads found at its offsets (seen).
//
// Why a count is enough for unresolved appends: an indeterminate produce
// that no read found and no complete drain ruled out may take effect at
// any time after its call, or never (porcupine gives it no return, so it
// may always come last). Such appends are interchangeable: each adds one
// record whose value nobody observed, and differ only in their calls. So
// instead of trying every subset and order of them (which doubled
// porcupine's time with each one), the model only counts how many have
// taken effect. The count is exact: take a linearization of the original
// history; the unresolved appends before each other operation O are all
// called no later than O returns, so used ≤ avail(O) at every O — the
// count model accepts it. Conversely, given a run of the count model,
// place before each O, as it needs them, the earliest-called unresolved
// appends not yet used, and the rest at the end. Used grows along the
// run and used ≤ avail(O) at each O, so every append placed before O (or
// before any operation after O) was called no later than that operation
// returned: the order respects real time, and each step is the same. So
// the original history has a linearization iff the count model does.
func logModel(seen map[TopicPartition]map[int64]string) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return notStarted },
		Step: func(state, input, output any) (bool, any) {
			st := state.(logState)
			in, out := input.(logInput), output.(logOutput)
			if st == notStarted {
				st = in.init
			}
			d := out.offset - st.end
			if d < 0 || st.used+d > in.avail {
				return false, state
			}
			if in.read {
				return true, logState{end: out.offset, used: st.used + d}
			}
			for i, v := range in.values {
				if s, ok := seen[in.tp][out.offset+int64(i)]; ok && s != v {
					return false, state
				}
			}
			return true, logState{end: out.offset + int64(len(in.values)), used: st.used + d}
		},
		Hash: func(state any) uint64 {
			st := state.(logState)
			return uint64(st.end)*0x9e3779b97f4a7c15 ^ uint64(st.used)
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(logInput), output.(logOutput)
			if in.read {
				return fmt.Sprintf("high watermark → %d", out.offset)
			}
			return fmt.Sprintf("append %q → %d", in.values, out.offset)
		},
		DescribeState: func(state any) string {
			st := state.(logState)
			if st == notStarted {
				return "segment start"
			}
			if st.used > 0 {
				return fmt.Sprintf("log end %d (%d unresolved appends took effect)", st.end, st.used)
			}
			return fmt.Sprintf("log end %d", st.end)
		},
		DescribeOperationMetadata: describeOpIndex,
	}
}

// logOp is one operation of a partition's log model before it is handed
// to porcupine.
type logOp struct {
	in        logInput
	offset    int64 // base offset (append) or high watermark (read)
	call, ret int64
	client    int
	meta      int // history index, -1 for an unrecorded write
}

// pos orders what an operation needs of the log end: a read of h needs it
// at h, an append at o moves it from o to o+1 (every append has one
// record). Since the end never decreases, an operation with a lower
// position comes before one with a higher position in every legal order.
func (o *logOp) pos() int64 {
	if o.in.read {
		return 2 * o.offset
	}
	return 2*o.offset + 1
}

// after is the log end once the operation took effect.
func (o *logOp) after() int64 {
	if o.in.read {
		return o.offset
	}
	return o.offset + int64(len(o.in.values))
}

// logPartition is one partition's log model history, ready to cut.
type logPartition struct {
	tp         TopicPartition
	ops        []*logOp
	unresolved []int64 // calls of the unresolved appends, ascending
}

// logPartitions builds each partition's model history: every settled
// append (acknowledged, found by a read, or an unrecorded client's), every
// acknowledged latest list-offsets that claims to be linearizable, and
// every linearizable fetch; unresolved appends become counts.
func logPartitions(h History, appends []logAppend) []*logPartition {
	byTP := map[TopicPartition]*logPartition{}
	get := func(tp TopicPartition) *logPartition {
		p := byTP[tp]
		if p == nil {
			p = &logPartition{tp: tp}
			byTP[tp] = p
		}
		return p
	}
	for _, a := range appends {
		p := get(a.tp)
		if a.offset < 0 {
			p.unresolved = append(p.unresolved, a.call)
			continue
		}
		p.ops = append(p.ops, &logOp{in: logInput{tp: a.tp, values: []string{a.value}, op: a.op}, offset: a.offset,
			call: a.call, ret: a.ret, client: a.client, meta: a.op})
	}
	for i := range h {
		op := &h[i]
		var hw int64
		switch {
		case op.Outcome != OK || !op.Linearizable:
			continue
		case op.Kind == KindListOffsets && op.Spec == SpecLatest:
			hw = op.Offset
		case op.Kind == KindFetch:
			hw = op.HighWatermark
		default:
			continue
		}
		p := get(op.tp())
		p.ops = append(p.ops, &logOp{in: logInput{tp: op.tp(), read: true, op: i}, offset: hw,
			call: op.Call, ret: op.Return, client: op.Client, meta: i})
	}
	out := make([]*logPartition, 0, len(byTP))
	for _, p := range byTP {
		sort.Slice(p.unresolved, func(i, j int) bool { return p.unresolved[i] < p.unresolved[j] })
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].tp, out[j].tp
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return out
}

// clipIntervals narrows each operation's interval to what the offsets
// force, which changes no verdict and lets segments cut the history where
// a long interval (an indeterminate write first read by the final drain)
// would otherwise keep the whole partition in one piece.
//
// Why: the log end never decreases, so in every legal order an operation
// A comes before every B of higher position (see pos). Take a legal order
// and linearization points in it: A's point precedes B's, which is at most
// B's return, so A's point lies before the earliest return of any B above
// it; likewise it lies after the latest call of any operation below it.
// Narrowing A's interval to those bounds keeps that order legal, and a
// narrower interval never admits an order the wider one did not. If the
// bounds cross, no legal order exists; the interval is left alone and
// porcupine finds the violation.
func clipIntervals(ops []*logOp) {
	byPos := append([]*logOp(nil), ops...)
	sort.SliceStable(byPos, func(i, j int) bool { return byPos[i].pos() < byPos[j].pos() })
	n := len(byPos)
	calls := make([]int64, n)
	rets := make([]int64, n)
	// Latest call strictly below each position, earliest return strictly
	// above, over groups of equal position.
	latestCall := int64(-1 << 62)
	for i := 0; i < n; {
		j := i
		for j < n && byPos[j].pos() == byPos[i].pos() {
			j++
		}
		for k := i; k < j; k++ {
			calls[k] = latestCall
		}
		for k := i; k < j; k++ {
			latestCall = max(latestCall, byPos[k].call)
		}
		i = j
	}
	earliestRet := int64(never)
	for j := n; j > 0; {
		i := j - 1
		for i > 0 && byPos[i-1].pos() == byPos[j-1].pos() {
			i--
		}
		for k := i; k < j; k++ {
			rets[k] = earliestRet
		}
		for k := i; k < j; k++ {
			earliestRet = min(earliestRet, byPos[k].ret)
		}
		j = i
	}
	for k, o := range byPos {
		call, ret := max(o.call, calls[k]), min(o.ret, rets[k])
		if call <= ret {
			o.call, o.ret = call, ret
		}
	}
}

// segment is a piece of a partition's history that no operation outside
// it overlaps.
type segment struct {
	ops  []*logOp
	init logState
}

// segments cuts a partition's (clipped) history where no operation is
// pending: every operation before the cut returned before every operation
// after it was called. Each piece is checked on its own from the one state
// the pieces before it can end in, so porcupine's memory (a bitset per
// step, quadratic in a piece's length) and time are those of the longest
// piece, not of the partition.
//
// Why the state at a cut is unique: every operation before the cut comes
// before every operation after it in any legal order. Before the cut, the
// log end only grows and ends at what the last operation left, which is at
// most M, the highest end any operation before the cut leaves (after) —
// and the operation that leaves M came before, so the end is M. The
// unresolved appends that took effect are the rest of M: M minus the
// records of the settled appends before the cut (all of which took
// effect). Should the pieces before be illegal, the partition fails
// whatever the later pieces say.
func segments(p *logPartition) []segment {
	clipIntervals(p.ops)
	ops := append([]*logOp(nil), p.ops...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].call < ops[j].call })
	var out []segment
	var state logState
	var appended int64
	for i := 0; i < len(ops); {
		latest := ops[i].ret
		j := i + 1
		for j < len(ops) && ops[j].call <= latest {
			latest = max(latest, ops[j].ret)
			j++
		}
		seg := segment{ops: ops[i:j], init: state}
		for _, o := range seg.ops {
			state.end = max(state.end, o.after())
			if !o.in.read {
				appended += int64(len(o.in.values))
			}
		}
		state.used = state.end - appended
		out = append(out, seg)
		i = j
	}
	// What each operation may draw on: the unresolved appends called no
	// later than it returns (porcupine orders a call before a return at
	// the same time).
	for si := range out {
		for _, o := range out[si].ops {
			o.in.seg = si
			o.in.init = out[si].init
			o.in.avail = int64(sort.Search(len(p.unresolved), func(k int) bool { return p.unresolved[k] > o.ret }))
		}
	}
	return out
}

// porcupineOps turns segments into porcupine's operations.
func porcupineOps(segs []segment) []porcupine.Operation {
	var out []porcupine.Operation
	for _, s := range segs {
		for _, o := range s.ops {
			out = append(out, porcupine.Operation{ClientId: o.client, Call: o.call, Return: o.ret,
				Input: o.in, Output: logOutput{offset: o.offset}, Metadata: o.meta})
		}
	}
	return out
}

// readValues is the static map the log model holds appends to: the value
// the first read found at each offset.
func readValues(facts map[TopicPartition]*partitionFacts) map[TopicPartition]map[int64]string {
	m := map[TopicPartition]map[int64]string{}
	for tp, f := range facts {
		m[tp] = map[int64]string{}
		for k := range f.firstRead {
			if cur, ok := m[tp][k.offset]; !ok || k.value < cur {
				// Two values at one offset is inconsistent-offsets; pick
				// one deterministically and let the check fail.
				m[tp][k.offset] = k.value
			}
		}
	}
	return m
}

// partitionBy splits a porcupine history by a key of each input, keeping
// the partitions in first-seen order.
func partitionBy(key func(input any) any) func([]porcupine.Operation) [][]porcupine.Operation {
	return func(history []porcupine.Operation) [][]porcupine.Operation {
		index := map[any]int{}
		var parts [][]porcupine.Operation
		for _, op := range history {
			k := key(op.Input)
			i, ok := index[k]
			if !ok {
				i = len(parts)
				index[k] = i
				parts = append(parts, nil)
			}
			parts[i] = append(parts[i], op)
		}
		return parts
	}
}

func describeOpIndex(info any) string {
	if i, ok := info.(int); ok && i >= 0 {
		return fmt.Sprintf("op %d", i)
	}
	return "unrecorded write"
}
