package partition

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/stretchr/testify/require"
)

// gateFS holds the fsyncs of segment files (*.log) while the gate is
// closed, so a test sees the partition between an append and its fsync.
// Checkpoints (leader epochs, written by the first append of an epoch) pass.
type gateFS struct {
	fs.FS
	g *gate
}

type gate struct {
	mu      sync.Mutex
	closed  chan struct{} // nil: open
	waiting chan struct{} // a Sync blocked on the closed gate
}

func newGate() *gate { return &gate{waiting: make(chan struct{}, 1024)} }

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = make(chan struct{})
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
	}
}

func (g *gate) pass() {
	g.mu.Lock()
	ch := g.closed
	g.mu.Unlock()
	if ch != nil {
		g.waiting <- struct{}{}
		<-ch
	}
}

func (f gateFS) OpenFile(name string, flag int, perm os.FileMode) (fs.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(name, ".log") {
		return file, nil
	}
	return gateFile{File: file, g: f.g}, nil
}

type gateFile struct {
	fs.File
	g *gate
}

func (f gateFile) Sync() error {
	f.g.pass()
	return f.File.Sync()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor fails the test if ch is not closed within a minute: a bound for a
// hang, never a timing assertion.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s never happened", what)
	}
}

func TestFsyncPolicyCommitsOnlyAfterSync(t *testing.T) {
	g := newGate()
	mgr := NewManager(Config{FS: gateFS{FS: fs.NewMem(), g: g}, Dir: "/data", Logger: quietLogger()})
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)
	require.NotNil(t, p)

	g.close()
	a, err := p.Append(batch(3), time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(0), a.FirstOffset)
	waitFor(t, g.waiting, "the partition's own fsync")
	require.Equal(t, int64(0), p.HighWatermark(), "not committed before the fsync")
	recs, hw, err := p.Read(0, 1<<20, true)
	require.NoError(t, err)
	require.Empty(t, recs, "uncommitted records are not visible")
	require.Equal(t, int64(0), hw)

	changed := mgr.Changed()
	g.open()
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Minute))
	require.Equal(t, int64(3), p.HighWatermark())
	waitFor(t, changed, "a long-poll wake-up")
	recs, _, err = p.Read(0, 1<<20, true)
	require.NoError(t, err)
	require.NotEmpty(t, recs)
}

// Issue 8: under the fsync policy an append nobody waits for (acks=0) is
// fsynced and made visible by the partition itself, not by the next
// interval flush.
func TestAppendNobodyWaitsForBecomesVisible(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0)) // never advanced: no timer can help
	mgr := NewManager(Config{FS: fs.NewMem(), Dir: "/data", Clock: clk, Logger: quietLogger()})
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)
	for p.HighWatermark() < 3 {
		changed := mgr.Changed()
		if p.LogEndOffset() == 0 {
			_, err := p.Append(batch(3), clk.Now())
			require.NoError(t, err)
		}
		if p.HighWatermark() >= 3 {
			break
		}
		waitFor(t, changed, "the high watermark moving")
	}
	require.Equal(t, int64(3), p.log.SyncedOffset(), "visible only once on disk")
}

// Group commit: appends made while an fsync runs share the next one.
func TestAppendsDuringAnFsyncShareTheNext(t *testing.T) {
	g := newGate()
	mgr := NewManager(Config{FS: gateFS{FS: fs.NewMem(), g: g}, Dir: "/data", Logger: quietLogger()})
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)

	g.close()
	_, err := p.Append(batch(1), time.Now())
	require.NoError(t, err)
	waitFor(t, g.waiting, "the first fsync")
	var last Appended
	for range 5 {
		last, err = p.Append(batch(1), time.Now())
		require.NoError(t, err)
	}
	g.open()
	require.NoError(t, p.WaitCommitted(context.Background(), last, time.Minute))
	require.Equal(t, int64(6), p.HighWatermark())
}

// The interval policy fsyncs when the flush deadline passes on the
// broker's clock, and flush.ms shortens it.
func TestIntervalPolicyFlushesAtTheDeadline(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	g := newGate()
	mgr := NewManager(Config{FS: gateFS{FS: fs.NewMem(), g: g}, Dir: "/data", Clock: clk, FlushInterval: time.Second, Logger: quietLogger()})
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{
		"flush.messages": "9223372036854775807", "flush.ms": "200",
	})))
	p := mgr.Get("t", 0)
	g.close()
	_, err := p.Append(batch(2), clk.Now())
	require.NoError(t, err)
	require.Equal(t, int64(2), p.HighWatermark(), "committed once written")

	clk.Advance(199 * time.Millisecond)
	select {
	case <-g.waiting:
		t.Fatal("fsynced before flush.ms passed")
	default:
	}
	clk.Advance(time.Millisecond)
	waitFor(t, g.waiting, "the fsync at flush.ms")
	require.Equal(t, int64(0), p.log.SyncedOffset(), "held at the gate")
	g.open()
	require.NoError(t, mgr.Close()) // waits for the fsync in flight
	require.Equal(t, int64(2), p.log.SyncedOffset())
}

// The produce timeout runs on the broker's clock.
func TestWaitCommittedTimesOutOnTheBrokerClock(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	mgr := NewManager(Config{FS: fs.NewMem(), Dir: "/data", Clock: clk, Logger: quietLogger()})
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, nil)))
	p := mgr.Get("t", 0)
	// An append whose offsets are beyond the high watermark and will never
	// be committed: the caller gives up by context or by timeout.
	never := Appended{AppendInfo: storage.AppendInfo{FirstOffset: 10, LastOffset: 10}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, p.WaitCommitted(ctx, never, time.Hour), context.Canceled)

	done := make(chan error, 1)
	go func() { done <- p.WaitCommitted(context.Background(), never, 5*time.Second) }()
	require.True(t, clk.WaitForTimers(1, nil))
	clk.Advance(4 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("returned %v before its timeout", err)
	default:
	}
	clk.Advance(time.Second)
	require.ErrorIs(t, <-done, ErrTimeout)
}
