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
		info.AddAnnotations(annotations(h, anomalies))
		path := filepath.Join(opts.VisualizeDir, name+".html")
		if err := os.MkdirAll(opts.VisualizeDir, 0o755); err != nil {
			rep.VisualizationErr = err
		} else if err := porcupine.VisualizePath(model, info, path); err != nil {
			rep.VisualizationErr = err
		} else {
			rep.Visualization = path
		}
	}
	return rep
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

func checkLog(h History, facts map[TopicPartition]*partitionFacts, anomalies []Anomaly, opts Options) (LinReport, Resolution) {
	appends, res := resolveAppends(h, facts)
	ops := logOperations(h, appends)
	rep := linCheck("log", logModel(readValues(facts)), ops,
		func(in any) string { return in.(logInput).tp.String() }, h, anomalies, opts)
	return rep, res
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
