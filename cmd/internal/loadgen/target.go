package loadgen

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordo-broker/ordo/broker"
)

// target is a cluster to run against: its seed addresses, whether the load
// generator must create the topic, and how to stop it.
type target struct {
	name        string
	seeds       []string
	createTopic bool
	flush       string // the flush policy the run really gets
	stop        func() error
}

func startTarget(cfg Config, name, topic string) (*target, error) {
	if len(cfg.Brokers) > 0 {
		return &target{name: TargetExternal, seeds: cfg.Brokers, createTopic: true, flush: cfg.Flush, stop: func() error { return nil }}, nil
	}
	switch name {
	case TargetOrdo:
		return startOrdo(cfg)
	case TargetKfake:
		return startKfake(cfg, topic)
	}
	return nil, fmt.Errorf("unknown target %q: want %s or %s", name, TargetOrdo, TargetKfake)
}

// startOrdo starts an Ordo broker in this process on an ephemeral port, with
// a temporary data directory that stop removes.
func startOrdo(cfg Config) (*target, error) {
	dir, err := os.MkdirTemp("", "ordo-bench-*")
	if err != nil {
		return nil, fmt.Errorf("ordo: temporary data dir: %w", err)
	}
	bc := broker.DefaultConfig()
	bc.Listen = "127.0.0.1:0"
	bc.DataDir = dir
	logTo := cfg.BrokerLog
	if logTo == nil {
		logTo = io.Discard
	}
	bc.Logger = slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := broker.Start(bc)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("ordo: start broker: %w", err)
	}
	return &target{
		name:        TargetOrdo,
		seeds:       []string{b.Addr()},
		createTopic: true,
		flush:       cfg.Flush,
		stop: func() error {
			err := b.Close()
			if rerr := os.RemoveAll(dir); err == nil && rerr != nil {
				err = rerr
			}
			return err
		},
	}, nil
}

// startKfake starts a one-broker kfake cluster with the topic already there:
// kfake rejects flush.messages in CreateTopics, and keeps everything in
// memory anyway.
func startKfake(cfg Config, topic string) (*target, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(cfg.Partitions, topic))
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	return &target{
		name:  TargetKfake,
		seeds: c.ListenAddrs(),
		flush: "memory",
		stop:  func() error { c.Close(); return nil },
	}, nil
}
