package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/controller"
)

// minMaxOpenFiles is the smallest --max-open-files: a few files per
// partition being written at once, checkpoints, and room to reopen.
const minMaxOpenFiles = 16

// options is what the command line and the environment ask for.
type options struct {
	cfg      broker.Config
	logLevel slog.Level
}

// usageError is a mistake in the command line or the environment: the process
// exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagSpec documents one flag: the environment variable that mirrors it and
// the placeholder shown in the usage text.
type flagSpec struct {
	name, env, arg, usage string
}

var flagSpecs = []flagSpec{
	{"listen", "ORDO_LISTEN", "HOST:PORT", "address to accept Kafka clients on (port 0 picks a free one)"},
	{"advertise", "ORDO_ADVERTISE", "HOST:PORT", "address put in Metadata responses; use an IPv4 literal rather than localhost\n(default: the address the listener bound)"},
	{"data-dir", "ORDO_DATA_DIR", "DIR", "directory that holds the partitions and the broker's metadata; created if missing"},
	{"node-id", "ORDO_NODE_ID", "N", "broker id (node.id), 0 or more"},
	{"log-level", "ORDO_LOG_LEVEL", "LEVEL", "one of debug, info, warn, error"},
	{"auto-create-topics", "ORDO_AUTO_CREATE_TOPICS", "", "create topics on first use (auto.create.topics.enable); --auto-create-topics=false turns it off"},
	{"num-partitions", "ORDO_NUM_PARTITIONS", "N", "partitions of auto-created topics and of CreateTopics with -1 (num.partitions)"},
	{"flush-interval", "ORDO_FLUSH_INTERVAL", "DURATION", "how often topics with the interval flush policy are fsynced, e.g. 500ms, 1s"},
	{"offsets-topic-partitions", "ORDO_OFFSETS_TOPIC_PARTITIONS", "N", "partitions of __consumer_offsets when it is created (offsets.topic.num.partitions)"},
	{"group-initial-rebalance-delay", "ORDO_GROUP_INITIAL_REBALANCE_DELAY", "DURATION", "how long a new group waits for more members before its first rebalance\n(group.initial.rebalance.delay.ms), e.g. 0s in tests"},
	{"max-connections", "ORDO_MAX_CONNECTIONS", "N", "most client connections kept open; new ones past it are closed at once (max.connections);\n0 means three quarters of the open-file limit (ulimit -n), -1 no limit"},
	{"connections-max-idle", "ORDO_CONNECTIONS_MAX_IDLE", "DURATION", "close a connection with no request in flight after this long without traffic\n(connections.max.idle.ms); 0 never closes idle connections"},
	{"queued-max-request-bytes", "ORDO_QUEUED_MAX_REQUEST_BYTES", "BYTES", "memory requests may hold across all connections until answered; when spent, the broker\nstops reading until responses go out (queued.max.request.bytes); -1 no bound"},
	{"max-open-files", "ORDO_MAX_OPEN_FILES", "N", "how many files the partition logs may hold open; idle segment and index files\nare closed and reopened on use. 0 means half the process's open-files limit\n(RLIMIT_NOFILE), at most 65536"},
}

// rawFlags holds the flag values before validation.
type rawFlags struct {
	listen, advertise, dataDir, logLevel string
	nodeID, numPartitions, offsetsParts  int64
	maxOpenFiles                         int64
	autoCreate                           bool
	flushInterval, rebalanceDelay        time.Duration
	maxConns, queuedBytes                int64
	maxIdle                              time.Duration
}

func newFlagSet(def broker.Config, raw *rawFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("ordo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // we print errors and usage ourselves
	fs.StringVar(&raw.listen, "listen", def.Listen, "")
	fs.StringVar(&raw.advertise, "advertise", def.Advertise, "")
	fs.StringVar(&raw.dataDir, "data-dir", def.DataDir, "")
	fs.Int64Var(&raw.nodeID, "node-id", int64(def.NodeID), "")
	fs.StringVar(&raw.logLevel, "log-level", "info", "")
	fs.BoolVar(&raw.autoCreate, "auto-create-topics", def.AutoCreateTopics, "")
	fs.Int64Var(&raw.numPartitions, "num-partitions", int64(def.DefaultPartitions), "")
	fs.DurationVar(&raw.flushInterval, "flush-interval", def.FlushInterval, "")
	fs.Int64Var(&raw.offsetsParts, "offsets-topic-partitions", int64(def.OffsetsTopicPartitions), "")
	fs.DurationVar(&raw.rebalanceDelay, "group-initial-rebalance-delay", def.GroupInitialRebalanceDelay, "")
	fs.Int64Var(&raw.maxConns, "max-connections", int64(def.MaxConnections), "")
	fs.DurationVar(&raw.maxIdle, "connections-max-idle", def.ConnectionsMaxIdle, "")
	fs.Int64Var(&raw.queuedBytes, "queued-max-request-bytes", def.QueuedMaxRequestBytes, "")
	fs.Int64Var(&raw.maxOpenFiles, "max-open-files", int64(def.MaxOpenFiles), "")
	return fs
}

// parseArgs turns the command line (without the program name) and the
// environment into options. Each flag may also come from its ORDO_*
// variable; a flag on the command line wins, and an empty variable counts as
// unset. It returns flag.ErrHelp for --help, a *usageError for anything the
// user must fix.
func parseArgs(args []string, lookupEnv func(string) (string, bool)) (options, error) {
	def := broker.DefaultConfig()
	var raw rawFlags
	fs := newFlagSet(def, &raw)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, err
		}
		return options{}, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return options{}, usagef("unexpected argument %q (ordo takes only flags)", fs.Arg(0))
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fromEnv := map[string]string{} // flag name → the variable it came from
	for _, s := range flagSpecs {
		if set[s.name] {
			continue
		}
		v, ok := lookupEnv(s.env)
		if !ok || v == "" {
			continue
		}
		if err := fs.Set(s.name, v); err != nil {
			return options{}, usagef("%s=%q: %v", s.env, v, cleanParseErr(err))
		}
		fromEnv[s.name] = s.env
	}
	// src names where a value came from, for error messages.
	src := func(name string) string {
		if env, ok := fromEnv[name]; ok {
			return env
		}
		return "--" + name
	}

	o := options{cfg: def}
	var err error
	if err = validateHostPort(raw.listen, false); err != nil {
		return options{}, usagef("%s %q: %v", src("listen"), raw.listen, err)
	}
	o.cfg.Listen = raw.listen
	if raw.advertise != "" {
		if err = validateHostPort(raw.advertise, true); err != nil {
			return options{}, usagef("%s %q: %v", src("advertise"), raw.advertise, err)
		}
	}
	o.cfg.Advertise = raw.advertise
	if strings.TrimSpace(raw.dataDir) == "" {
		return options{}, usagef("%s must not be empty", src("data-dir"))
	}
	o.cfg.DataDir = raw.dataDir
	if raw.nodeID < 0 || raw.nodeID > math.MaxInt32 {
		return options{}, usagef("%s %d: must be between 0 and %d", src("node-id"), raw.nodeID, math.MaxInt32)
	}
	o.cfg.NodeID = int32(raw.nodeID)
	if o.logLevel, err = parseLogLevel(raw.logLevel); err != nil {
		return options{}, usagef("%s %q: %v", src("log-level"), raw.logLevel, err)
	}
	o.cfg.AutoCreateTopics = raw.autoCreate
	if raw.numPartitions < 1 || raw.numPartitions > controller.MaxPartitions {
		return options{}, usagef("%s %d: must be between 1 and %d", src("num-partitions"), raw.numPartitions, controller.MaxPartitions)
	}
	o.cfg.DefaultPartitions = int32(raw.numPartitions)
	if raw.flushInterval <= 0 {
		return options{}, usagef("%s %v: must be positive", src("flush-interval"), raw.flushInterval)
	}
	o.cfg.FlushInterval = raw.flushInterval
	if raw.offsetsParts < 1 || raw.offsetsParts > controller.MaxPartitions {
		return options{}, usagef("%s %d: must be between 1 and %d", src("offsets-topic-partitions"), raw.offsetsParts, controller.MaxPartitions)
	}
	o.cfg.OffsetsTopicPartitions = int32(raw.offsetsParts)
	if raw.rebalanceDelay < 0 {
		return options{}, usagef("%s %v: must not be negative", src("group-initial-rebalance-delay"), raw.rebalanceDelay)
	}
	o.cfg.GroupInitialRebalanceDelay = raw.rebalanceDelay
	if raw.maxConns < -1 || raw.maxConns > math.MaxInt32 {
		return options{}, usagef("%s %d: must be -1 (no limit), 0 (from the open-file limit) or a number of connections up to %d",
			src("max-connections"), raw.maxConns, math.MaxInt32)
	}
	o.cfg.MaxConnections = int(raw.maxConns)
	switch {
	case raw.maxIdle < 0:
		return options{}, usagef("%s %v: must not be negative (0 never closes idle connections)", src("connections-max-idle"), raw.maxIdle)
	case raw.maxIdle == 0:
		o.cfg.ConnectionsMaxIdle = -1 // never: the Config's zero is the default
	default:
		o.cfg.ConnectionsMaxIdle = raw.maxIdle
	}
	if raw.queuedBytes == 0 || raw.queuedBytes < -1 {
		return options{}, usagef("%s %d: must be a positive number of bytes, or -1 for no bound", src("queued-max-request-bytes"), raw.queuedBytes)
	}
	o.cfg.QueuedMaxRequestBytes = raw.queuedBytes
	if raw.maxOpenFiles != 0 && (raw.maxOpenFiles < minMaxOpenFiles || raw.maxOpenFiles > math.MaxInt32) {
		return options{}, usagef("%s %d: must be 0 (the default) or between %d and %d", src("max-open-files"), raw.maxOpenFiles, minMaxOpenFiles, math.MaxInt32)
	}
	o.cfg.MaxOpenFiles = int(raw.maxOpenFiles)
	return o, nil
}

// cleanParseErr drops the strconv wrapping from flag.Value errors
// ("strconv.ParseInt: parsing "x": invalid syntax" → "invalid syntax").
func cleanParseErr(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

// validateHostPort checks a HOST:PORT address. An advertised address needs a
// host and a non-zero port; a listen address may leave the host empty (every
// interface) and use port 0 (a free port).
func validateHostPort(addr string, advertised bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want HOST:PORT, e.g. 127.0.0.1:9092 or [::1]:9092")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number between 0 and 65535", port)
	}
	if advertised && n == 0 {
		return errors.New("an advertised port cannot be 0")
	}
	if host == "" {
		if advertised {
			return errors.New("an advertised address needs a host")
		}
		return nil
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if !validHostname(host) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

// validHostname is a loose RFC 1123 check: labels of letters, digits and
// hyphens (underscores tolerated), separated by dots.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}

func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errors.New("want one of debug, info, warn, error")
}

// printUsage writes the --help text.
func printUsage(w io.Writer) {
	def := broker.DefaultConfig()
	var raw rawFlags
	fs := newFlagSet(def, &raw)
	fmt.Fprintf(w, `Usage: ordo [flags]

Ordo is a broker that speaks the Kafka protocol. With no flags it listens on
%s and keeps its data in ./%s. It stops cleanly on SIGINT
or SIGTERM.

Every flag can also be set by the environment variable shown with it; a flag
on the command line wins over its variable.

Flags:
`, def.Listen, def.DataDir)
	for _, s := range flagSpecs {
		head := "  --" + s.name
		if s.arg != "" {
			head += " " + s.arg
		}
		fmt.Fprintf(w, "%s\n", head)
		for _, line := range strings.Split(s.usage, "\n") {
			fmt.Fprintf(w, "        %s\n", line)
		}
		extra := "env " + s.env
		if d := fs.Lookup(s.name).DefValue; d != "" {
			extra += ", default " + d
		}
		fmt.Fprintf(w, "        (%s)\n", extra)
	}
	fmt.Fprintf(w, `  --help
        show this help

Exit status: 0 after a clean shutdown, 1 if the broker cannot start or stops
with an error, 2 for a bad flag or environment variable.
`)
}
