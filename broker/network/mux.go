package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Protocol tags: the first byte of every inter-broker connection says what
// it carries, so one port per node serves them all (Mux).
const (
	// ProtoRaft: the controller quorum's Raft transport.
	ProtoRaft byte = 'R'
	// ProtoKafka: Kafka protocol requests between brokers (controller
	// RPCs, replica fetches), framed as clients frame them.
	ProtoKafka byte = 'K'
)

// muxHandshakeTimeout bounds how long an accepted connection may take to
// send its protocol tag.
const muxHandshakeTimeout = 10 * time.Second

// Mux shares one listener among the protocols of inter-broker traffic:
// each accepted connection is handed to the listener of the protocol its
// first byte names (DialProto writes it). A connection with an unknown tag,
// or none within the handshake timeout, is closed.
type Mux struct {
	ln net.Listener

	mu        sync.Mutex
	listeners map[byte]*muxListener
	closed    bool
	done      chan struct{}
}

// NewMux starts dispatching the connections of ln. Close stops it and
// closes ln.
func NewMux(ln net.Listener) *Mux {
	m := &Mux{ln: ln, listeners: map[byte]*muxListener{}, done: make(chan struct{})}
	go m.serve()
	return m
}

// Listen returns the listener of one protocol. Each tag has one listener.
func (m *Mux) Listen(tag byte) (net.Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, net.ErrClosed
	}
	if _, ok := m.listeners[tag]; ok {
		return nil, fmt.Errorf("network: protocol %q is already listened for", tag)
	}
	l := &muxListener{m: m, tag: tag, conns: make(chan net.Conn), done: make(chan struct{})}
	m.listeners[tag] = l
	return l, nil
}

// Addr is the shared listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close stops accepting and closes every protocol's listener.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	ls := m.listeners
	m.listeners = map[byte]*muxListener{}
	m.mu.Unlock()
	for _, l := range ls {
		l.closeOnce()
	}
	close(m.done)
	return m.ln.Close()
}

func (m *Mux) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || m.isClosed() {
				return
			}
			select { // a transient accept error: back off a little
			case <-time.After(5 * time.Millisecond):
			case <-m.done:
				return
			}
			continue
		}
		go m.dispatch(c)
	}
}

func (m *Mux) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Mux) dispatch(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(muxHandshakeTimeout))
	var tag [1]byte
	if _, err := c.Read(tag[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	m.mu.Lock()
	l := m.listeners[tag[0]]
	m.mu.Unlock()
	if l == nil {
		_ = c.Close()
		return
	}
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

type muxListener struct {
	m     *Mux
	tag   byte
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *muxListener) closeOnce() { l.once.Do(func() { close(l.done) }) }

// Close stops this protocol's listener; the shared one goes on.
func (l *muxListener) Close() error {
	l.m.mu.Lock()
	if l.m.listeners[l.tag] == l {
		delete(l.m.listeners, l.tag)
	}
	l.m.mu.Unlock()
	l.closeOnce()
	return nil
}

func (l *muxListener) Addr() net.Addr { return l.m.ln.Addr() }

// DialProto dials addr through n and names the protocol the connection
// carries.
func DialProto(ctx context.Context, n Network, addr string, tag byte) (net.Conn, error) {
	c, err := n.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(dl)
	}
	if _, err := c.Write([]byte{tag}); err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}
