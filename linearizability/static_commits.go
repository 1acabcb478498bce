package linearizability

import (
	"fmt"
)

// groupKey names one committed-offset register.
type groupKey struct {
	group string
	tp    TopicPartition
}

func groupKeys(h History) (map[groupKey][]*Op, []groupKey) {
	m := map[groupKey][]*Op{}
	for i := range h {
		op := &h[i]
		if op.Kind == KindCommit || op.Kind == KindFetchOffset {
			k := groupKey{op.Group, op.tp()}
			m[k] = append(m[k], op)
		}
	}
	return m, sortedGroupKeys(m)
}

// committedOffsetRegressions finds reads of a committed offset that went
// back to an overwritten value. A read R of v is one when some witness W of
// another value (an acknowledged commit, or a read) began after every
// commit of v that R could have seen had finished, and W ended before R
// began: W's moment lies after every write of v and before R, so R cannot
// see v. The start (-1, nothing committed) counts as a write that finished
// before the history. Values no commit wrote are left to porcupine's
// register model. The check only accuses, never needs a search, and so
// misses some stale reads that porcupine catches.
func committedOffsetRegressions(h History) []Anomaly {
	m, keys := groupKeys(h)
	var out []Anomaly
	for _, k := range keys {
		ops := m[k]
		var witnesses []*Op
		for _, op := range ops {
			if op.Outcome == OK {
				witnesses = append(witnesses, op)
			}
		}
		for _, r := range ops {
			if r.Kind != KindFetchOffset || r.Outcome != OK {
				continue
			}
			v := r.Offset
			written := v == -1
			lastWrite := int64(-1) << 62 // before the history
			for _, w := range ops {
				if w.Kind != KindCommit || w.Offset != v || w.Outcome == Fail || w.Call > r.Return {
					continue
				}
				written = true
				ret := w.Return
				if w.Outcome == Info {
					ret = never
				}
				lastWrite = max(lastWrite, ret)
			}
			if !written {
				continue
			}
			var culprit *Op
			for _, w := range witnesses {
				if w.Offset != v && w.Call > lastWrite && w.Return < r.Call && (culprit == nil || w.Return > culprit.Return) {
					culprit = w
				}
			}
			if culprit == nil {
				continue
			}
			what := "commit of"
			if culprit.Kind == KindFetchOffset {
				what = "read of"
			}
			detail := fmt.Sprintf("read committed offset %d after a %s %d that followed every commit of %d", v, what, culprit.Offset, v)
			if v == -1 {
				detail = fmt.Sprintf("read no committed offset (-1) after a %s %d", what, culprit.Offset)
			}
			out = append(out, Anomaly{Name: CommittedOffsetRegression, Topic: k.tp.Topic, Partition: k.tp.Partition, Group: k.group,
				Offset: v, Ops: []int{culprit.Index, r.Index}, Detail: detail})
		}
	}
	return out
}
