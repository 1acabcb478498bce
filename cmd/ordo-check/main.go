// Command ordo-check checks a saved client history (JSON lines, as the
// recorder in linearizability/recorder writes them) with Ordo's checkers:
// the static pass over content and porcupine over real-time order. It
// prints a verdict per checker with counts and every anomaly, writes
// porcupine's HTML visualization when a check fails, and exits with the
// verdict: 0 PASS (clean and complete), 1 FAIL (an anomaly, or a check that
// timed out), 3 INVALID (nothing wrong found, but the history cannot prove
// a run: no operations, or a partition without a complete final drain, as
// a run that crashed before its drain leaves), and 2 on bad input (a line
// that is not exactly one valid operation) or flags.
//
//	ordo-check HISTORY.jsonl [--out DIR] [--timeout 30s] [--compacted TOPIC,...]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ordo-broker/ordo/linearizability"
)

// Exit codes.
const (
	exitClean   = 0
	exitFailed  = 1
	exitBadArgs = 2
	exitInvalid = 3
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type config struct {
	history   string
	out       string
	timeout   time.Duration
	compacted map[string]bool
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitClean
	}
	if err != nil {
		fmt.Fprintf(stderr, "ordo-check: %v\n", err)
		return exitBadArgs
	}
	h, err := linearizability.ReadHistoryFile(cfg.history)
	if err != nil {
		fmt.Fprintf(stderr, "ordo-check: %v\n", err)
		return exitBadArgs
	}
	rep := linearizability.Check(h, linearizability.Options{
		Timeout:      cfg.timeout,
		VisualizeDir: cfg.out,
		Compacted:    func(topic string) bool { return cfg.compacted[topic] },
	})
	rep.WriteSummary(stdout) // ends with the verdict
	switch rep.Verdict() {
	case linearizability.VerdictFail:
		return exitFailed
	case linearizability.VerdictInvalid:
		return exitInvalid
	}
	return exitClean
}

// parseArgs reads one history path and the flags, in any order.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("ordo-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.out, "out", "", "directory for the HTML visualization of a failed check (default: HISTORY's name with .check)")
	fs.DurationVar(&cfg.timeout, "timeout", linearizability.DefaultTimeout, "time limit of each porcupine check; running out fails the run")
	compacted := fs.String("compacted", "", "comma-separated compacted topics: offset holes are expected there")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ordo-check HISTORY.jsonl [--out DIR] [--timeout 30s] [--compacted TOPIC,...]")
		fmt.Fprintln(stderr, "exit status: 0 PASS, 1 FAIL, 3 INVALID (no operations, or no complete final drain), 2 bad input")
		fs.PrintDefaults()
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return cfg, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fs.Usage()
		return cfg, fmt.Errorf("want one history file, got %d arguments", len(positional))
	}
	if cfg.timeout <= 0 {
		return cfg, fmt.Errorf("--timeout must be positive, got %s", cfg.timeout)
	}
	cfg.history = positional[0]
	if cfg.out == "" {
		cfg.out = strings.TrimSuffix(cfg.history, ".jsonl") + ".check"
	}
	cfg.compacted = map[string]bool{}
	for _, t := range strings.Split(*compacted, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.compacted[t] = true
		}
	}
	return cfg, nil
}
