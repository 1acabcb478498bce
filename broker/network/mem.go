package network

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// Mem is an in-memory network between numbered nodes. Each node dials and
// listens through its own view (Node). A test can act on any directed link
// between two nodes:
//
//   - Cut(a, b): bytes a sends to b are held, undelivered, until the link is
//     healed: packets dropped on the way, as TCP sees them (it retransmits
//     until the link comes back or the connection is given up); new
//     dials between a and b fail with ErrUnreachable (a handshake needs
//     both directions). Bytes b sends to a still flow, so a one-way cut is
//     a half-dead link.
//   - Delay(a, b, d): bytes a sends to b arrive d after they were written.
//   - Heal(a, b), HealAll: the link delivers again; held bytes arrive.
//   - Isolate(a): cut every link to and from a.
//   - Disconnect(a, b): close every open connection between a and b, as a
//     connection reset after a long partition does.
//
// Writes never block (each direction buffers what is not yet read); reads
// honour read deadlines. Mem is safe for concurrent use.
type Mem struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	links     map[link]linkState
	conns     map[*memConn]struct{}
	nextPort  int
	// changed is closed and replaced whenever a link changes, to wake
	// readers waiting on held bytes.
	changed chan struct{}
}

type link struct{ from, to int32 }

type linkState struct {
	cut   bool
	delay time.Duration
}

// NewMem returns an empty in-memory network with every link healthy.
func NewMem() *Mem {
	return &Mem{
		listeners: map[string]*memListener{},
		links:     map[link]linkState{},
		conns:     map[*memConn]struct{}{},
		nextPort:  40000,
		changed:   make(chan struct{}),
	}
}

// Node is node id's view of the network: what it dials comes from id.
func (m *Mem) Node(id int32) Network { return memNode{m: m, id: id} }

// Cut holds the bytes from sends to to, and fails new dials between them.
func (m *Mem) Cut(from, to int32) { m.setLink(from, to, func(s *linkState) { s.cut = true }) }

// Delay makes the bytes from sends to to arrive d after they are written.
func (m *Mem) Delay(from, to int32, d time.Duration) {
	m.setLink(from, to, func(s *linkState) { s.delay = d })
}

// Heal restores the link from → to: no cut, no delay.
func (m *Mem) Heal(from, to int32) { m.setLink(from, to, func(s *linkState) { *s = linkState{} }) }

// Isolate cuts every link to and from node (including to nodes that join
// later), until HealAll or Heal of each link.
func (m *Mem) Isolate(node int32) {
	m.mu.Lock()
	m.isolated(node, true)
	m.mu.Unlock()
}

// HealAll restores every link.
func (m *Mem) HealAll() {
	m.mu.Lock()
	clear(m.links)
	m.wake()
	m.mu.Unlock()
}

// isolated marks node cut off from every node (anyNode stands for any),
// dropping the explicit states of its links. m.mu is held.
func (m *Mem) isolated(node int32, cut bool) {
	for l := range m.links {
		if l.from == node || l.to == node {
			delete(m.links, l)
		}
	}
	m.links[link{node, anyNode}] = linkState{cut: cut}
	m.links[link{anyNode, node}] = linkState{cut: cut}
	m.wake()
}

const anyNode = -1 << 31

func (m *Mem) setLink(from, to int32, f func(*linkState)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(from, to)
	f(&s)
	// An explicit state of the pair overrides an isolation of either
	// node, so healing one link of an isolated node opens just that one.
	m.links[link{from, to}] = s
	m.wake()
}

// state is the link from → to as writes and reads see it. m.mu is held.
func (m *Mem) state(from, to int32) linkState {
	s, explicit := m.links[link{from, to}]
	if explicit {
		return s
	}
	if m.links[link{from, anyNode}].cut || m.links[link{anyNode, to}].cut {
		return linkState{cut: true}
	}
	return s
}

func (m *Mem) wake() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Disconnect closes every open connection between a and b.
func (m *Mem) Disconnect(a, b int32) {
	m.mu.Lock()
	var victims []*memConn
	for c := range m.conns {
		if (c.local == a && c.remote == b) || (c.local == b && c.remote == a) {
			victims = append(victims, c)
		}
	}
	m.mu.Unlock()
	for _, c := range victims {
		_ = c.Close()
	}
}

type memNode struct {
	m  *Mem
	id int32
}

func (n memNode) Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("network: listen %q: %w", addr, err)
	}
	m := n.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if port == "0" {
		m.nextPort++
		port = strconv.Itoa(m.nextPort)
	}
	addr = net.JoinHostPort(host, port)
	if _, taken := m.listeners[addr]; taken {
		return nil, fmt.Errorf("network: listen %s: address already in use", addr)
	}
	l := &memListener{m: m, node: n.id, addr: memAddr(addr), accept: make(chan *memConn), done: make(chan struct{})}
	m.listeners[addr] = l
	return l, nil
}

func (n memNode) Dial(ctx context.Context, addr string) (net.Conn, error) {
	m := n.m
	m.mu.Lock()
	l := m.listeners[addr]
	if l == nil || m.state(n.id, l.node).cut || m.state(l.node, n.id).cut {
		m.mu.Unlock()
		return nil, fmt.Errorf("network: dial %s from node %d: %w", addr, n.id, ErrUnreachable)
	}
	m.nextPort++
	local := memAddr(net.JoinHostPort("mem-node-"+strconv.Itoa(int(n.id)), strconv.Itoa(m.nextPort)))
	up := newHalf(m, n.id, l.node)   // dialer → listener
	down := newHalf(m, l.node, n.id) // listener → dialer
	client := newConn(m, n.id, l.node, local, l.addr, down, up)
	server := newConn(m, l.node, n.id, l.addr, local, up, down)
	m.conns[client] = struct{}{}
	m.conns[server] = struct{}{}
	m.mu.Unlock()
	select {
	case l.accept <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	_ = client.Close()
	_ = server.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("network: dial %s: %w", addr, ErrUnreachable)
}

type memAddr string

func (memAddr) Network() string  { return "mem" }
func (a memAddr) String() string { return string(a) }

type memListener struct {
	m      *Mem
	node   int32
	addr   memAddr
	accept chan *memConn
	once   sync.Once
	done   chan struct{}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		l.m.mu.Lock()
		delete(l.m.listeners, string(l.addr))
		l.m.mu.Unlock()
		close(l.done)
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

// half is one direction of a connection: what from wrote and to has not
// read yet.
type half struct {
	m        *Mem
	from, to int32

	mu       sync.Mutex
	chunks   []chunk
	closed   bool // the writer closed: EOF once drained
	broken   bool // the reader closed: writes fail
	readable chan struct{}
}

type chunk struct {
	data []byte
	at   time.Time // when it may be delivered
}

func newHalf(m *Mem, from, to int32) *half {
	return &half{m: m, from: from, to: to, readable: make(chan struct{})}
}

func (h *half) notify() {
	close(h.readable)
	h.readable = make(chan struct{})
}

func (h *half) write(b []byte) (int, error) {
	h.m.mu.Lock()
	delay := h.m.state(h.from, h.to).delay
	h.m.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.broken {
		return 0, io.ErrClosedPipe
	}
	h.chunks = append(h.chunks, chunk{data: append([]byte(nil), b...), at: time.Now().Add(delay)})
	h.notify()
	return len(b), nil
}

// read waits for deliverable bytes, EOF, the reader's close or the
// deadline.
func (h *half) read(p []byte, deadline func() (time.Time, <-chan struct{}), localClosed <-chan struct{}) (int, error) {
	for {
		h.m.mu.Lock()
		cut := h.m.state(h.from, h.to).cut
		changed := h.m.changed
		h.m.mu.Unlock()

		h.mu.Lock()
		var wait time.Duration = -1
		if len(h.chunks) > 0 && !cut {
			c := &h.chunks[0]
			if d := time.Until(c.at); d > 0 {
				wait = d
			} else {
				n := copy(p, c.data)
				c.data = c.data[n:]
				if len(c.data) == 0 {
					h.chunks = h.chunks[1:]
				}
				h.mu.Unlock()
				return n, nil
			}
		} else if len(h.chunks) == 0 && h.closed {
			h.mu.Unlock()
			return 0, io.EOF
		}
		readable := h.readable
		h.mu.Unlock()

		dl, dlChanged := deadline()
		var timer <-chan time.Time
		if !dl.IsZero() {
			until := time.Until(dl)
			if until <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			if wait < 0 || until < wait {
				wait = until
			}
		}
		var t *time.Timer
		if wait >= 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		closed := false
		select {
		case <-readable:
		case <-changed:
		case <-dlChanged:
		case <-timer:
		case <-localClosed:
			closed = true
		}
		if t != nil {
			t.Stop()
		}
		if closed {
			return 0, net.ErrClosed
		}
	}
}

type memConn struct {
	m                     *Mem
	local, remote         int32
	localAddr, remoteAddr memAddr
	in, out               *half

	mu         sync.Mutex
	readDL     time.Time
	dlChanged  chan struct{}
	closedOnce sync.Once
	closed     chan struct{}
}

func newConn(m *Mem, local, remote int32, localAddr, remoteAddr memAddr, in, out *half) *memConn {
	return &memConn{
		m: m, local: local, remote: remote, localAddr: localAddr, remoteAddr: remoteAddr, in: in, out: out,
		dlChanged: make(chan struct{}), closed: make(chan struct{}),
	}
}

func (c *memConn) Read(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.in.read(p, c.deadline, c.closed)
}

func (c *memConn) deadline() (time.Time, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readDL, c.dlChanged
}

func (c *memConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.out.write(p)
}

// Close ends both directions: the peer reads EOF after what was written,
// and its writes fail.
func (c *memConn) Close() error {
	c.closedOnce.Do(func() {
		close(c.closed)
		c.out.mu.Lock()
		c.out.closed = true
		c.out.notify()
		c.out.mu.Unlock()
		c.in.mu.Lock()
		c.in.broken = true
		c.in.notify()
		c.in.mu.Unlock()
		c.m.mu.Lock()
		delete(c.m.conns, c)
		c.m.mu.Unlock()
	})
	return nil
}

func (c *memConn) LocalAddr() net.Addr  { return c.localAddr }
func (c *memConn) RemoteAddr() net.Addr { return c.remoteAddr }

func (c *memConn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDL = t
	close(c.dlChanged)
	c.dlChanged = make(chan struct{})
	return nil
}

// SetWriteDeadline has nothing to bound: writes never block.
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
