package linearizability

import (
	"fmt"
	"sort"
)

// byClient lists each client's operations in the order it issued them: by
// call time, as a client issues one call at a time.
func byClient(h History) map[int][]*Op {
	m := map[int][]*Op{}
	for i := range h {
		m[h[i].Client] = append(m[h[i].Client], &h[i])
	}
	for _, ops := range m {
		sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	}
	return m
}

func sortedClients(m map[int][]*Op) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// orderChecker judges consumers' and producers' order. It needs every
// partition's facts to tell a skip (a reader jumped over known values) from
// a hole (nothing is known there), and the log start offsets the history
// recorded to tell a skip from a jump over deleted records.
type orderChecker struct {
	h         History
	facts     map[TopicPartition]*partitionFacts
	compacted func(topic string) bool
	holes     *holeSet
	starts    map[TopicPartition]*logStarts
	out       []Anomaly
}

func newOrderChecker(h History, facts map[TopicPartition]*partitionFacts, compacted func(string) bool, holes *holeSet) *orderChecker {
	return &orderChecker{h: h, facts: facts, compacted: compacted, holes: holes, starts: logStartsOf(h)}
}

// logStarts is what a history recorded of one partition's log start
// offset, which only grows (retention, DeleteRecords).
type logStarts struct {
	max   int64      // the highest any operation reported (0: none)
	after []startObs // reports whose moment is known to follow their call, by call
	// sufMin[i] is the lowest log start of after[i:].
	sufMin []int64
}

type startObs struct {
	call  int64
	start int64
}

// logStartsOf gathers every log start offset the history recorded: polls'
// fetches (when kgo fetched is unknown: only the highest counts), and
// fetches, earliest list-offsets and drains, which learnt theirs after
// their call.
func logStartsOf(h History) map[TopicPartition]*logStarts {
	m := map[TopicPartition]*logStarts{}
	get := func(tp TopicPartition) *logStarts {
		if m[tp] == nil {
			m[tp] = &logStarts{}
		}
		return m[tp]
	}
	for i := range h {
		op := &h[i]
		switch {
		case op.Kind == KindPoll:
			for _, fe := range op.Fetched {
				if fe.Error == "" {
					s := get(TopicPartition{fe.Topic, fe.Partition})
					s.max = max(s.max, fe.LogStartOffset)
				}
			}
		case op.Kind == KindFetch && op.Outcome == OK && op.LogStartOffset >= 0,
			op.Kind == KindDrain && op.LogStartOffset >= 0:
			s := get(op.tp())
			s.max = max(s.max, op.LogStartOffset)
			s.after = append(s.after, startObs{op.Call, op.LogStartOffset})
		case op.Kind == KindListOffsets && op.Outcome == OK && op.Spec == SpecEarliest && op.Offset >= 0:
			s := get(op.tp())
			s.max = max(s.max, op.Offset)
			s.after = append(s.after, startObs{op.Call, op.Offset})
		}
	}
	for _, s := range m {
		sort.Slice(s.after, func(i, j int) bool { return s.after[i].call < s.after[j].call })
		s.sufMin = make([]int64, len(s.after))
		for i := len(s.after) - 1; i >= 0; i-- {
			s.sufMin[i] = s.after[i].start
			if i+1 < len(s.after) {
				s.sufMin[i] = min(s.sufMin[i], s.sufMin[i+1])
			}
		}
	}
	return m
}

// possibleStart is the highest log start the partition may have had at
// moment t: records below it may have been deleted by then. It is the
// highest log start anyone reported, capped by every report from an
// operation called after t (the log start only grows, so it was no higher
// at t).
func (s *logStarts) possibleStart(t int64) int64 {
	if s == nil {
		return 0
	}
	bound := s.max
	i := sort.Search(len(s.after), func(i int) bool { return s.after[i].call > t })
	if i < len(s.after) {
		bound = min(bound, s.sufMin[i])
	}
	return bound
}

// jump judges a reader moving from offset a (the last it read, or a seek
// target minus one) to offset b. prev is the op that read a (-1 if a came
// from a seek or the request), cur the op that read b.
func (c *orderChecker) jump(tp TopicPartition, a, b int64, prev, cur int, internal bool) {
	name := func(external, internalName string) string {
		if internal {
			return internalName
		}
		return external
	}
	ops := []int{cur}
	if prev >= 0 && prev != cur {
		ops = []int{prev, cur}
	}
	switch {
	case b <= a:
		c.out = append(c.out, Anomaly{Name: name(NonmonotonicPoll, IntNonmonotonicPoll), Topic: tp.Topic, Partition: tp.Partition, Offset: b,
			Ops: ops, Detail: fmt.Sprintf("read offset %d after offset %d", b, a)})
	case b > a+1:
		f := c.facts[tp]
		if op := &c.h[cur]; op.Kind == KindPoll {
			// A consumer whose position fell below the log start
			// (retention, DeleteRecords) is reset to it: offsets below
			// the log start it may have met when it fetched (before the
			// poll returned) were deleted, not skipped. A fetch
			// request below the log start fails instead.
			if start := c.starts[tp].possibleStart(op.Return); start-1 > a {
				a = start - 1
				if b <= a+1 {
					return
				}
			}
		}
		skipped := f.knownBetween(a, b)
		if c.compacted(tp.Topic) {
			// Compaction removes superseded values and tombstones; a
			// reader may pass over those, not over a key's latest value.
			skipped = f.liveBetween(a, b)
		}
		if skipped {
			c.out = append(c.out, Anomaly{Name: name(PollSkip, IntPollSkip), Topic: tp.Topic, Partition: tp.Partition, Offset: a + 1,
				Ops: ops, Detail: fmt.Sprintf("jumped from offset %d to %d over known values", a, b)})
		} else if !c.compacted(tp.Topic) {
			c.holes.add(tp, a+1, b-1, ops...)
		}
	}
}

// readOrder lists each client's operations in the order its reads took
// effect: polls and fetches at their return, everything else at its call.
// For a client that calls one thing at a time this is the order it called
// them in; a group member's assign callbacks run beside its polls, and a
// poll that was waiting when its member was assigned a partition returns
// that partition's records after the assign began (kgo fetches it only
// once the callback returned).
func readOrder(h History) map[int][]*Op {
	m := map[int][]*Op{}
	for i := range h {
		m[h[i].Client] = append(m[h[i].Client], &h[i])
	}
	at := func(op *Op) int64 {
		if op.Kind == KindPoll || op.Kind == KindFetch {
			return op.Return
		}
		return op.Call
	}
	for _, ops := range m {
		sort.SliceStable(ops, func(i, j int) bool { return at(ops[i]) < at(ops[j]) })
	}
	return m
}

// polls checks each consumer's reads: inside every poll or fetch, records of
// a partition must follow each other; across a consumer's polls, each
// partition continues where it stopped, unless a seek intervened or the
// partition was assigned to the consumer again (where a group member
// resumes is judged by groupResumes). A fetch starts at its requested
// offset and leaves the consumer's position alone.
func (c *orderChecker) polls(h History) {
	clients := readOrder(h)
	for _, id := range sortedClients(clients) {
		type position struct {
			offset int64 // last offset read, or seek target - 1
			op     int   // the op that read it, -1 after a seek
		}
		pos := map[TopicPartition]position{}
		for _, op := range clients[id] {
			switch op.Kind {
			case KindSeek:
				if op.Topic == "" {
					clear(pos)
				} else {
					pos[op.tp()] = position{op.Offset - 1, -1}
				}
			case KindAssign:
				if op.Topic != "" {
					delete(pos, op.tp())
				}
			case KindPoll, KindFetch:
				last := map[TopicPartition]position{}
				if op.Kind == KindFetch && len(op.Records) > 0 {
					last[op.tp()] = position{op.Offset - 1, -1}
				}
				for _, r := range op.Records {
					tp := TopicPartition{r.Topic, r.Partition}
					if p, ok := last[tp]; ok {
						c.jump(tp, p.offset, r.Offset, p.op, op.Index, p.op == op.Index)
					} else if p, ok := pos[tp]; ok && op.Kind == KindPoll {
						c.jump(tp, p.offset, r.Offset, p.op, op.Index, false)
					}
					last[tp] = position{r.Offset, op.Index}
				}
				if op.Kind == KindPoll {
					for tp, p := range last {
						pos[tp] = p
					}
				}
			}
		}
	}
}

// sends checks that each producer's records to a partition land in the
// order it sent them. A record's offset is its acknowledgement's or, for an
// indeterminate send, where reads found it; definitely failed sends and
// records found nowhere are skipped.
func (c *orderChecker) sends(h History) {
	clients := byClient(h)
	for _, id := range sortedClients(clients) {
		type sent struct {
			offset int64
			op     int
		}
		last := map[TopicPartition]sent{}
		for _, op := range clients[id] {
			if op.Kind != KindProduce || op.Outcome == Fail {
				continue
			}
			tp := op.tp()
			f := c.facts[tp]
			for j, v := range op.Values {
				o := int64(-1)
				if op.Outcome == OK {
					o = op.Offsets[j]
				} else if at, ok := f.seenAt[v]; ok {
					o = minOffset(at)
				}
				if o < 0 {
					continue
				}
				if p, ok := last[tp]; ok && o < p.offset {
					name, ops := NonmonotonicSend, []int{p.op, op.Index}
					if p.op == op.Index {
						name, ops = IntNonmonotonicSend, []int{op.Index}
					}
					c.out = append(c.out, Anomaly{Name: name, Topic: tp.Topic, Partition: tp.Partition, Offset: o, Value: v,
						Ops: ops, Detail: fmt.Sprintf("value %q sent after the one at offset %d landed at offset %d", v, p.offset, o)})
				}
				last[tp] = sent{o, op.Index}
			}
		}
	}
}
