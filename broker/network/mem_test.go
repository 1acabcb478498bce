package network

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pair listens on node 2 and dials it from node 1.
func pair(t *testing.T, m *Mem) (client, server net.Conn) {
	t.Helper()
	l, err := m.Node(2).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	client, err = m.Node(1).Dial(context.Background(), l.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client, server
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
	buf := make([]byte, n)
	_, err := io.ReadFull(c, buf)
	require.NoError(t, err)
	return string(buf)
}

func TestMemDeliversBothWaysInOrder(t *testing.T) {
	client, server := pair(t, NewMem())
	_, err := client.Write([]byte("hello "))
	require.NoError(t, err)
	_, err = client.Write([]byte("world"))
	require.NoError(t, err)
	assert.Equal(t, "hello world", readN(t, server, 11))
	_, err = server.Write([]byte("back"))
	require.NoError(t, err)
	assert.Equal(t, "back", readN(t, client, 4))
}

func TestMemCloseGivesEOFAfterTheDataAndFailsWrites(t *testing.T) {
	client, server := pair(t, NewMem())
	_, err := client.Write([]byte("last"))
	require.NoError(t, err)
	require.NoError(t, client.Close())
	assert.Equal(t, "last", readN(t, server, 4))
	_, err = server.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
	_, err = server.Write([]byte("x"))
	assert.Error(t, err, "the peer is gone")
	_, err = client.Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed)
}

func TestMemReadDeadline(t *testing.T) {
	client, _ := pair(t, NewMem())
	require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	_, err := client.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.True(t, errors.As(err, &ne))
	assert.True(t, ne.Timeout())
}

// A cut link holds what is sent over it until it heals; the other direction
// keeps flowing.
func TestMemCutHoldsOneDirectionUntilHealed(t *testing.T) {
	m := NewMem()
	client, server := pair(t, m)
	m.Cut(1, 2)
	_, err := client.Write([]byte("held"))
	require.NoError(t, err, "writes never block")
	require.NoError(t, server.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = server.Read(make([]byte, 4))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing crosses a cut link")

	_, err = server.Write([]byte("flows"))
	require.NoError(t, err)
	assert.Equal(t, "flows", readN(t, client, 5), "the other direction is not cut")

	done := make(chan string)
	go func() { done <- readN(t, server, 4) }()
	m.Heal(1, 2)
	assert.Equal(t, "held", <-done)
}

func TestMemDialOverACutLinkFails(t *testing.T) {
	m := NewMem()
	l, err := m.Node(2).Listen("10.0.0.2:9093")
	require.NoError(t, err)
	defer l.Close()
	m.Cut(2, 1) // the handshake needs both directions
	_, err = m.Node(1).Dial(context.Background(), "10.0.0.2:9093")
	assert.ErrorIs(t, err, ErrUnreachable)
	_, err = m.Node(1).Dial(context.Background(), "10.0.0.9:9093")
	assert.ErrorIs(t, err, ErrUnreachable, "nobody listens there")
}

func TestMemIsolateAndHealAll(t *testing.T) {
	m := NewMem()
	client, server := pair(t, m)
	m.Isolate(2)
	_, err := client.Write([]byte("a"))
	require.NoError(t, err)
	_, err = server.Write([]byte("b"))
	require.NoError(t, err)
	for _, c := range []net.Conn{client, server} {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err = c.Read(make([]byte, 1))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	}
	m.HealAll()
	assert.Equal(t, "a", readN(t, server, 1))
	assert.Equal(t, "b", readN(t, client, 1))
}

// Healing one link of an isolated node opens just that link.
func TestMemHealOneLinkOfAnIsolatedNode(t *testing.T) {
	m := NewMem()
	client, server := pair(t, m)
	m.Isolate(2)
	m.Heal(1, 2)
	_, err := client.Write([]byte("in"))
	require.NoError(t, err)
	assert.Equal(t, "in", readN(t, server, 2))
	_, err = server.Write([]byte("out"))
	require.NoError(t, err)
	require.NoError(t, client.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = client.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "2 → 1 is still cut")
}

func TestMemDelay(t *testing.T) {
	m := NewMem()
	client, server := pair(t, m)
	m.Delay(1, 2, 50*time.Millisecond)
	sent := time.Now()
	_, err := client.Write([]byte("late"))
	require.NoError(t, err)
	assert.Equal(t, "late", readN(t, server, 4))
	t.Logf("delivered after %v", time.Since(sent)) // a delay is a lower bound; not asserted on a loaded machine
}

func TestMemDisconnect(t *testing.T) {
	m := NewMem()
	client, server := pair(t, m)
	m.Disconnect(2, 1)
	_, err := server.Read(make([]byte, 1))
	assert.Error(t, err)
	_, err = client.Write([]byte("x"))
	assert.Error(t, err)
}

func TestMemListenerCloseStopsAcceptAndFreesTheAddress(t *testing.T) {
	m := NewMem()
	l, err := m.Node(1).Listen("10.0.0.1:1")
	require.NoError(t, err)
	_, err = m.Node(1).Listen("10.0.0.1:1")
	require.Error(t, err, "address in use")
	require.NoError(t, l.Close())
	_, err = l.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
	l2, err := m.Node(1).Listen("10.0.0.1:1")
	require.NoError(t, err)
	require.NoError(t, l2.Close())
}

func TestTCPRoundTrip(t *testing.T) {
	l, err := TCP{}.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = c.Write([]byte("tcp"))
			_ = c.Close()
		}
	}()
	c, err := TCP{}.Dial(context.Background(), l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "tcp", readN(t, c, 3))
}
