package linearizability

import "fmt"

// Verdict is what a check of a whole history concludes.
type Verdict string

// The verdicts. Invalid is neither a pass nor an anomaly: the history
// cannot prove what it was recorded to prove (it is empty, or a partition
// lacks its complete final drain, without which lost writes, unseen values
// and indeterminate writes cannot be judged), so the run must not count as
// green. An anomaly found in such a history is still proof: Fail wins over
// Invalid.
const (
	VerdictPass    Verdict = "PASS"
	VerdictFail    Verdict = "FAIL"
	VerdictInvalid Verdict = "INVALID"
)

// invalidity lists why h cannot be judged as a complete run: no operation
// at all (a history declaration and faults are not operations); a
// partition that the history wrote or read without a final drain; a drain
// that did not reach its high watermark, by its own account (Complete
// false) or by its reads (on a topic that is not compacted, where offsets
// are dense, the drain's reads must reach the offset below its high
// watermark); a drain that is not final, begun before a produce to its
// partition returned.
func invalidity(h History, facts map[TopicPartition]*partitionFacts, opts Options) []string {
	ops := 0
	lastProduce := map[TopicPartition]*Op{}
	for i := range h {
		op := &h[i]
		if k := op.Kind; k != KindHistory && k != KindFault {
			ops++
		}
		if op.Kind == KindProduce {
			if p := lastProduce[op.tp()]; p == nil || op.Return > p.Return {
				lastProduce[op.tp()] = op
			}
		}
	}
	if ops == 0 {
		return []string{"the history holds no operations"}
	}
	var out []string
	for _, f := range sortedPartitions(facts) {
		d := f.drain
		switch p := lastProduce[f.tp]; {
		case d != nil && p != nil && p.Return > d.Call:
			out = append(out, fmt.Sprintf("%s's final drain began (at %d) before op %d, a produce to it, returned (at %d): it is not final", f.tp, d.Call, p.Index, p.Return))
			continue
		}
		switch {
		case d == nil:
			out = append(out, fmt.Sprintf("%s has no final drain", f.tp))
		case !d.Complete:
			out = append(out, fmt.Sprintf("%s's final drain is incomplete (it did not read up to its high watermark %d)", f.tp, d.HighWatermark))
		case !opts.compacted(f.tp.Topic) && d.HighWatermark > d.LogStartOffset && f.drainRead < d.HighWatermark:
			out = append(out, fmt.Sprintf("%s's final drain says it is complete, but its reads end at offset %d, short of its high watermark %d", f.tp, f.drainRead, d.HighWatermark))
		}
	}
	return out
}
