package wire_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

// quiet is how long a test waits to see that nothing arrives. It is only
// ever used to check an absence, never to order events.
const quiet = 100 * time.Millisecond

// recv waits for a value from ch, bounded in time.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wiretest.Timeout):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

func TestHeaderV1AndV2(t *testing.T) {
	f := &fake{}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)

	// Metadata v8: header v1 both ways. v9+: request header v2, response
	// header v1 (KIP-482).
	for _, v := range []int16{1, 8, 9, 12} {
		id := "client-v" + strconv.Itoa(int(v))
		c.ClientID = &id
		corr := c.Send(metadataReq(v, "orders", "payments"))
		frame, err := c.ReadFrame(wiretest.Timeout)
		require.NoError(t, err)
		assert.Equal(t, corr, int32(binary.BigEndian.Uint32(frame)))

		want := kmsg.NewPtrMetadataResponse()
		want.SetVersion(v)
		want.ClusterID = &id
		for _, name := range []string{"orders", "payments"} {
			rt := kmsg.NewMetadataResponseTopic()
			rt.Topic = kmsg.StringPtr(name)
			want.Topics = append(want.Topics, rt)
		}
		body := frame[4:]
		if v >= 9 {
			require.EqualValues(t, 0, body[0], "v%d: empty response header tags", v)
			body = body[1:]
		}
		assert.Equal(t, want.AppendTo(nil), body, "v%d body", v)
	}

	c.ClientID = nil
	resp := c.RoundTrip(metadataReq(12)).(*kmsg.MetadataResponse)
	assert.Nil(t, resp.ClusterID, "null client id reaches the handler as nil")

	// Unknown tags in the request header v2 are skipped.
	id := "tagged"
	c.ClientID = &id
	frame := wire.AppendRequest(nil, metadataReq(12, "orders"), 99, &id)
	at := 4 + 8 + 2 + len(id)
	require.EqualValues(t, 0, frame[at])
	payload := append(append(append([]byte{}, frame[4:at]...), 2, 0, 3, 'a', 'b', 'c', 7, 1, 'x'), frame[at+1:]...)
	c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...))
	corr, got := c.Recv(3, 12)
	assert.EqualValues(t, 99, corr)
	assert.Equal(t, "tagged", *got.(*kmsg.MetadataResponse).ClusterID)
	assert.Equal(t, "orders", *got.(*kmsg.MetadataResponse).Topics[0].Topic)

	seen := f.requests()
	require.Len(t, seen, 6)
	assert.Equal(t, "client-v12", *seen[3].clientID)
	assert.Nil(t, seen[4].clientID)
}

func TestApiVersionsResponseHeaderIsV0(t *testing.T) {
	f := &fake{}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	for _, v := range []int16{0, 2, 3, 4} {
		corr := c.Send(apiVersionsReq(v))
		frame, err := c.ReadFrame(wiretest.Timeout)
		require.NoError(t, err)
		want := f.apiVersions()
		want.SetVersion(v)
		// Correlation id then the body right away: no tag byte, even for
		// the flexible v3 and v4.
		assert.Equal(t, append(binary.BigEndian.AppendUint32(nil, uint32(corr)), want.AppendTo(nil)...), frame, "v%d", v)
	}
}

func TestApiVersionsUnknownVersion(t *testing.T) {
	f := &fake{}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	// 5 is known to kmsg but not to the handler; 9 and 127 to neither.
	for _, v := range []int16{5, 9, 127} {
		corr := c.Send(apiVersionsReq(v))
		frame, err := c.ReadFrame(wiretest.Timeout)
		require.NoError(t, err)
		gotCorr, resp, err := wire.ParseResponse(frame, 18, 0) // a v0 body
		require.NoError(t, err)
		assert.Equal(t, corr, gotCorr)
		av := resp.(*kmsg.ApiVersionsResponse)
		assert.EqualValues(t, 35, av.ErrorCode, "UNSUPPORTED_VERSION")
		assert.Equal(t, []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: 0, MaxVersion: 4}}, av.ApiKeys)
		// Exactly a v0 body: nothing after the key table.
		want := wire.UnsupportedApiVersionsResponse(f)
		assert.Equal(t, want.AppendTo(nil), frame[4:])

		// The connection stays open: retry with the advertised version.
		ok := c.RoundTrip(apiVersionsReq(4)).(*kmsg.ApiVersionsResponse)
		assert.EqualValues(t, 0, ok.ErrorCode)
		assert.Len(t, ok.ApiKeys, 5)
	}
	for _, s := range f.requests() {
		assert.EqualValues(t, 4, s.version, "the handler never sees an unsupported ApiVersions version")
	}
}

func TestUnknownKeyCloses(t *testing.T) {
	_, addr := start(t, wire.Config{}, &fake{})
	t.Run("unknown to kmsg", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Write(frameOf([]byte{0x03, 0xe8, 0, 0, 0, 0, 0, 1, 0xff, 0xff})) // key 1000
		c.RequireClosed()
	})
	t.Run("not implemented", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.RoundTrip(apiVersionsReq(4)) // a good request first
		req := kmsg.NewPtrLeaderAndISRRequest()
		c.Send(req)
		c.RequireClosed()
	})
}

func TestUnsupportedVersionCloses(t *testing.T) {
	_, addr := start(t, wire.Config{}, &fake{})
	for name, req := range map[string]kmsg.Request{
		"Metadata v13 above max": metadataReq(13),
		"Produce v2 below min":   produceReq(2, 1),
		"Fetch v13 above max": func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			r.SetVersion(13)
			return r
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Send(req)
			c.RequireClosed()
		})
	}
}

func TestOversizeFrameClosesOnlyThatConnection(t *testing.T) {
	const max = 1024
	_, addr := start(t, wire.Config{MaxFrameBytes: max}, &fake{})
	other := wiretest.Dial(t, addr)
	other.RoundTrip(metadataReq(12, "a"))

	for name, prefix := range map[string]uint32{"over": max + 1, "negative": 0xffffffff, "huge": 0x7fffffff} {
		t.Run(name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Write(binary.BigEndian.AppendUint32(nil, prefix))
			c.RequireClosed()
		})
	}

	// Exactly the maximum is fine (kmsg ignores the trailing padding).
	c := wiretest.Dial(t, addr)
	frame := wire.AppendRequest(nil, metadataReq(12, "a"), 5, nil)
	padded := append(frame[4:], make([]byte, max-len(frame)+4)...)
	c.Write(frameOf(padded))
	corr, _ := c.Recv(3, 12)
	assert.EqualValues(t, 5, corr)

	other.RoundTrip(metadataReq(12, "b"))
	wiretest.Dial(t, addr).RoundTrip(metadataReq(12, "c"))
}

func TestGarbageCloses(t *testing.T) {
	_, addr := start(t, wire.Config{}, &fake{})
	good := wire.AppendRequest(nil, metadataReq(12, "orders"), 1, nil)
	cases := map[string][]byte{
		"empty frame":        frameOf(nil),
		"three bytes":        frameOf([]byte{0, 3, 0}),
		"no client id":       frameOf([]byte{0, 3, 0, 12, 0, 0, 0, 1}),
		"client id too long": frameOf([]byte{0, 3, 0, 12, 0, 0, 0, 1, 0x7f, 0xff, 'a'}),
		"bad tag section":    frameOf([]byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0x05, 0, 0}),
		"body cut short":     frameOf(good[4 : len(good)-3]),
		"body all ones":      frameOf(append(append([]byte{}, good[4:4+8+2+1]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		b := make([]byte, 4+rng.IntN(200))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		// A real key and version, so that the body decoder runs.
		binary.BigEndian.PutUint16(b, []uint16{0, 1, 3, 18, 19}[i%5])
		binary.BigEndian.PutUint16(b[2:], uint16(rng.IntN(13)))
		cases["random "+strconv.Itoa(i)] = frameOf(b)
	}
	for name, stream := range cases {
		t.Run(name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Write(stream)
			// Random bytes may happen to be a valid request; what matters
			// is that nothing crashes and the server keeps serving.
			for {
				frame, err := c.ReadFrame(wiretest.Timeout)
				if err != nil {
					var ne net.Error
					require.False(t, errors.As(err, &ne) && ne.Timeout(), "neither answered nor closed")
					break
				}
				assert.Contains(t, name, "random", "a garbage frame was answered: %x", frame)
				c.Net().Close()
				break
			}
		})
	}
	wiretest.Dial(t, addr).RoundTrip(metadataReq(12))
}

// The inputs on which kmsg v1.15.0 spun in a tag loop or allocated an
// array's worth of elements for a malformed count (see kmsg_regress_test.go)
// each close their connection, the server keeps serving, and Close is not
// held up by a decode still running. Each step is bounded by
// wiretest.Timeout, which only a hang reaches.
func TestKmsgRegressionInputsClose(t *testing.T) {
	srv, addr := start(t, wire.Config{}, &fake{})
	for name, stream := range wire.KmsgRegressionStreams(t) {
		t.Run(name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Write(stream)
			c.RequireClosed()
		})
	}
	wiretest.Dial(t, addr).RoundTrip(metadataReq(12, "orders"))
	require.NoError(t, srv.Close())
}

func TestPanicClosesOnlyThatConnection(t *testing.T) {
	var logs logBuffer
	f := &fake{handle: func(_ context.Context, r *wire.Request) wire.Reply {
		switch {
		case r.ClientID != nil && *r.ClientID == "panic-in-handle":
			panic("boom in Handle")
		case r.ClientID != nil && *r.ClientID == "panic-in-wait":
			return wire.Later(func() (kmsg.Response, error) { panic("boom in Wait") })
		}
		return nil
	}}
	_, addr := start(t, wire.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, f)
	other := wiretest.Dial(t, addr)
	for _, id := range []string{"panic-in-handle", "panic-in-wait"} {
		c := wiretest.Dial(t, addr)
		c.ClientID = &id
		c.Send(metadataReq(12))
		c.RequireClosed()
	}
	other.RoundTrip(metadataReq(12))
	assert.Contains(t, logs.String(), "boom in Handle")
	assert.Contains(t, logs.String(), "boom in Wait")
	assert.Contains(t, logs.String(), "level=ERROR")
}

func TestPipelinedResponsesInOrder(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan int32, 16)
	f := &fake{}
	f.handle = func(ctx context.Context, r *wire.Request) wire.Reply {
		defer func() { handled <- r.CorrelationID }()
		if r.CorrelationID == 1 {
			return wire.Later(func() (kmsg.Response, error) {
				select {
				case <-release:
					return f.respond(r), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			})
		}
		return nil
	}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	var stream []byte
	stream = wire.AppendRequest(stream, metadataReq(12, "slow"), 1, nil)
	stream = wire.AppendRequest(stream, apiVersionsReq(4), 2, nil)
	stream = wire.AppendRequest(stream, metadataReq(1, "fast"), 3, nil)
	c.Write(stream)
	for want := int32(1); want <= 3; want++ {
		assert.Equal(t, want, recv(t, handled), "Handle runs in arrival order")
	}

	// 2 and 3 are ready, but must wait for 1.
	_, err := c.ReadFrame(quiet)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "a response overtook the slow one: %v", err)

	close(release)
	corr, resp := c.Recv(3, 12)
	assert.EqualValues(t, 1, corr)
	assert.Equal(t, "slow", *resp.(*kmsg.MetadataResponse).Topics[0].Topic)
	corr, _ = c.Recv(18, 4)
	assert.EqualValues(t, 2, corr)
	corr, resp = c.Recv(3, 1)
	assert.EqualValues(t, 3, corr)
	assert.Equal(t, "fast", *resp.(*kmsg.MetadataResponse).Topics[0].Topic)
}

func TestNilResponseWritesNothing(t *testing.T) {
	f := &fake{}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	c.Send(produceReq(9, 0)) // acks=0: no response
	c.Send(produceReq(3, 0)) // same, non-flexible
	corr := c.Send(produceReq(9, -1))
	got, resp := c.Recv(0, 9)
	assert.Equal(t, corr, got, "the first bytes back answer the acks=all produce")
	assert.Equal(t, "orders", resp.(*kmsg.ProduceResponse).Topics[0].Topic)
	assert.Len(t, f.requests(), 3)
}

func TestWaitErrorCloses(t *testing.T) {
	f := &fake{handle: func(_ context.Context, r *wire.Request) wire.Reply {
		if r.CorrelationID == 2 {
			return wire.Ready(nil, errors.New("storage failed"))
		}
		return nil
	}}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	c.Send(metadataReq(12))
	c.Send(metadataReq(12))
	corr, _ := c.Recv(3, 12)
	assert.EqualValues(t, 1, corr, "the response before the failure is delivered")
	c.RequireClosed()
}

func TestWrongResponseKeyCloses(t *testing.T) {
	f := &fake{handle: func(context.Context, *wire.Request) wire.Reply {
		return wire.Ready(kmsg.NewPtrApiVersionsResponse(), nil)
	}}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	c.Send(metadataReq(12))
	c.RequireClosed()
}

func TestFrameSplitAcrossWrites(t *testing.T) {
	_, addr := start(t, wire.Config{}, &fake{})
	c := wiretest.Dial(t, addr)
	stream := wire.AppendRequest(nil, metadataReq(12, "orders"), 1, nil)
	stream = wire.AppendRequest(stream, metadataReq(12, "orders"), 2, nil)
	for _, b := range stream {
		c.Write([]byte{b})
	}
	corr, _ := c.Recv(3, 12)
	assert.EqualValues(t, 1, corr)
	corr, _ = c.Recv(3, 12)
	assert.EqualValues(t, 2, corr)
}

// The queue bounds pipelining: with MaxInFlight 2 and the first reply stuck,
// Handle runs for the stuck one (in the writer), two queued ones and one
// waiting to be queued, and no more until the writer moves.
func TestMaxInFlightBoundsPipelining(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan int32, 100)
	f := &fake{}
	f.handle = func(ctx context.Context, r *wire.Request) wire.Reply {
		handled <- r.CorrelationID
		return wire.Later(func() (kmsg.Response, error) {
			select {
			case <-release:
				return f.respond(r), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
	}
	_, addr := start(t, wire.Config{MaxInFlight: 2}, f)
	c := wiretest.Dial(t, addr)
	var stream []byte
	for i := int32(1); i <= 20; i++ {
		stream = wire.AppendRequest(stream, metadataReq(12), i, nil)
	}
	c.Write(stream)
	for want := int32(1); want <= 4; want++ {
		assert.Equal(t, want, recv(t, handled))
	}
	select {
	case corr := <-handled:
		t.Fatalf("request %d handled past the in-flight bound", corr)
	case <-time.After(quiet):
	}
	close(release)
	for want := int32(1); want <= 20; want++ {
		corr, _ := c.Recv(3, 12)
		require.Equal(t, want, corr)
	}
}

func TestContextCancelledWhenClientCloses(t *testing.T) {
	waiting := make(chan struct{})
	stopped := make(chan error, 1)
	f := &fake{handle: func(ctx context.Context, r *wire.Request) wire.Reply {
		return wire.Later(func() (kmsg.Response, error) { // a long poll
			close(waiting)
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return nil, ctx.Err()
		})
	}}
	_, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	c.Send(metadataReq(12))
	recv(t, waiting)
	require.NoError(t, c.Net().Close())
	assert.ErrorIs(t, recv(t, stopped), io.EOF)
}

func TestCloseWithOpenConnections(t *testing.T) {
	polling := make(chan struct{}, 1)
	stopped := make(chan error, 1)
	f := &fake{handle: func(ctx context.Context, r *wire.Request) wire.Reply {
		if r.CorrelationID != 2 {
			return nil
		}
		return wire.Later(func() (kmsg.Response, error) {
			polling <- struct{}{}
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return nil, ctx.Err()
		})
	}}
	srv, addr := start(t, wire.Config{}, f)
	require.Equal(t, addr, srv.Addr().String())
	conns := []*wiretest.Conn{wiretest.Dial(t, addr), wiretest.Dial(t, addr), wiretest.Dial(t, addr)}
	for _, c := range conns {
		c.RoundTrip(metadataReq(12))
	}
	conns[0].Send(metadataReq(12)) // corr 2: a long poll
	recv(t, polling)
	idle := wiretest.Dial(t, addr) // connected, never sent anything

	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	require.NoError(t, recv(t, closed))
	assert.ErrorIs(t, recv(t, stopped), wire.ErrServerClosed)
	for _, c := range append(conns, idle) {
		c.RequireClosed()
	}
	wiretest.RequireNoLeaks(t)

	// Closed for good: new connections are refused, Close again is fine.
	_, err := net.DialTimeout("tcp", addr, wiretest.Timeout)
	assert.Error(t, err)
	require.NoError(t, srv.Close())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	assert.ErrorIs(t, srv.Serve(ln), wire.ErrServerClosed)
}

func frameOf(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// Shutdown answers the requests a connection had already read (a slow
// one included), reads no more, then closes every connection; Close after
// it does nothing more.
func TestShutdownAnswersWhatWasRead(t *testing.T) {
	release := make(chan struct{})
	waiting := make(chan struct{}, 1)
	f := &fake{}
	f.handle = func(ctx context.Context, r *wire.Request) wire.Reply {
		if m, ok := r.Body.(*kmsg.MetadataRequest); !ok || len(m.Topics) == 0 || *m.Topics[0].Topic != "slow" {
			return nil
		}
		return wire.Later(func() (kmsg.Response, error) { // an fsync in progress
			waiting <- struct{}{}
			select {
			case <-release:
				return f.respond(r), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
	}
	srv, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	idle := wiretest.Dial(t, addr)
	idle.RoundTrip(metadataReq(12))
	c.Write(wire.AppendRequest(wire.AppendRequest(nil, metadataReq(12, "slow"), 1, nil), apiVersionsReq(4), 2, nil))
	recv(t, waiting)
	require.Eventually(t, func() bool { return len(f.requests()) == 3 }, wiretest.Timeout, time.Millisecond, "both requests read")

	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) before the slow reply was answered", err)
	case <-time.After(quiet):
	}
	idle.RequireClosed()                          // nothing to answer: closed at once
	c.Send(metadataReq(12, "after"))              // corr 3: not read any more
	_, err := net.DialTimeout("tcp", addr, quiet) // not accepting
	assert.Error(t, err)

	close(release)
	corr, resp := c.Recv(3, 12)
	assert.EqualValues(t, 1, corr)
	assert.Equal(t, "slow", *resp.(*kmsg.MetadataResponse).Topics[0].Topic)
	corr, _ = c.Recv(18, 4)
	assert.EqualValues(t, 2, corr)
	c.RequireClosed()
	require.NoError(t, recv(t, done))
	assert.Len(t, f.requests(), 3, "the request sent after Shutdown was never handled")
	wiretest.RequireNoLeaks(t)
	require.NoError(t, srv.Close())
}

// Shutdown gives up waiting when its context ends: what is left is closed
// as Close does, cancelling the waits.
func TestShutdownDeadline(t *testing.T) {
	stopped := make(chan error, 1)
	f := &fake{handle: func(ctx context.Context, r *wire.Request) wire.Reply {
		return wire.Later(func() (kmsg.Response, error) { // a long poll
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return nil, ctx.Err()
		})
	}}
	srv, addr := start(t, wire.Config{}, f)
	c := wiretest.Dial(t, addr)
	c.Send(metadataReq(12))
	require.Eventually(t, func() bool { return len(f.requests()) == 1 }, wiretest.Timeout, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.ErrorIs(t, recv(t, stopped), wire.ErrServerClosed)
	c.RequireClosed()
}
