// Package ordotest starts real Ordo brokers inside Go tests: on an ephemeral
// loopback port, with a temporary data directory (or an in-memory filesystem
// that can simulate a crash), stopped when the test ends.
//
//	b := ordotest.Start(t)
//	cl, _ := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
package ordotest

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/fs"
)

// Broker is a broker started for a test.
type Broker struct {
	*broker.Broker
	t    testing.TB
	cfg  broker.Config
	mem  *fs.Mem
	sock *socket
}

// Option changes how a test broker starts.
type Option func(*options)

type options struct {
	mem    *fs.Mem
	modify []func(*broker.Config)
}

// WithMemFS stores everything in m instead of on disk; Crash needs it.
func WithMemFS(m *fs.Mem) Option { return func(o *options) { o.mem = m } }

// WithConfig lets a test change the broker's configuration.
func WithConfig(f func(*broker.Config)) Option {
	return func(o *options) { o.modify = append(o.modify, f) }
}

// Start starts a broker on 127.0.0.1:0 and stops it when the test ends.
// Logs go to the test log when ORDO_TEST_LOG=1, and nowhere otherwise.
func Start(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg := broker.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Logger = testLogger(t)
	if o.mem != nil {
		cfg.FS = o.mem
		cfg.DataDir = "/ordo-data"
	}
	for _, f := range o.modify {
		f(&cfg)
	}
	sock, err := newSocket(cfg.Listen)
	if err != nil {
		t.Fatalf("ordotest: listening on %s: %v", cfg.Listen, err)
	}
	b := &Broker{t: t, cfg: cfg, mem: o.mem, sock: sock}
	t.Cleanup(func() {
		if b.Broker != nil {
			_ = b.Broker.Close()
		}
		_ = sock.close()
	})
	b.start()
	return b
}

func (b *Broker) start() {
	b.t.Helper()
	if err := b.tryStart(); err != nil {
		b.t.Fatalf("ordotest: starting broker: %v", err)
	}
}

func (b *Broker) tryStart() error {
	cfg := b.cfg
	// Every incarnation serves the same socket, so a restart keeps the
	// address clients already know.
	cfg.Listener = b.sock.listener()
	bb, err := broker.Start(cfg)
	if err != nil {
		_ = cfg.Listener.Close()
		return err
	}
	b.Broker = bb
	return nil
}

// DataDir is the broker's data directory (on b's filesystem).
func (b *Broker) DataDir() string { return b.cfg.DataDir }

// TryRestart is Restart for a test that expects the start to fail (a data
// directory it damaged): it returns why the broker did not start, and the
// test may try again. b.Broker is nil while it is down.
func (b *Broker) TryRestart() error {
	b.t.Helper()
	if b.Broker != nil {
		if err := b.Broker.Close(); err != nil && b.Broker.Err() == nil {
			b.t.Fatalf("ordotest: closing broker: %v", err)
		}
		b.Broker = nil
	}
	return b.tryStart()
}

// Restart closes the broker cleanly and starts it again on the same data
// directory and address. A broker that stopped on its own after a storage
// failure (Done, Err) is simply started again, as an operator restarts it:
// its logs recover from what the disk holds.
func (b *Broker) Restart() {
	b.t.Helper()
	if err := b.TryRestart(); err != nil {
		b.t.Fatalf("ordotest: starting broker: %v", err)
	}
}

// Crash simulates power loss: everything not fsynced is dropped (and with
// opts.TearLastWrite a random prefix of it survives), the broker's open
// files are fenced, its data directory lock is gone as a dead process's
// would be, and the broker starts again from what the disk kept.
// The broker must have been started WithMemFS.
func (b *Broker) Crash(opts fs.CrashOptions) {
	b.t.Helper()
	if b.mem == nil {
		b.t.Fatal("ordotest: Crash needs WithMemFS")
	}
	b.mem.Crash(opts)
	// Close now only tears down goroutines and sockets: the fenced files
	// refuse the final flush, as a dead machine would.
	if b.Broker != nil {
		_ = b.Broker.Close()
		b.Broker = nil
	}
	b.start()
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ORDO_TEST_LOG") != "1" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
