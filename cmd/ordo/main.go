// Command ordo runs one Ordo broker: flags and ORDO_* environment variables
// become a broker.Config, the broker runs until SIGINT or SIGTERM, and then
// closes cleanly (exit 0). A broker that stops on its own (a partition log's
// fsync or write failed: it fail-stops) makes ordo exit 1. Run `ordo --help`
// for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/ordo-broker/ordo/broker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling so that a second
	// Ctrl-C kills a shutdown that hangs.
	go func() { <-ctx.Done(); stop() }()
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// startBroker starts the broker; a test swaps it to reach the broker.
var startBroker = broker.Start

// run is the whole program: it returns the exit status. The broker runs until
// ctx is done, or until it stops on its own.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, lookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ordo: %v\nRun 'ordo --help' for usage.\n", err)
		return 2
	}
	if err := checkDataDir(opts.cfg.DataDir); err != nil {
		fmt.Fprintf(stderr, "ordo: %v\n", err)
		return 1
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	cfg := opts.cfg
	cfg.Logger = logger
	if host, _, err := net.SplitHostPort(cfg.Advertise); err == nil && host == "localhost" {
		logger.Warn("advertising localhost: some clients (librdkafka) may resolve it to ::1; prefer an IPv4 literal such as 127.0.0.1",
			"advertise", cfg.Advertise)
	}

	b, err := startBroker(cfg)
	if err != nil {
		logger.Error("cannot start broker", "err", err)
		return 1
	}
	logger.Info("ordo listening", "addr", b.Addr(), "listen", cfg.Listen, "node_id", cfg.NodeID, "data_dir", cfg.DataDir)

	select {
	case <-ctx.Done():
	case <-b.Done():
		// Fail-stop: a partition log failed, the broker closed itself and
		// acknowledged nothing its disk did not keep.
		logger.Error("ordo stopped: the broker failed; check the disk, then restart it (its logs recover from what the disk kept)",
			"err", b.Err())
		return 1
	}
	logger.Info("shutting down", "cause", context.Cause(ctx))
	if err := b.Close(); err != nil {
		logger.Error("broker did not close cleanly", "err", err)
		return 1
	}
	logger.Info("ordo stopped")
	return 0
}
