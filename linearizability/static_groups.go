package linearizability

import (
	"fmt"
	"math"
	"sort"
)

// The group anomalies (group-resume-skip, group-rewind, dual-ownership,
// zombie-commit) are judged from a consumer group's membership facts:
// assign and revoke operations (kgo's OnPartitionsAssigned, Revoked, Lost),
// each member's polls, and the commits and committed-offset reads of the
// group. A member is one client of the history: its assignments, polls
// and commits share its client id.
//
// Times, as kgo orders them (see the recorder):
//   - a member fetches committed offsets and fetches records of a newly
//     assigned partition only after its assign callback returned, so every
//     record of that assignment is taken after assign.Return;
//   - kgo stops fetching a revoked partition and drops what it buffered
//     before calling OnPartitionsRevoked, so no record of the old
//     ownership is taken after revoke.Call; a member may still commit
//     inside the callback (the usual hand-over), so its ownership of
//     commits ends at revoke.Return;
//   - a lost partition (OnPartitionsLost) was lost when the session ended,
//     before the callback: ownership ends at its Call for both.

// ownership is one stretch during which a member owned a partition: from
// an assign to the revoke that ended it (nil: it lasted to the end of the
// history, or to the member's next assign of the partition, next).
type ownership struct {
	client int
	key    groupKey
	assign *Op
	end    *Op // the revoke (or loss) that ended it
	next   *Op // a later assign of the partition without a revoke between
	// evicted: the member's next assignment in the group came under
	// another member id, so the coordinator dropped the member at some
	// point (a session or rebalance timeout) and may have handed its
	// partitions on before the member noticed.
	evicted bool
}

func (o *ownership) lost() bool { return o.end != nil && o.end.Lost }

// pollEnd: no record of this ownership is taken after it.
func (o *ownership) pollEnd() int64 {
	switch {
	case o.end != nil:
		return o.end.Call
	case o.next != nil:
		return o.next.Call
	}
	return never
}

// commitEnd: a commit the member sends after it no longer owns the
// partition.
func (o *ownership) commitEnd() int64 {
	switch {
	case o.end != nil && o.end.Lost:
		return o.end.Call
	case o.end != nil:
		return o.end.Return
	case o.next != nil:
		return o.next.Call
	}
	return never
}

// membership is every group's membership as the history shows it.
type membership struct {
	owns     map[groupKey][]*ownership // in assign order
	byClient map[int]map[groupKey][]*ownership
	members  map[string]map[int]bool // group → clients that were assigned in it
	assigns  map[string][]*Op        // group → every assign, by call
	polls    map[int][]*Op           // client → its polls with records, by return
	seeks    map[int][]*Op           // client → its seeks
}

// byCall sorts ops by call time, then history order.
func byCall(ops []*Op) {
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Call != ops[j].Call {
			return ops[i].Call < ops[j].Call
		}
		return ops[i].Index < ops[j].Index
	})
}

func membershipOf(h History) *membership {
	m := &membership{
		owns:     map[groupKey][]*ownership{},
		byClient: map[int]map[groupKey][]*ownership{},
		members:  map[string]map[int]bool{},
		assigns:  map[string][]*Op{},
		polls:    map[int][]*Op{},
		seeks:    map[int][]*Op{},
	}
	changes := map[int][]*Op{} // client → assigns and revokes
	for i := range h {
		op := &h[i]
		switch op.Kind {
		case KindAssign:
			m.assigns[op.Group] = append(m.assigns[op.Group], op)
			if m.members[op.Group] == nil {
				m.members[op.Group] = map[int]bool{}
			}
			m.members[op.Group][op.Client] = true
			changes[op.Client] = append(changes[op.Client], op)
		case KindRevoke:
			changes[op.Client] = append(changes[op.Client], op)
		case KindPoll:
			if len(op.Records) > 0 {
				m.polls[op.Client] = append(m.polls[op.Client], op)
			}
		case KindSeek:
			m.seeks[op.Client] = append(m.seeks[op.Client], op)
		}
	}
	for _, ops := range m.assigns {
		byCall(ops)
	}
	for _, ops := range m.polls {
		sort.SliceStable(ops, func(i, j int) bool { return ops[i].Return < ops[j].Return })
	}
	for _, id := range sortedClients(changes) {
		ops := changes[id]
		byCall(ops)
		open := map[groupKey]*ownership{}
		var mine []*ownership
		for _, op := range ops {
			if op.Topic == "" {
				continue // a generation with nothing new
			}
			k := groupKey{op.Group, op.tp()}
			switch op.Kind {
			case KindAssign:
				if prev := open[k]; prev != nil {
					prev.next = op
				}
				o := &ownership{client: id, key: k, assign: op}
				open[k] = o
				mine = append(mine, o)
				m.owns[k] = append(m.owns[k], o)
				if m.byClient[id] == nil {
					m.byClient[id] = map[groupKey][]*ownership{}
				}
				m.byClient[id][k] = append(m.byClient[id][k], o)
			case KindRevoke:
				if o := open[k]; o != nil {
					o.end = op
					delete(open, k)
				}
			}
		}
		// Eviction: the member's first assignment in the group after this
		// ownership ended (or, while it lasts, any later one) names
		// another member id.
		for _, o := range mine {
			after := o.assign.Call
			if o.end != nil {
				after = o.end.Call
			}
			for _, a := range ops {
				if a.Kind != KindAssign || a.Group != o.key.group || a.Call <= after || a == o.assign {
					continue
				}
				if a.Member != "" && o.assign.Member != "" && a.Member != o.assign.Member {
					o.evicted = true
				}
				if o.end != nil {
					break
				}
			}
		}
	}
	return m
}

// firstOffsetOf is the offset of op's first record of tp.
func firstOffsetOf(op *Op, tp TopicPartition) (int64, bool) {
	for _, r := range op.Records {
		if r.Topic == tp.Topic && r.Partition == tp.Partition {
			return r.Offset, true
		}
	}
	return 0, false
}

// pollOf returns the client's first poll (by return) that returned
// records of tp, returned after from and began before until (and after
// after, if set), with its first offset of tp.
func (m *membership) pollOf(client int, tp TopicPartition, from, until, after int64) (*Op, int64) {
	for _, p := range m.polls[client] {
		if p.Return <= from || p.Call >= until || p.Call <= after {
			continue
		}
		if o, ok := firstOffsetOf(p, tp); ok {
			return p, o
		}
	}
	return nil, 0
}

// seekedBetween reports whether the client sought tp (or reset every
// position) between two moments.
func (m *membership) seekedBetween(client int, tp TopicPartition, from, to int64) bool {
	for _, s := range m.seeks[client] {
		if s.Call > from && s.Call < to && (s.Topic == "" || s.tp() == tp) {
			return true
		}
	}
	return false
}

// committedValues is what a group's committed offset for a partition could
// hold at some moment of [start, end): the values of commits (acknowledged
// or indeterminate) called before end, values reads returned before end,
// and -1 (nothing committed) — less each value v that a witness excludes:
// an acknowledged commit or read of another value that began after every
// write of v had returned and ended before start. An indeterminate write
// never returns, so nothing excludes its value. A value only reads
// returned (an unrecorded writer) counts as written when its last read
// returned.
type committedValues struct {
	values map[int64][]int // possible value → the writes (or reads) that put it there
	none   bool            // -1, nothing committed, is possible
}

func possibleCommitted(ops []*Op, start, end int64) committedValues {
	type written struct {
		last     int64 // the last write's return
		ops      []int
		recorded bool // a recorded commit wrote it
	}
	cands := map[int64]*written{-1: {last: math.MinInt64, recorded: true}}
	var witnesses []*Op
	for _, op := range ops {
		if op.Outcome == OK && op.Return < start {
			witnesses = append(witnesses, op)
		}
		if op.Call >= end {
			continue
		}
		switch {
		case op.Kind == KindCommit && op.Outcome != Fail:
			ret := op.Return
			if op.Outcome == Info {
				ret = never
			}
			w := cands[op.Offset]
			if w == nil || !w.recorded {
				w = &written{last: math.MinInt64, recorded: true}
				cands[op.Offset] = w
			}
			w.last = max(w.last, ret)
			w.ops = append(w.ops, op.Index)
		case op.Kind == KindFetchOffset && op.Outcome == OK:
			w := cands[op.Offset]
			if w == nil {
				w = &written{last: math.MinInt64}
				cands[op.Offset] = w
			}
			if !w.recorded {
				w.last = max(w.last, op.Return)
				w.ops = append(w.ops, op.Index)
			}
		}
	}
	byCall(witnesses)
	out := committedValues{values: map[int64][]int{}}
	for v, w := range cands {
		excluded := false
		i := sort.Search(len(witnesses), func(i int) bool { return witnesses[i].Call > w.last })
		for ; i < len(witnesses); i++ {
			if witnesses[i].Offset != v {
				excluded = true
				break
			}
		}
		if excluded {
			continue
		}
		if v == -1 {
			out.none = true
		} else {
			out.values[v] = w.ops
		}
	}
	return out
}

func (c committedValues) bounds() (lo, hi int64) {
	first := true
	for v := range c.values {
		if first || v < lo {
			lo = v
		}
		if first || v > hi {
			hi = v
		}
		first = false
	}
	return lo, hi
}

// groupResumes judges where each member starts a partition newly assigned
// to it: its first poll of the partition after the assignment (before any
// seek of it and before the assignment ended) must start at a value the
// group's committed offset could hold between the assignment and that
// poll's return (the member fetched it in between). Below every such value
// is group-rewind; above every one, over known values, group-resume-skip —
// whether or not a member had polled the skipped values (the detail says
// how many nobody in the group polled): the group never committed past
// them, so resuming there means a committed offset the group never wrote,
// or a fetch that did not start where the member's offset fetch said.
// Not judged: when nothing committed (-1) is possible (the member then
// starts where its reset policy says, which the history does not hold),
// a rewind when the lowest possible value lies past the final log's end
// (the member resets then), a skip over values below the final log start
// (deleted).
func groupResumes(h History, m *membership, registers map[groupKey][]*Op, facts map[TopicPartition]*partitionFacts, compacted func(string) bool, j *GroupJudged) []Anomaly {
	var out []Anomaly
	for _, k := range sortedGroupKeys(m.owns) {
		for _, o := range m.owns[k] {
			p, first := m.pollOf(o.client, k.tp, o.assign.Return, o.pollEnd(), math.MinInt64)
			if p == nil || m.seekedBetween(o.client, k.tp, o.assign.Call, p.Return) {
				continue
			}
			cv := possibleCommitted(registers[k], o.assign.Return, p.Return)
			if cv.none || len(cv.values) == 0 {
				continue
			}
			j.Resumes++
			lo, hi := cv.bounds()
			f := facts[k.tp]
			a := Anomaly{Topic: k.tp.Topic, Partition: k.tp.Partition, Group: k.group, Offset: first}
			switch {
			case first < lo:
				if f != nil && f.drain != nil && lo > f.drainEnd {
					continue
				}
				a.Name = GroupRewind
				a.Ops = uniqueSorted(append([]int{o.assign.Index, p.Index}, lastOf(cv.values[lo])...))
				a.Detail = fmt.Sprintf("client %d (member %s, generation %d) was assigned the partition and first polled offset %d, below %d, the lowest offset the group could have committed by then", o.client, o.assign.Member, o.assign.Generation, first, lo)
			case first > hi:
				from := hi
				if f != nil && f.drain != nil {
					from = max(from, f.drain.LogStartOffset)
				}
				if f == nil || first <= from {
					continue
				}
				skipped := f.knownBetween(from-1, first)
				if compacted(k.tp.Topic) {
					skipped = f.liveBetween(from-1, first)
				}
				if !skipped {
					continue
				}
				a.Name = GroupResumeSkip
				a.Offset = from
				a.Ops = uniqueSorted(append([]int{o.assign.Index, p.Index}, lastOf(cv.values[hi])...))
				known, unread := m.unreadByGroup(h, f, k.group, from, first)
				a.Detail = fmt.Sprintf("client %d (member %s, generation %d) was assigned the partition and first polled offset %d, above %d, the highest offset the group could have committed by then: offsets %d..%d were skipped (%d of their %d known values never polled by a member of the group)",
					o.client, o.assign.Member, o.assign.Generation, first, hi, from, first-1, unread, known)
			default:
				continue
			}
			out = append(out, a)
		}
	}
	return out
}

// unreadByGroup counts the known values at offsets [from, to) of f and
// those no member of group polled.
func (m *membership) unreadByGroup(h History, f *partitionFacts, group string, from, to int64) (known, unread int) {
	for o := from; o < to; o++ {
		for v := range f.known[o] {
			known++
			read := false
			for _, i := range f.readBy[v] {
				if h[i].Kind == KindPoll && m.members[group][h[i].Client] {
					read = true
					break
				}
			}
			if !read {
				unread++
			}
		}
	}
	return known, unread
}

// lastOf is the last of ops (the latest write of a value), if any.
func lastOf(ops []int) []int {
	if len(ops) == 0 {
		return nil
	}
	return []int{ops[len(ops)-1]}
}

// dualOwnerships: member B is assigned a partition (at B's assign call)
// while member A of the same group still owns it — A's assignment came
// first and A has not begun to revoke it — and then both poll it: A in a
// poll that began after B's assignment and before A's revoke, B in a poll
// of its new assignment. Two assignments at the same moment are ordered by
// generation (the coordinator forms them in order), then by history
// order, so that each pair is compared. Not judged for an A whose
// ownership ended in a loss, or that the coordinator evicted (its next
// assignment came under a new member id): the coordinator may hand on an
// evicted member's partitions before the member learns it is out, which
// Kafka allows (its commits are then refused, see zombie-commit).
//
// Generations are compared too: one generation's assignment gives each
// partition to one member, so two members assigned the partition in the
// same generation is dual ownership whatever the timing, polls or
// evictions.
func dualOwnerships(m *membership, j *GroupJudged) []Anomaly {
	var out []Anomaly
	for _, k := range sortedGroupKeys(m.owns) {
		os := m.owns[k]
		for _, a := range os {
			for _, b := range os {
				if b.client == a.client || !assignedBefore(a.assign, b.assign) {
					continue
				}
				j.Handovers++
				if g := a.assign.Generation; g > 0 && g == b.assign.Generation {
					out = append(out, Anomaly{Name: DualOwnership, Topic: k.tp.Topic, Partition: k.tp.Partition, Group: k.group, Offset: -1,
						Ops: uniqueSorted([]int{a.assign.Index, b.assign.Index}),
						Detail: fmt.Sprintf("clients %d (member %s) and %d (member %s) were both assigned the partition in generation %d",
							a.client, a.assign.Member, b.client, b.assign.Member, g)})
					continue
				}
				if a.lost() || a.evicted {
					continue
				}
				tB := b.assign.Call
				if tB >= a.pollEnd() {
					continue
				}
				pa, _ := m.pollOf(a.client, k.tp, a.assign.Return, a.pollEnd(), tB)
				if pa == nil {
					continue
				}
				pb, offB := m.pollOf(b.client, k.tp, b.assign.Return, b.pollEnd(), math.MinInt64)
				if pb == nil {
					continue
				}
				out = append(out, Anomaly{Name: DualOwnership, Topic: k.tp.Topic, Partition: k.tp.Partition, Group: k.group, Offset: offB,
					Ops: uniqueSorted([]int{a.assign.Index, b.assign.Index, pa.Index, pb.Index}),
					Detail: fmt.Sprintf("client %d (member %s, generation %d) was assigned the partition while client %d (member %s, generation %d) still owned it, and both polled it (ops %d and %d)",
						b.client, b.assign.Member, b.assign.Generation, a.client, a.assign.Member, a.assign.Generation, pb.Index, pa.Index)})
			}
		}
	}
	return out
}

// assignedBefore orders two assignments: by call, then generation, then
// history order.
func assignedBefore(a, b *Op) bool {
	if a.Call != b.Call {
		return a.Call < b.Call
	}
	if a.Generation != b.Generation {
		return a.Generation < b.Generation
	}
	return a.Index < b.Index
}

// zombieCommits: an acknowledged commit a member sent as a member (with a
// generation) after it no longer owned the partition — its latest
// assignment of the partition before the commit's call had ended (revoke
// return, or loss call) before that call, or it had none — or with a stale
// generation: some member of the group had been assigned in a later
// generation before the commit's call, so the coordinator had formed that
// generation and must refuse the old one (ILLEGAL_GENERATION). Commits
// without a generation (administrative ones) and commits of clients with
// no assignment in the group are judged for their generation only.
func zombieCommits(h History, m *membership, j *GroupJudged) []Anomaly {
	var out []Anomaly
	for i := range h {
		c := &h[i]
		if c.Kind != KindCommit || c.Outcome != OK || c.Generation <= 0 {
			continue
		}
		j.MemberCommits++
		var reasons string
		cite := []int{c.Index}
		for _, a := range m.assigns[c.Group] {
			if a.Call >= c.Call {
				break
			}
			if a.Generation > c.Generation {
				reasons = fmt.Sprintf("sent with generation %d after client %d was assigned in generation %d (op %d)", c.Generation, a.Client, a.Generation, a.Index)
				cite = append(cite, a.Index)
				break
			}
		}
		if m.members[c.Group][c.Client] {
			var latest *ownership
			for _, o := range m.byClient[c.Client][groupKey{c.Group, c.tp()}] {
				if o.assign.Call < c.Call {
					latest = o
				}
			}
			why := ""
			switch {
			case latest == nil:
				why = "the member was never assigned the partition"
			case latest.commitEnd() < c.Call:
				end := latest.end
				if end == nil {
					end = latest.next
				}
				verb := "revoked"
				if end.Lost {
					verb = "lost"
				}
				why = fmt.Sprintf("the member had %s the partition (op %d)", verb, end.Index)
				cite = append(cite, end.Index)
			}
			if why != "" {
				if reasons != "" {
					reasons += "; "
				}
				reasons += why
			}
		}
		if reasons == "" {
			continue
		}
		out = append(out, Anomaly{Name: ZombieCommit, Topic: c.Topic, Partition: c.Partition, Group: c.Group, Offset: c.Offset,
			Ops:    uniqueSorted(cite),
			Detail: fmt.Sprintf("client %d's commit of offset %d (member %s) was acknowledged: %s", c.Client, c.Offset, c.Member, reasons)})
	}
	return out
}

// GroupJudged counts what the group checks judged, so that a run can show
// they were not vacuous.
type GroupJudged struct {
	Members     int // clients assigned in some group
	Generations int // distinct (group, generation) pairs assigned
	Assignments int // partition assignments
	// Resumes: assignments whose first poll was judged against the
	// committed offset (not: nothing committed yet, never polled).
	Resumes int
	// Handovers: pairs of one partition's ownerships by two members, the
	// later assigned after the earlier, checked for overlap.
	Handovers int
	// MemberCommits: acknowledged commits with a generation, judged for
	// ownership and staleness.
	MemberCommits int
}

// groupAnomalies runs every group check.
func groupAnomalies(h History, facts map[TopicPartition]*partitionFacts, compacted func(string) bool) ([]Anomaly, GroupJudged) {
	m := membershipOf(h)
	registers, _ := groupKeys(h)
	var j GroupJudged
	gens := map[string]map[int32]bool{}
	for g, clients := range m.members {
		j.Members += len(clients)
		gens[g] = map[int32]bool{}
		for _, a := range m.assigns[g] {
			gens[g][a.Generation] = true
			if a.Topic != "" {
				j.Assignments++
			}
		}
		j.Generations += len(gens[g])
	}
	var out []Anomaly
	out = append(out, groupResumes(h, m, registers, facts, compacted, &j)...)
	out = append(out, dualOwnerships(m, &j)...)
	out = append(out, zombieCommits(h, m, &j)...)
	return out, j
}

func sortedGroupKeys[V any](m map[groupKey]V) []groupKey {
	keys := make([]groupKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.group != b.group {
			return a.group < b.group
		}
		if a.tp.Topic != b.tp.Topic {
			return a.tp.Topic < b.tp.Topic
		}
		return a.tp.Partition < b.tp.Partition
	})
	return keys
}
