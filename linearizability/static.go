package linearizability

import (
	"fmt"
	"sort"
)

// StaticReport is the static checker's verdict.
type StaticReport struct {
	Ops        int
	Partitions int
	Anomalies  []Anomaly
	Counts     map[string]int // anomalies by name
	Notes      []string       // what could not be judged, and why
	Group      GroupJudged    // what the group checks judged
}

// OK reports whether no anomaly was found.
func (r StaticReport) OK() bool { return len(r.Anomalies) == 0 }

// CheckStatic judges content: which value each offset holds, who saw what,
// and in which order. It reports the anomalies of AnomalyNames, each with
// the operations that show it, sorted by partition and offset.
func CheckStatic(h History, opts Options) StaticReport {
	return checkStatic(h, factsOf(h), opts)
}

func checkStatic(h History, facts map[TopicPartition]*partitionFacts, opts Options) StaticReport {
	rep := StaticReport{Ops: len(h), Partitions: len(facts)}
	holes := &holeSet{}
	var out []Anomaly
	for _, f := range sortedPartitions(facts) {
		compacted := opts.compacted(f.tp.Topic)
		out = append(out, inconsistentOffsets(f)...)
		out = append(out, duplicates(f, compacted)...)
		out = append(out, lostAndUnseen(h, f, compacted)...)
		out = append(out, logTruncation(f)...)
		if !compacted {
			drainHoles(f, holes)
		} else if n := f.unkeyed(); n > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s is compacted but %d acknowledged values have no key in the history: lost-write, unseen and poll-skip are not judged for them", f.tp, n))
		}
	}
	values := indexValues(facts)
	out = append(out, definiteErrorsVisible(h, facts, values)...)
	out = append(out, duplicatesAcross(facts, values, opts.compacted)...)
	unsent, n := unsentValues(facts, values, h.ProducersRecorded())
	out = append(out, unsent...)
	if n > 0 && !h.ProducersRecorded() {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d value(s) read in a partition no recorded producer sent them to: taken as writes of unrecorded producers (the history does not declare every producer recorded)", n))
	}
	out = append(out, futureReads(h, facts, values)...)
	out = append(out, fetchBounds(h, opts.compacted)...)
	oc := newOrderChecker(h, facts, opts.compacted, holes)
	oc.polls(h)
	oc.sends(h)
	out = append(out, oc.out...)
	for _, f := range sortedPartitions(facts) {
		out = append(out, holes.anomalies(f.tp)...)
	}
	out = append(out, committedOffsetRegressions(h)...)
	groups, judged := groupAnomalies(h, facts, opts.compacted)
	out = append(out, groups...)
	rep.Group = judged
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	rep.Anomalies = out
	rep.Counts = countAnomalies(out)
	return rep
}
