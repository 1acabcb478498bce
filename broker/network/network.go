// Package network is the seam every inter-broker connection goes through:
// the controller quorum's Raft traffic, controller RPCs and replica fetches
// dial and accept through one Network per node. TCP is the real one; Mem is
// its in-memory twin, in which a test can cut or delay any directed link
// between two nodes and heal it again, to partition a cluster on purpose.
//
// Client connections (the Kafka listener) do not go through it: clients
// live outside the cluster and reach it over real sockets.
package network

import (
	"context"
	"errors"
	"net"
)

// Network dials and listens for one node.
type Network interface {
	// Listen accepts connections at addr (host:port). With TCP, port 0
	// picks a free port; the listener's Addr says which.
	Listen(addr string) (net.Listener, error)
	// Dial connects to the node listening at addr.
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// ErrUnreachable: the link to the address is cut, or nobody listens there.
var ErrUnreachable = errors.New("network: unreachable")

// TCP is the real network.
type TCP struct{}

// Listen listens on TCP.
func (TCP) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Dial dials TCP.
func (TCP) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
