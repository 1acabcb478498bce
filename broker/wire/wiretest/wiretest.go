// Package wiretest helps test code that sits behind wire: it starts a
// wire.Server on loopback, speaks the framing byte by byte, and checks that
// no wire goroutine outlives a test.
package wiretest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/wire"
)

// Timeout bounds every blocking step in this package.
const Timeout = 10 * time.Second

// Start serves h on a loopback port and returns the server and its address.
// Cleanup closes the server and checks that Serve returned ErrServerClosed.
func Start(t testing.TB, cfg wire.Config, h wire.Handler) (*wire.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := wire.NewServer(cfg, h)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for srv.Addr() == nil { // Serve has not registered ln yet
		select {
		case err := <-served:
			t.Fatalf("Serve: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-served:
			if !errors.Is(err, wire.ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(Timeout):
			t.Error("Serve did not return after Close")
		}
	})
	return srv, ln.Addr().String()
}

// Conn is a raw client connection. Every operation has a deadline of Timeout.
type Conn struct {
	t    testing.TB
	nc   net.Conn
	r    *bufio.Reader
	corr int32
	// ClientID is sent in request headers; nil sends a null client id.
	ClientID *string
}

// Dial connects to addr; cleanup closes the connection.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	id := "wiretest"
	return &Conn{t: t, nc: nc, r: bufio.NewReader(nc), ClientID: &id}
}

// Net is the underlying connection.
func (c *Conn) Net() net.Conn { return c.nc }

// Send writes req with the next correlation id and returns that id.
func (c *Conn) Send(req kmsg.Request) int32 {
	c.t.Helper()
	c.corr++
	c.Write(wire.AppendRequest(nil, req, c.corr, c.ClientID))
	return c.corr
}

// Write writes raw bytes.
func (c *Conn) Write(b []byte) {
	c.t.Helper()
	if err := c.nc.SetWriteDeadline(time.Now().Add(Timeout)); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// ReadFrame reads one response frame (without its size prefix) within d.
func (c *Conn) ReadFrame(d time.Duration) ([]byte, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	return wire.ReadFrame(c.r, wire.DefaultMaxFrameBytes)
}

// Recv reads one response and parses it for a request of key and version.
func (c *Conn) Recv(key, version int16) (int32, kmsg.Response) {
	c.t.Helper()
	frame, err := c.ReadFrame(Timeout)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	corr, resp, err := wire.ParseResponse(frame, key, version)
	if err != nil {
		c.t.Fatal(err)
	}
	return corr, resp
}

// RoundTrip sends req and returns its response, checking the correlation id.
func (c *Conn) RoundTrip(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	corr := c.Send(req)
	got, resp := c.Recv(req.Key(), req.GetVersion())
	if got != corr {
		c.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	return resp
}

// RequireClosed checks that the server closes the connection without
// sending anything more.
func (c *Conn) RequireClosed() {
	c.t.Helper()
	if err := c.nc.SetReadDeadline(time.Now().Add(Timeout)); err != nil {
		c.t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open after %v", Timeout)
	}
	// A reset (the server closed with unread data) is a close too.
	if n != 0 {
		c.t.Fatalf("%d bytes received before the close", n)
	}
}

// RequireNoLeaks fails unless every goroutine running wire code (Serve
// loops, connection readers and writers) is gone within Timeout.
func RequireNoLeaks(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		leaked := wireGoroutines()
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d wire goroutines leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wireGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ordo/broker/wire.(*") || strings.Contains(g, "ordo/broker/wire.handleFrame") {
			out = append(out, g)
		}
	}
	return out
}
