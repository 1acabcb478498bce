package ordotest

import (
	"net"
	"sync"
)

// socket keeps one TCP listener for the whole test and hands its
// connections to the broker incarnation of the moment. A restarted broker
// thus keeps its address without listening again: re-binding a port that
// was just freed races every other socket on the machine for it (an
// outgoing connection may take it as its ephemeral port).
type socket struct {
	ln net.Listener

	mu  sync.Mutex
	cur *incarnation
}

func newSocket(addr string) (*socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &socket{ln: ln}
	go s.forward()
	return s, nil
}

// forward passes accepted connections to the current incarnation; between
// incarnations (a broker that is down) they are closed, as a refused
// connection would be, and clients retry.
func (s *socket) forward() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed at the end of the test
		}
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		if cur == nil {
			_ = c.Close()
			continue
		}
		select {
		case cur.conns <- c:
		case <-cur.done:
			_ = c.Close()
		}
	}
}

// listener returns a net.Listener for the next broker incarnation; the
// broker's Close closes it, which stops only that incarnation's accepts.
func (s *socket) listener() net.Listener {
	inc := &incarnation{addr: s.ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	s.mu.Lock()
	s.cur = inc
	s.mu.Unlock()
	return inc
}

func (s *socket) close() error { return s.ln.Close() }

type incarnation struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (i *incarnation) Accept() (net.Conn, error) {
	select {
	case c := <-i.conns:
		return c, nil
	case <-i.done:
		return nil, net.ErrClosed
	}
}

func (i *incarnation) Close() error {
	i.once.Do(func() { close(i.done) })
	return nil
}

func (i *incarnation) Addr() net.Addr { return i.addr }
