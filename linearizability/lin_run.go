package linearizability

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

// LinReport is one porcupine check's verdict.
type LinReport struct {
	Name       string // "log" or "committed-offsets"
	Result     porcupine.CheckResult
	Ops        int
	Partitions int
	// Segments: the pieces the partitions' log histories were cut into
	// (log only; see segments).
	Segments int
	// Illegal lists the partitions (topic/partition, or group topic/partition)
	// that have no linearization.
	Illegal []string
	Elapsed time.Duration
	Timeout time.Duration
	// Visualization is the HTML file written on failure ("" if none was
	// asked for or the check passed); VisualizationErr why writing it failed.
	Visualization    string
	VisualizationErr error
}

// OK reports whether the history is linearizable. A timeout (Unknown) is a
// failure: a check that could not finish proves nothing.
func (r LinReport) OK() bool { return r.Result == porcupine.Ok }

// linCheck runs one porcupine check with a timeout and, on failure, writes
// the visualization with faults and static anomalies drawn as annotations.
func linCheck(name string, model porcupine.Model, ops []porcupine.Operation, keyName func(any) string,
	h History, anomalies []Anomaly, opts Options) LinReport {
	parts := model.Partition(ops)
	rep := LinReport{Name: name, Ops: len(ops), Partitions: len(parts), Timeout: opts.timeout()}
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, ops, opts.timeout())
	rep.Elapsed = time.Since(start)
	rep.Result = res
	if res == porcupine.Ok {
		return rep
	}
	if res == porcupine.Illegal {
		partials := info.PartialLinearizations()
		for i, p := range parts {
			if i < len(partials) && !fullyLinearized(partials[i], len(p)) {
				rep.Illegal = append(rep.Illegal, keyName(p[0].Input))
			}
		}
	}
	if opts.VisualizeDir != "" {
		rep.Visualization, rep.VisualizationErr = visualize(name, model, info, h, anomalies, opts)
	}
	return rep
}

// visualize writes porcupine's HTML visualization of info to
// VisualizeDir/name.html, with faults and static anomalies drawn as
// annotations.
func visualize(name string, model porcupine.Model, info porcupine.LinearizationInfo, h History, anomalies []Anomaly, opts Options) (string, error) {
	info.AddAnnotations(annotations(h, anomalies))
	path := filepath.Join(opts.VisualizeDir, name+".html")
	if err := os.MkdirAll(opts.VisualizeDir, 0o755); err != nil {
		return "", err
	}
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return "", err
	}
	return path, nil
}

func fullyLinearized(partials [][]int, n int) bool {
	for _, p := range partials {
		if len(p) == n {
			return true
		}
	}
	return false
}

// annotations draws injected faults and static anomalies on the
// visualization's timeline.
func annotations(h History, anomalies []Anomaly) []porcupine.Annotation {
	var out []porcupine.Annotation
	for _, op := range h {
		if op.Kind == KindFault {
			out = append(out, porcupine.Annotation{Tag: "faults", Start: op.Call, End: op.Return,
				Description: op.Description, BackgroundColor: "#f8d7da"})
		}
	}
	for _, a := range anomalies {
		var start, end int64
		for i, idx := range a.Ops {
			op := h[idx]
			if i == 0 || op.Call < start {
				start = op.Call
			}
			if op.Return != never && op.Return > end {
				end = op.Return
			}
		}
		out = append(out, porcupine.Annotation{Tag: "anomalies", Start: start, End: max(start, end),
			Description: a.Name, Details: a.String(), BackgroundColor: "#fff3cd"})
	}
	return out
}

// CheckLog checks the real-time order of every partition's log with
// porcupine, after settling indeterminate produces (see Resolution).
func CheckLog(h History, opts Options) (LinReport, Resolution) {
	return checkLog(h, factsOf(h), nil, opts)
}

// Porcupine is handed a partition's segments in batches of about this many
// operations (or this many segments), one batch after another: each
// segment is a porcupine partition, checked in a goroutine of its own.
const (
	batchOps      = 4096
	batchSegments = 256
)

func checkLog(h History, facts map[TopicPartition]*partitionFacts, anomalies []Anomaly, opts Options) (LinReport, Resolution) {
	appends, res := resolveAppends(h, facts, opts.compacted)
	parts := logPartitions(h, appends)
	model := logModel(readValues(facts))
	model.Partition = partitionBy(func(in any) any {
		i := in.(logInput)
		return segmentKey{i.tp, i.seg}
	})
	rep := LinReport{Name: "log", Partitions: len(parts), Timeout: opts.timeout(), Result: porcupine.Ok}
	start := time.Now()
	deadline := start.Add(opts.timeout())
	var failed []segment
	illegal := map[TopicPartition]bool{}
	var batch []segment
	batchLen := 0
	flush := func() {
		if len(batch) == 0 || rep.Result == porcupine.Unknown {
			batch, batchLen = nil, 0
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			rep.Result = porcupine.Unknown
			return
		}
		ops := porcupineOps(batch)
		rep.Ops += len(ops)
		res, info := porcupine.CheckOperationsVerbose(model, ops, left)
		switch res {
		case porcupine.Unknown:
			rep.Result = porcupine.Unknown
		case porcupine.Illegal:
			rep.Result = porcupine.Illegal
			partials := info.PartialLinearizations()
			for i, seg := range batch {
				if i < len(partials) && !fullyLinearized(partials[i], len(seg.ops)) {
					failed = append(failed, seg)
					illegal[seg.ops[0].in.tp] = true
				}
			}
		}
		batch, batchLen = nil, 0
	}
	for _, p := range parts {
		segs := segments(p)
		rep.Segments += len(segs)
		for _, seg := range segs {
			if batchLen > 0 && (batchLen+len(seg.ops) > batchOps || len(batch) >= batchSegments) {
				flush()
			}
			batch = append(batch, seg)
			batchLen += len(seg.ops)
		}
	}
	flush()
	if rep.Result == porcupine.Unknown {
		// A timeout proves nothing either way, whatever failed before.
		failed = nil
	}
	for _, p := range parts {
		if illegal[p.tp] {
			rep.Illegal = append(rep.Illegal, p.tp.String())
		}
	}
	rep.Elapsed = time.Since(start)
	if rep.Result == porcupine.Illegal && opts.VisualizeDir != "" {
		// Only the pieces that failed: a whole long history would make a
		// page no browser opens.
		_, info := porcupine.CheckOperationsVerbose(model, porcupineOps(failed), opts.timeout())
		rep.Visualization, rep.VisualizationErr = visualize("log", model, info, h, anomalies, opts)
	}
	return rep, res
}

// segmentKey names one segment of one partition's log history.
type segmentKey struct {
	tp  TopicPartition
	seg int
}

// CheckCommittedOffsets checks every group's committed offsets, one
// register per (group, partition), with porcupine.
func CheckCommittedOffsets(h History, opts Options) LinReport {
	return checkCommittedOffsets(h, nil, opts)
}

func checkCommittedOffsets(h History, anomalies []Anomaly, opts Options) LinReport {
	return linCheck("committed-offsets", offsetsModel(), offsetOperations(h),
		func(in any) string {
			k := in.(offsetInput).key
			return fmt.Sprintf("group %s %s", k.group, k.tp)
		}, h, anomalies, opts)
}
