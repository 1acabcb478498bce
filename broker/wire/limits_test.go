package wire_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

// eventually polls cond until it holds, for up to wiretest.Timeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wiretest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v", what, wiretest.Timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// With max.connections open, a new connection is accepted and closed at
// once (and that is logged, rate-limited); once one closes, a new one is
// served.
func TestMaxConnections(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, addr := start(t, wire.Config{MaxConnections: 2, Logger: logger}, &fake{})
	a, b := wiretest.Dial(t, addr), wiretest.Dial(t, addr)
	a.RoundTrip(metadataReq(12))
	b.RoundTrip(metadataReq(12))
	require.Equal(t, 2, srv.Connections())

	for range 3 {
		over := wiretest.Dial(t, addr)
		over.RequireClosed()
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "too many connections"), "one warning for a burst; log:\n%s", logs.String())
	b.RoundTrip(metadataReq(12)) // the others are untouched

	require.NoError(t, a.Net().Close())
	eventually(t, "the server sees the close", func() bool { return srv.Connections() == 1 })
	c := wiretest.Dial(t, addr)
	c.RoundTrip(metadataReq(12))
	assert.Equal(t, 2, srv.Connections())
}

// A connection that does nothing for connections.max.idle.ms is closed; the
// idle time is measured on the server's clock, here a fake one.
func TestIdleConnectionClosed(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	srv, addr := start(t, wire.Config{IdleTimeout: time.Minute, Clock: clk}, &fake{})
	idle := wiretest.Dial(t, addr) // never sends a byte
	used := wiretest.Dial(t, addr)
	used.RoundTrip(metadataReq(12))
	eventually(t, "both connections are served", func() bool { return srv.Connections() == 2 && clk.Timers() >= 2 })

	clk.Advance(59 * time.Second)
	used.RoundTrip(metadataReq(12)) // activity at 59s
	clk.Advance(time.Second)        // 1m: idle's time is up, used's is not
	idle.RequireClosed()
	used.RoundTrip(metadataReq(12))
	// used's check re-arms its timer (in its own goroutine): wait for it.
	eventually(t, "used's idle timer is armed again", func() bool { return clk.Timers() == 1 })
	clk.Advance(time.Minute)
	used.RequireClosed()
}

// A connection with a request in flight is not idle, however long the
// answer takes (a long-poll fetch, a produce waiting for its fsync), and
// neither is one whose reader waits for request memory. It becomes idle
// once answered.
func TestBusyConnectionIsNotIdle(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	release := make(chan struct{})
	waiting := make(chan struct{}, 1)
	f := &fake{}
	f.handle = func(ctx context.Context, r *wire.Request) wire.Reply {
		if r.Key != 1 { // only fetches wait
			return nil
		}
		return wire.Later(func() (kmsg.Response, error) {
			waiting <- struct{}{}
			select {
			case <-release:
				return r.Body.ResponseKind(), nil
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		})
	}
	srv, addr := start(t, wire.Config{IdleTimeout: time.Minute, Clock: clk}, f)
	c := wiretest.Dial(t, addr)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(12)
	corr := c.Send(fetch)
	recv(t, waiting)
	timerArmed := func() bool { return clk.Timers() == 1 }
	for range 5 {
		eventually(t, "the idle timer is armed", timerArmed)
		clk.Advance(time.Minute)
	}
	eventually(t, "the idle timer is armed", timerArmed)
	require.Equal(t, 1, srv.Connections())
	close(release)
	got, _ := c.Recv(1, 12)
	require.Equal(t, corr, got, "answered on the same connection: it was never closed")

	clk.Advance(time.Minute)
	c.RequireClosed()
}

// A client that sends part of a frame and stops is idle: it is closed, and
// the memory its partial frame held is released.
func TestStalledFrameClosedWhenIdle(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	srv, addr := start(t, wire.Config{IdleTimeout: time.Minute, Clock: clk}, &fake{})
	c := wiretest.Dial(t, addr)
	c.Write(binary.BigEndian.AppendUint32(nil, 1<<20))
	c.Write(make([]byte, 200<<10))
	eventually(t, "the partial frame is read", func() bool { return srv.QueuedRequestBytes() >= 200<<10 })
	clk.Advance(time.Minute)
	c.RequireClosed()
	eventually(t, "its memory is released", func() bool { return srv.QueuedRequestBytes() == 0 })
}

// heapInUse is the live heap after a full collection (twice, so that the
// pools' victim caches are dropped too).
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// Ten connections each announce a 100 MiB frame, send 1 MiB of it and
// stall. Memory follows what they sent, not what they announced: about
// 10 MiB is held (it used to be 1 GB), and it is returned when they close.
func TestHalfSentFramesHoldWhatTheySent(t *testing.T) {
	srv, addr := start(t, wire.Config{}, &fake{})
	base := heapInUse()
	body := make([]byte, 1<<20)
	conns := make([]*wiretest.Conn, 10)
	for i := range conns {
		conns[i] = wiretest.Dial(t, addr)
		conns[i].Write(binary.BigEndian.AppendUint32(nil, uint32(wire.DefaultMaxFrameBytes)))
		conns[i].Write(body)
	}
	eventually(t, "the server has read every byte sent", func() bool { return srv.QueuedRequestBytes() == 10<<20 })
	during := heapInUse()
	t.Logf("heap in use: %d MiB before, %d MiB with ten half-sent 100 MiB frames", base>>20, during>>20)
	assert.Less(t, during, uint64(200<<20), "ten announced 100 MiB frames must not cost 1 GB")

	for _, c := range conns {
		require.NoError(t, c.Net().Close())
	}
	eventually(t, "the connections close", func() bool { return srv.Connections() == 0 && srv.QueuedRequestBytes() == 0 })
	after := heapInUse()
	t.Logf("heap in use after they closed: %d MiB", after>>20)
	assert.Less(t, after, base+(4<<20), "memory is returned")
}

// When the budget (queued.max.request.bytes) is spent by requests waiting
// for their answers, readers wait (the connection stops reading) instead
// of failing, and go on once answers are written.
func TestQueuedRequestBytesBackpressure(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan int32, 10)
	f := &fake{}
	f.handle = func(ctx context.Context, r *wire.Request) wire.Reply {
		handled <- r.CorrelationID
		if r.CorrelationID != 1 {
			return nil
		}
		return wire.Later(func() (kmsg.Response, error) {
			select {
			case <-release:
				return f.respond(r), nil
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		})
	}
	const limit = 256 << 10
	srv, addr := start(t, wire.Config{QueuedMaxRequestBytes: limit}, f)
	first, second := wiretest.Dial(t, addr), wiretest.Dial(t, addr)
	first.Write(paddedRequest(200<<10, 1))
	require.EqualValues(t, 1, recv(t, handled))
	assert.Equal(t, int64(200<<10), srv.QueuedRequestBytes(), "held until answered")

	second.Write(paddedRequest(200<<10, 2))
	select {
	case corr := <-handled:
		t.Fatalf("request %d was read past the budget", corr)
	case <-time.After(quiet):
	}
	assert.LessOrEqual(t, srv.QueuedRequestBytes(), int64(limit))

	close(release)
	corr, _ := first.Recv(3, 12)
	assert.EqualValues(t, 1, corr)
	require.EqualValues(t, 2, recv(t, handled), "read once the first was answered")
	corr, _ = second.Recv(3, 12)
	assert.EqualValues(t, 2, corr)
	eventually(t, "every frame's memory is released", func() bool { return srv.QueuedRequestBytes() == 0 })
}

// Frames larger than the budget, arriving at once on several connections,
// all complete: readers holding parts of frames never wait for each other
// for ever.
func TestLargeFramesOverBudgetComplete(t *testing.T) {
	srv, addr := start(t, wire.Config{QueuedMaxRequestBytes: 1 << 20}, &fake{})
	conns := make([]*wiretest.Conn, 4)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = wiretest.Dial(t, addr)
		frame := paddedRequest(3<<20, int32(i+1))
		nc := conns[i].Net()
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two halves, so that readers hold parts of frames
			// before any has all of one.
			for _, part := range [][]byte{frame[:len(frame)/2], frame[len(frame)/2:]} {
				if _, err := nc.Write(part); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i, c := range conns {
		corr, _ := c.Recv(3, 12)
		assert.EqualValues(t, i+1, corr)
	}
	wg.Wait()
	eventually(t, "every frame's memory is released", func() bool { return srv.QueuedRequestBytes() == 0 })
}
