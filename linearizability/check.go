package linearizability

import (
	"fmt"
	"io"
	"time"

	"github.com/anishathalye/porcupine"
)

// DefaultTimeout bounds each porcupine check when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Options tunes a check.
type Options struct {
	// Timeout bounds each porcupine check (DefaultTimeout if zero). A
	// check that times out fails the run: it proved nothing.
	Timeout time.Duration
	// Compacted says which topics are compacted (issue 5): their offsets
	// may have holes, so offset-hole is not judged there, and a jump over
	// unknown offsets is no skip.
	Compacted func(topic string) bool
	// VisualizeDir is where a failing porcupine check writes its HTML
	// visualization ("" writes none).
	VisualizeDir string
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) compacted(topic string) bool { return o.Compacted != nil && o.Compacted(topic) }

// Report is the verdict of every checker on one history.
type Report struct {
	Ops        int
	Static     StaticReport
	Log        LinReport
	Resolution Resolution
	Offsets    LinReport
	// Invalid lists why the history cannot prove a run correct (empty, a
	// partition without a complete final drain): see VerdictInvalid.
	Invalid []string
}

// Verdict is FAIL when a checker found an anomaly or could not finish,
// else INVALID when the history is incomplete, else PASS.
func (r Report) Verdict() Verdict {
	switch {
	case !r.Static.OK() || !r.Log.OK() || !r.Offsets.OK():
		return VerdictFail
	case len(r.Invalid) > 0:
		return VerdictInvalid
	}
	return VerdictPass
}

// OK reports whether the verdict is PASS: every checker passed on a
// complete history.
func (r Report) OK() bool { return r.Verdict() == VerdictPass }

// Check runs every checker: the static pass first, then porcupine on the
// logs and on committed offsets, whose visualizations carry the static
// anomalies as annotations; and judges whether the history is complete
// enough to pass (Invalid).
func Check(h History, opts Options) Report {
	facts := factsOf(h)
	rep := Report{Ops: len(h), Static: checkStatic(h, facts, opts), Invalid: invalidity(h, facts, opts)}
	rep.Log, rep.Resolution = checkLog(h, facts, rep.Static.Anomalies, opts)
	rep.Offsets = checkCommittedOffsets(h, rep.Static.Anomalies, opts)
	return rep
}

// WriteSummary prints a verdict per checker with its counts, every anomaly
// and every reason the history is invalid, one a line, then the verdict.
func (r Report) WriteSummary(w io.Writer) {
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	fmt.Fprintf(w, "history: %d operations\n", r.Ops)
	fmt.Fprintf(w, "static: %s  operations=%d partitions=%d anomalies=%d", verdict(r.Static.OK()), r.Static.Ops, r.Static.Partitions, len(r.Static.Anomalies))
	if len(r.Static.Counts) > 0 {
		fmt.Fprintf(w, " (%s)", formatCounts(r.Static.Counts))
	}
	fmt.Fprintln(w)
	if g := r.Static.Group; g.Members > 0 {
		fmt.Fprintf(w, "  groups: members=%d generations=%d assignments=%d resumes-judged=%d handovers=%d member-commits=%d\n",
			g.Members, g.Generations, g.Assignments, g.Resumes, g.Handovers, g.MemberCommits)
	}
	for _, n := range r.Static.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	res := r.Resolution
	r.Log.writeSummary(w, verdict, fmt.Sprintf(" indeterminate: resolved=%d dropped=%d unresolved=%d unrecorded=%d",
		res.Resolved, res.Dropped, res.Unresolved, res.Unrecorded))
	r.Offsets.writeSummary(w, verdict, "")
	for _, a := range r.Static.Anomalies {
		fmt.Fprintf(w, "anomaly: %s\n", a)
	}
	for _, why := range r.Invalid {
		fmt.Fprintf(w, "invalid: %s\n", why)
	}
	fmt.Fprintf(w, "verdict: %s\n", r.Verdict())
}

func (r LinReport) writeSummary(w io.Writer, verdict func(bool) string, extra string) {
	segments := ""
	if r.Segments > 0 {
		segments = fmt.Sprintf(" segments=%d", r.Segments)
	}
	fmt.Fprintf(w, "porcupine %s: %s  result=%s operations=%d partitions=%d%s time=%s%s\n",
		r.Name, verdict(r.OK()), r.Result, r.Ops, r.Partitions, segments, r.Elapsed.Round(time.Millisecond), extra)
	if r.Result == porcupine.Unknown {
		fmt.Fprintf(w, "  timed out after %s: the history is too hard to check in time, which fails the run\n", r.Timeout)
	}
	for _, p := range r.Illegal {
		fmt.Fprintf(w, "  not linearizable: %s\n", p)
	}
	if r.Visualization != "" {
		fmt.Fprintf(w, "  visualization: %s\n", r.Visualization)
	}
	if r.VisualizationErr != nil {
		fmt.Fprintf(w, "  visualization not written: %v\n", r.VisualizationErr)
	}
}
