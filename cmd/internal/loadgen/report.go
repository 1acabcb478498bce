package loadgen

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// figure is one row of the report.
type figure struct {
	name  string
	value func(*Result) (float64, bool)
	unit  string // "" for plain numbers, "dur" for nanoseconds shown as durations
}

var figures = []figure{
	{"produce records/s", func(r *Result) (float64, bool) { return r.Produce.RecordsPerSec, true }, ""},
	{"produce MB/s", func(r *Result) (float64, bool) { return r.Produce.MBPerSec, true }, ""},
	{"consume records/s", func(r *Result) (float64, bool) {
		if r.Consume == nil {
			return 0, false
		}
		return r.Consume.RecordsPerSec, true
	}, ""},
	{"consume MB/s", func(r *Result) (float64, bool) {
		if r.Consume == nil {
			return 0, false
		}
		return r.Consume.MBPerSec, true
	}, ""},
	{"latency p50", func(r *Result) (float64, bool) { return float64(r.Latency.P50), r.Latency.Samples > 0 }, "dur"},
	{"latency p90", func(r *Result) (float64, bool) { return float64(r.Latency.P90), r.Latency.Samples > 0 }, "dur"},
	{"latency p99", func(r *Result) (float64, bool) { return float64(r.Latency.P99), r.Latency.Samples > 0 }, "dur"},
	{"latency max", func(r *Result) (float64, bool) { return float64(r.Latency.Max), r.Latency.Samples > 0 }, "dur"},
}

func formatFigure(v float64, unit string) string {
	if unit == "dur" {
		d := time.Duration(v)
		switch {
		case d >= time.Second:
			return d.Round(time.Millisecond).String()
		case d >= time.Millisecond:
			return d.Round(10 * time.Microsecond).String()
		default:
			return d.Round(time.Microsecond).String()
		}
	}
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// Describe is a one-line summary of the run's settings.
func (c Config) Describe() string {
	rate := "unlimited"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%d/s", c.Rate)
	}
	s := fmt.Sprintf("%d records x %d B, %d partitions, acks=%s, flush=%s, linger=%v, batch-max-bytes=%d, compression=%s, producers=%d, partitioner=%s, rate=%s",
		c.Records, c.RecordSize, c.Partitions, c.Acks, c.Flush, c.Linger, c.BatchMaxBytes, c.Compression, c.Producers, c.Partitioner, rate)
	if len(c.Brokers) > 0 {
		s += ", brokers=" + strings.Join(c.Brokers, ",")
	}
	return s
}

// WriteTable prints the results side by side. With exactly two results it
// adds the ratio first/second for every figure (for latencies, lower is
// better: a ratio above 1 means the first target is slower). A nil result
// (a target that failed) is shown as "-".
func WriteTable(w io.Writer, names []string, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ratio := len(results) == 2
	header := "figure\t"
	for _, n := range names {
		header += n + "\t"
	}
	if ratio {
		header += names[0] + "/" + names[1] + "\t"
	}
	fmt.Fprintln(tw, header)
	for _, f := range figures {
		line := f.name + "\t"
		var vals []float64
		for _, r := range results {
			if r == nil {
				line += "-\t"
				vals = append(vals, 0)
				continue
			}
			v, ok := f.value(r)
			if !ok {
				line += "-\t"
				vals = append(vals, 0)
				continue
			}
			line += formatFigure(v, f.unit) + "\t"
			vals = append(vals, v)
		}
		if ratio {
			if vals[0] > 0 && vals[1] > 0 {
				line += fmt.Sprintf("%.2f\t", vals[0]/vals[1])
			} else {
				line += "-\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	line := "flush\t"
	for _, r := range results {
		if r == nil {
			line += "-\t"
		} else {
			line += r.Flush + "\t"
		}
	}
	fmt.Fprintln(tw, line)
	line = "verified\t"
	for _, r := range results {
		switch {
		case r == nil:
			line += "-\t"
		case r.Verified:
			line += "ok\t"
		default:
			line += "FAILED\t"
		}
	}
	fmt.Fprintln(tw, line)
	return tw.Flush()
}
