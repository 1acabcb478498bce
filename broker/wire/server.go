package wire

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordo-broker/ordo/broker/clock"
)

// ErrServerClosed is returned by Serve after Close, and is the cause of the
// connection contexts that Close cancels.
var ErrServerClosed = errors.New("wire: server closed")

// DefaultMaxInFlight is the default Config.MaxInFlight.
const DefaultMaxInFlight = 64

// Config configures a Server. The zero value is usable.
type Config struct {
	// MaxFrameBytes is the largest request frame accepted; a bigger (or
	// negative) size prefix closes the connection. 0 means
	// DefaultMaxFrameBytes, Kafka's socket.request.max.bytes.
	MaxFrameBytes int32
	// MaxInFlight is the length of a connection's queue between Handle
	// and the writer. When it is full the connection stops reading, which
	// bounds pipelining: at most MaxInFlight+2 requests of a connection are
	// handled and not yet answered (the queue, the one whose Wait the
	// writer is in, the one the reader is trying to queue). Kafka itself
	// reads one request at a time per connection; clients pipeline a few
	// (kgo up to 5 produce requests). 0 means DefaultMaxInFlight.
	MaxInFlight int
	// MaxConnections is Kafka's max.connections: while this many
	// connections are open, a new one is accepted and closed at once, and
	// a warning is logged (at most every refusedLogInterval, with how many
	// were refused). Clients see the connection close and retry after
	// their reconnect backoff. (Kafka's acceptor instead stops accepting
	// until a connection closes, leaving new ones in the listen backlog;
	// it closes at once only for max.connections.per.ip.) 0 means no
	// limit.
	MaxConnections int
	// IdleTimeout is Kafka's connections.max.idle.ms: a connection that
	// has no request in flight (read and not yet answered, including long
	// polls and produces waiting for their fsync) and on which nothing
	// was read or written for this long is closed. A client that stops in
	// the middle of a frame is idle too. 0 means never.
	IdleTimeout time.Duration
	// QueuedMaxRequestBytes is Kafka's queued.max.request.bytes: the
	// memory of request frames being read or handled, across all
	// connections (see budget). When it is reached, connections stop
	// reading until requests are answered. 0 means
	// DefaultQueuedMaxRequestBytes; negative means no bound.
	QueuedMaxRequestBytes int64
	// Clock times idle connections and rate-limits the refusal warning.
	// nil means the wall clock.
	Clock clock.Clock
	// Logger receives connection events: closes at debug level, panics
	// at error level. nil means slog.Default().
	Logger *slog.Logger
}

// ErrIdle is the reason a connection closed by Config.IdleTimeout was
// closed.
var ErrIdle = errors.New("wire: connection idle for longer than connections.max.idle.ms")

// refusedLogInterval bounds how often MaxConnections refusals are logged.
const refusedLogInterval = 10 * time.Second

// Server accepts Kafka protocol connections and serves them with a Handler.
type Server struct {
	cfg    Config
	h      Handler
	log    *slog.Logger
	clock  clock.Clock
	budget *budget

	ctx    context.Context // parent of every connection's context
	cancel context.CancelCauseFunc
	nextID atomic.Uint64

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     map[*conn]struct{}
	// refused counts connections refused by MaxConnections since the
	// last warning, logged at refusedLogged.
	refused       int
	refusedLogged time.Time
	// wg counts Serve loops and connection goroutines. Add happens only
	// under mu while !closed, so it never races with Close's Wait.
	wg sync.WaitGroup
}

// NewServer returns a Server that serves requests with h.
func NewServer(cfg Config, h Handler) *Server {
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.QueuedMaxRequestBytes == 0 {
		cfg.QueuedMaxRequestBytes = DefaultQueuedMaxRequestBytes
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Server{
		cfg:    cfg,
		h:      h,
		log:    cfg.Logger,
		clock:  cfg.Clock,
		budget: newBudget(cfg.QueuedMaxRequestBytes),
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[*conn]struct{}),
	}
}

// Connections is how many client connections are open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// QueuedRequestBytes is the memory request frames hold now, being read or
// waiting for their answer (bounded by Config.QueuedMaxRequestBytes).
func (s *Server) QueuedRequestBytes() int64 { return s.budget.inUse() }

// Addr is the address of the first listener passed to Serve, or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// Serve accepts connections on ln until Close, and then returns
// ErrServerClosed; ln is closed when Serve returns. Serve may be called for
// several listeners. Accept errors other than a closed listener (such as
// running out of file descriptors) are logged and retried with a backoff.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, ln)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer ln.Close()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("wire: accept failed; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
			}
			continue
		}
		delay = 0
		s.startConn(nc)
	}
}

// Close stops accepting, closes every connection, cancels their contexts
// (with cause ErrServerClosed) and waits until every connection goroutine
// has returned. That includes a Reply.Wait in progress: handlers must let
// Wait return once the request's context is done. Close may be called more
// than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	lns := s.listeners
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	s.cancel(ErrServerClosed)
	var errs []error
	for _, ln := range lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, c := range conns {
		c.shutdown(ErrServerClosed)
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// Shutdown closes the server gracefully: it stops accepting and stops
// reading requests on every connection, lets each connection answer the
// requests it had already read (their Replies' Waits included), then closes
// it. When ctx ends first, it does what Close does with what is left. It
// returns once every connection goroutine has returned. After Shutdown,
// Close does nothing more.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	lns := s.listeners
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var errs []error
	for _, ln := range lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel(ErrServerClosed)
	case <-ctx.Done():
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) startConn(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		nc.Close()
		return
	}
	if max := s.cfg.MaxConnections; max > 0 && len(s.conns) >= max {
		nc.Close()
		s.refused++
		if now := s.clock.Now(); now.Sub(s.refusedLogged) >= refusedLogInterval {
			s.log.Warn("wire: too many connections (max.connections); closing new ones",
				"max_connections", max, "refused_since_last_warning", s.refused)
			s.refused, s.refusedLogged = 0, now
		}
		return
	}
	c := newConn(s, nc, s.nextID.Add(1))
	s.conns[c] = struct{}{}
	s.wg.Add(2) // reader and writer
	go c.serve()
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}
