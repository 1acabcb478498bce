// Command ordo-bench is a load generator for Kafka-protocol brokers: it
// produces sequence-numbered records with franz-go, measures produce and
// consume throughput and produce-to-consume latency, and verifies that
// nothing was lost, duplicated or reordered. Without --brokers it starts the
// target (an Ordo broker, a kfake cluster, or both one after the other) in
// this process. The logic lives in cmd/internal/loadgen.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ordo-broker/ordo/cmd/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	cfg     loadgen.Config
	targets []string
	json    bool
	quiet   bool
}

const usageHead = `Usage: ordo-bench [flags]

Creates a topic, produces --records records of --record-size bytes, tails the
topic meanwhile to measure produce-to-consume latency, consumes everything back
(--consume), and verifies no loss, no duplicates and per-partition order.
Exits 1 if verification fails or a run errors, 2 for bad flags.

Without --brokers the target starts in this process: --target ordo (a broker
on 127.0.0.1:0 with a temporary data dir), kfake (franz-go's in-memory fake), or
both (Ordo, then kfake, with the ratio Ordo/kfake for every figure).

Flags:
`

func parseArgs(args []string) (options, error) {
	o := options{cfg: loadgen.DefaultConfig()}
	c := &o.cfg
	fs := flag.NewFlagSet("ordo-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var brokers, target string
	var partitions, rf, batchMax int
	fs.StringVar(&brokers, "brokers", "", "comma-separated seed brokers of a running cluster; empty: start --target in process")
	fs.StringVar(&target, "target", loadgen.TargetOrdo, "in-process target: ordo, kfake or both")
	fs.StringVar(&c.Flush, "flush", c.Flush, "topic flush policy: fsync (flush.messages=1, fsync before ack) or interval (flush.messages=MaxInt64)")
	fs.IntVar(&c.Records, "records", c.Records, "records to produce")
	fs.IntVar(&c.RecordSize, "record-size", c.RecordSize, fmt.Sprintf("bytes per record value (%d or more)", loadgen.MinRecordSize))
	fs.IntVar(&partitions, "partitions", int(c.Partitions), "partitions of the topic")
	fs.IntVar(&rf, "replication-factor", int(c.ReplicationFactor), "replication factor of the topic")
	fs.StringVar(&c.Acks, "acks", c.Acks, "all (idempotent producer), leader or none")
	fs.DurationVar(&c.Linger, "linger", c.Linger, "producer linger")
	fs.IntVar(&batchMax, "batch-max-bytes", int(c.BatchMaxBytes), "producer batch max bytes")
	fs.StringVar(&c.Compression, "compression", c.Compression, "none, gzip, snappy, lz4 or zstd")
	fs.IntVar(&c.Producers, "producers", c.Producers, "producer clients; record i is written by producer i mod producers")
	fs.IntVar(&c.Rate, "rate", c.Rate, "records per second over all producers; 0: as fast as possible (latency then includes waiting in the producer's buffer)")
	fs.StringVar(&c.Partitioner, "partitioner", c.Partitioner, "manual (record i to partition i mod partitions), roundrobin, or key (key = sequence number)")
	fs.BoolVar(&c.Consume, "consume", c.Consume, "consume everything back after producing and measure it")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "bound on each target's run")
	fs.StringVar(&c.Topic, "topic", "", "topic name (default: a fresh ordo-bench-<nanos>)")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines on stderr")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			b.WriteString(usageHead)
			fs.SetOutput(&b)
			fs.PrintDefaults()
			return o, &helpError{text: b.String()}
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Partitions = int32(partitions)
	c.ReplicationFactor = int16(rf)
	c.BatchMaxBytes = int32(batchMax)
	if partitions > 1<<20 || rf > 1<<10 || batchMax > 1<<30 || batchMax < 0 {
		return o, errors.New("--partitions, --replication-factor or --batch-max-bytes out of range")
	}
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.Brokers = append(c.Brokers, b)
		}
	}
	targetSet := false
	fs.Visit(func(f *flag.Flag) { targetSet = targetSet || f.Name == "target" })
	switch {
	case len(c.Brokers) > 0 && targetSet:
		return o, errors.New("--brokers and --target are exclusive: --target chooses what to start in process")
	case len(c.Brokers) > 0:
		o.targets = []string{loadgen.TargetExternal}
	case target == loadgen.TargetOrdo || target == loadgen.TargetKfake:
		o.targets = []string{target}
	case target == "both":
		o.targets = []string{loadgen.TargetOrdo, loadgen.TargetKfake}
	default:
		return o, fmt.Errorf("--target %q: want ordo, kfake or both", target)
	}
	if err := c.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

type helpError struct{ text string }

func (e *helpError) Error() string { return "help requested" }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	var he *helpError
	if errors.As(err, &he) {
		fmt.Fprint(stdout, he.text)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ordo-bench: %v\nRun 'ordo-bench --help' for usage.\n", err)
		return 2
	}
	if !o.quiet {
		o.cfg.Progress = stderr
	}
	o.cfg.BrokerLog = stderr
	fmt.Fprintf(stderr, "ordo-bench: %s\n", o.cfg.Describe())

	code := 0
	results := make([]*loadgen.Result, len(o.targets))
	var failures []string
	for i, t := range o.targets {
		if ctx.Err() != nil {
			break
		}
		res, err := loadgen.Run(ctx, o.cfg, t)
		results[i] = res
		if err != nil {
			code = 1
			failures = append(failures, err.Error())
		}
	}

	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		out := struct {
			Config   string            `json:"config"`
			Results  []*loadgen.Result `json:"results"`
			Failures []string          `json:"failures,omitempty"`
		}{o.cfg.Describe(), results, failures}
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "ordo-bench: %v\n", err)
			return 1
		}
	} else {
		fmt.Fprintf(stdout, "\n%s\n\n", o.cfg.Describe())
		if err := loadgen.WriteTable(stdout, o.targets, results); err != nil {
			fmt.Fprintf(stderr, "ordo-bench: %v\n", err)
			return 1
		}
	}
	for _, f := range failures {
		fmt.Fprintf(stderr, "ordo-bench: %s\n", f)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "ordo-bench: interrupted")
		return 1
	}
	return code
}
