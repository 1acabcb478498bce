package network

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMuxHandsEachProtocolItsConnections(t *testing.T) {
	m := NewMem()
	ln, err := m.Node(1).Listen("10.0.0.1:9093")
	require.NoError(t, err)
	mux := NewMux(ln)
	defer mux.Close()
	raftL, err := mux.Listen(ProtoRaft)
	require.NoError(t, err)
	kafkaL, err := mux.Listen(ProtoKafka)
	require.NoError(t, err)
	_, err = mux.Listen(ProtoRaft)
	require.Error(t, err, "one listener per protocol")

	for _, tc := range []struct {
		tag byte
		l   net.Listener
	}{{ProtoRaft, raftL}, {ProtoKafka, kafkaL}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		c, err := DialProto(ctx, m.Node(2), "10.0.0.1:9093", tc.tag)
		cancel()
		require.NoError(t, err)
		_, err = c.Write([]byte("hi"))
		require.NoError(t, err)
		s, err := tc.l.Accept()
		require.NoError(t, err)
		assert.Equal(t, "hi", readN(t, s, 2), "the tag is consumed, the rest is the protocol's")
		_ = c.Close()
		_ = s.Close()
	}
}

func TestMuxClosesUnknownProtocols(t *testing.T) {
	m := NewMem()
	ln, err := m.Node(1).Listen("10.0.0.1:9093")
	require.NoError(t, err)
	mux := NewMux(ln)
	defer mux.Close()
	c, err := DialProto(context.Background(), m.Node(2), "10.0.0.1:9093", 'Z')
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "closed by the mux")
}

func TestMuxCloseStopsEveryListener(t *testing.T) {
	ln, err := TCP{}.Listen("127.0.0.1:0")
	require.NoError(t, err)
	mux := NewMux(ln)
	l, err := mux.Listen(ProtoKafka)
	require.NoError(t, err)
	require.NoError(t, mux.Close())
	_, err = l.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
	_, err = mux.Listen(ProtoRaft)
	assert.ErrorIs(t, err, net.ErrClosed)
}
