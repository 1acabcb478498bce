package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordo-broker/ordo/broker/clock"
)

// conn serves one client connection with two goroutines:
//
//   - the reader reads frames, parses them and calls Handler.Handle one
//     request at a time, in arrival order, then queues the Reply;
//   - the writer takes Replies off the queue in the same order, waits for
//     each and writes its response, so responses go out in request order
//     whatever order they become ready in, as Kafka requires.
//
// The queue is bounded (Config.MaxInFlight): when it is full the reader
// stops reading, and TCP pushes back on the client.
//
// Whatever ends first (end of stream, a protocol error, a write error, an
// error from Wait, a panic, Server.Close, the idle timeout) calls shutdown,
// which cancels the connection's context and closes the socket; that
// unblocks the other goroutine, and any Wait that honours the context.
//
// Each frame is charged to the server's request memory budget as its
// buffer grows (the reader waits when the budget is spent) and released
// when its response is written (finish), or when the connection ends.
type conn struct {
	srv    *Server
	nc     net.Conn
	info   ConnInfo
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	queue  chan pending
	// draining is set by Server.Shutdown: the reader stops, and the
	// writer answers what was queued before the connection closes.
	// stopRead is closed with it, for a reader waiting for memory.
	draining  atomic.Bool
	drainOnce sync.Once
	stopRead  chan struct{}

	claim claim // the frame being read's share of the budget

	// For Config.IdleTimeout: when bytes were last read or a response
	// last written (the clock's UnixNano), and how many requests are read
	// and not yet answered (plus one while the reader waits for memory:
	// then it is the server that is not reading).
	lastActive atomic.Int64
	inFlight   atomic.Int64
	idleMu     sync.Mutex
	idleTimer  clock.Timer // nil once stopped
}

func newConn(s *Server, nc net.Conn, id uint64) *conn {
	ctx, cancel := context.WithCancelCause(s.ctx)
	info := ConnInfo{ID: id, Remote: nc.RemoteAddr(), Local: nc.LocalAddr()}
	return &conn{
		srv:      s,
		nc:       nc,
		info:     info,
		log:      s.log.With("conn", id, "remote", info.Remote),
		ctx:      ctx,
		cancel:   cancel,
		queue:    make(chan pending, s.cfg.MaxInFlight),
		stopRead: make(chan struct{}),
		claim:    claim{b: s.budget},
	}
}

// errWriterDone is the writer's reason when it stops because the connection
// is already shutting down; the first reason wins, so it is never reported.
var errWriterDone = errors.New("wire: writer stopped")

// shutdown closes the connection for reason err. The first reason wins: it
// becomes the cause of the connection's context.
func (c *conn) shutdown(err error) {
	c.cancel(err)
	c.nc.Close()
}

// drain stops the reader (Server.Shutdown): a read deadline in the past
// ends the read it is blocked in, or its next one. Requests already read
// are still handled and answered.
func (c *conn) drain() {
	c.draining.Store(true)
	c.drainOnce.Do(func() { close(c.stopRead) })
	_ = c.nc.SetReadDeadline(time.Now())
}

func (c *conn) serve() {
	defer c.srv.wg.Done()
	if c.srv.cfg.IdleTimeout > 0 {
		c.touch()
		c.idleMu.Lock()
		c.idleTimer = c.srv.clock.AfterFunc(c.srv.cfg.IdleTimeout, c.checkIdle)
		c.idleMu.Unlock()
	}
	writerDone := make(chan struct{})
	go func() {
		defer c.srv.wg.Done()
		defer close(writerDone)
		c.shutdown(c.writeLoop())
	}()
	if err := c.readLoop(); c.draining.Load() {
		// Shutting down: no more requests, but the writer answers the
		// queued ones, then returns and closes the connection.
		close(c.queue)
	} else {
		c.shutdown(err)
	}
	<-writerDone
	c.stopIdle()
	// Requests read and never answered give their memory back.
	for done := false; !done; {
		select {
		case p, ok := <-c.queue:
			if ok {
				c.finish(p)
			} else {
				done = true
			}
		default:
			done = true
		}
	}
	c.srv.removeConn(c)

	reason := context.Cause(c.ctx)
	if errors.Is(reason, io.EOF) {
		reason = errors.New("client closed the connection")
	}
	c.log.Debug("wire: connection closed", "reason", reason)
}

func (c *conn) readLoop() error {
	var src io.Reader = c.nc
	if c.srv.cfg.IdleTimeout > 0 {
		src = activityReader{c}
	}
	br := bufio.NewReaderSize(src, 32<<10)
	for {
		frame, err := readFrame(br, c.srv.cfg.MaxFrameBytes, c.growFrame)
		charge := c.claim.done()
		if err != nil {
			c.srv.budget.release(charge)
			return err
		}
		c.inFlight.Add(1)
		var p pending
		err = guard(func() (err error) {
			p, err = handleFrame(c.ctx, frame, c.srv.h, c.info)
			return err
		})
		p.charge = charge
		if err != nil {
			c.finish(p)
			c.logPanic(err, "handling request")
			return err
		}
		select {
		case c.queue <- p:
		case <-c.ctx.Done():
			c.finish(p)
			return context.Cause(c.ctx)
		}
	}
}

// growFrame charges n more bytes of the frame being read to the server's
// budget, waiting (and so not reading) while it is spent. Waiting is not
// idleness: the connection counts as busy meanwhile.
func (c *conn) growFrame(n int) error {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	return c.claim.grow(c.ctx, c.stopRead, int64(n))
}

// finish is the end of a request read by this connection: answered, or
// dropped with the connection. Its frame's memory goes back to the budget.
func (c *conn) finish(p pending) {
	c.srv.budget.release(p.charge)
	c.touch()
	c.inFlight.Add(-1)
}

// touch records activity for the idle timeout.
func (c *conn) touch() {
	if c.srv.cfg.IdleTimeout > 0 {
		c.lastActive.Store(c.srv.clock.Now().UnixNano())
	}
}

// checkIdle runs when the idle timer fires: it closes the connection if it
// has been idle for Config.IdleTimeout, and otherwise arms the timer for
// when it may be.
func (c *conn) checkIdle() {
	timeout := c.srv.cfg.IdleTimeout
	idleFor := c.srv.clock.Now().Sub(time.Unix(0, c.lastActive.Load()))
	busy := c.inFlight.Load() > 0
	if !busy && idleFor >= timeout {
		c.log.Debug("wire: closing idle connection", "idle", idleFor)
		c.shutdown(ErrIdle)
		return
	}
	next := timeout
	if !busy {
		next = timeout - idleFor
	}
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	if c.idleTimer != nil { // not stopped
		c.idleTimer = c.srv.clock.AfterFunc(next, c.checkIdle)
	}
}

func (c *conn) stopIdle() {
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	if c.idleTimer != nil {
		c.idleTimer.Stop()
		c.idleTimer = nil
	}
}

// activityReader is the connection's socket, recording each read that
// brings bytes as activity.
type activityReader struct{ c *conn }

func (r activityReader) Read(p []byte) (int, error) {
	n, err := r.c.nc.Read(p)
	if n > 0 {
		r.c.touch()
	}
	return n, err
}

func (c *conn) writeLoop() error {
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	for {
		var p pending
		var ok bool
		select {
		case p, ok = <-c.queue:
			if !ok { // drained (Server.Shutdown): every queued request answered
				if err := bw.Flush(); err != nil {
					return err
				}
				return ErrServerClosed
			}
		case <-c.ctx.Done():
			return errWriterDone
		}
		err := c.answer(bw, p)
		c.finish(p)
		if err != nil {
			return err
		}
		// Flush only when nothing else is queued, so that responses to
		// pipelined requests leave in one write.
		if len(c.queue) == 0 && bw.Buffered() > 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// answer waits for p's response and writes it to bw.
func (c *conn) answer(bw *bufio.Writer, p pending) error {
	if bw.Buffered() > 0 && !knownReady(p.reply) {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	bp := respBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	err := guard(func() error {
		resp, err := p.reply.Wait()
		if err != nil {
			return fmt.Errorf("wire: reply to key %d correlation %d: %w", p.key, p.corr, err)
		}
		if resp == nil { // acks=0 produce: nothing is sent
			return nil
		}
		if h, ok := p.reply.(SizeHinter); ok {
			// One allocation of the right size, instead of append
			// doubling its way to a large fetch response.
			buf = slices.Grow(buf, h.SizeHint())
		}
		buf, err = appendResponse(buf, p.key, p.version, p.corr, resp)
		if r, ok := p.reply.(Releaser); ok {
			r.Release() // encoded: the response's buffers are free
		}
		return err
	})
	if err != nil {
		c.logPanic(err, "writing response")
		// Responses already encoded answer earlier requests: send
		// them (best effort) so that the client need not retry those.
		bw.Flush()
		return err
	}
	if len(buf) > 0 {
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	// The buffer goes back to a pool shared by all connections, so a
	// large fetch response's buffer is reused by the next one instead
	// of being grown again, and an idle connection pins nothing.
	*bp = buf[:0]
	respBufs.Put(bp)
	return nil
}

// respBufs holds response encoding buffers (*[]byte).
var respBufs = sync.Pool{New: func() any { return new([]byte) }}

func (c *conn) logPanic(err error, during string) {
	var pe *PanicError
	if errors.As(err, &pe) {
		c.log.Error("wire: panic "+during+"; closing the connection", "panic", pe.Value, "stack", string(pe.Stack))
	}
}
