// Package wire owns the Kafka wire protocol's framing: it accepts TCP
// connections, reads size-prefixed frames, parses request headers (v1, and v2
// for flexible versions, KIP-482), decodes bodies with kmsg, hands them to a
// Handler, and writes responses back in request order. It bounds what
// clients can hold: connections (max.connections), their idle time
// (connections.max.idle.ms) and the memory of requests being read and
// answered (queued.max.request.bytes, taken only as bytes arrive).
//
// What a request means is not wire's business: that is the Handler's.
package wire

import (
	"context"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request is one decoded request, with the header fields a handler may need.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      *string
	// Body is the decoded request; Body.GetVersion() == Version. Byte
	// fields (such as Produce record batches) may be sub-slices of the
	// frame the request arrived in: wire never reuses a frame, so a
	// handler may keep them.
	Body kmsg.Request
	// Conn identifies the connection the request arrived on.
	Conn ConnInfo
}

// ConnInfo describes a client connection.
type ConnInfo struct {
	ID     uint64
	Remote net.Addr
	Local  net.Addr
}

// Reply is a handler's answer. Handle runs for each request of a connection
// one at a time, in arrival order, so that effects (such as appends to a
// partition) happen in the order the client sent them. The response itself
// may be ready later: Wait blocks until it is. Responses are written in
// request order whatever order they become ready in, as Kafka requires.
type Reply interface {
	// Wait blocks until the response is ready. A nil response with a nil
	// error means "send nothing" (acks=0 produce). A non-nil error closes
	// the connection.
	Wait() (kmsg.Response, error)
}

// Handler serves decoded requests.
type Handler interface {
	// VersionRange reports the versions of key that are implemented; ok is
	// false for keys that are not. wire closes the connection on a request
	// outside the range (what Kafka does), except ApiVersions (KIP-511):
	// wire answers an ApiVersions request of an unsupported version itself,
	// with a v0 body carrying UNSUPPORTED_VERSION (35) and this method's
	// range for key 18, and keeps the connection open; Handle never sees
	// that request. A range wider than kmsg can decode is narrowed to it.
	VersionRange(key int16) (min, max int16, ok bool)
	// Handle serves one request. ctx is cancelled when the connection closes
	// or the server shuts down.
	Handle(ctx context.Context, req *Request) Reply
}

// SizeHinter is implemented by a Reply that can tell, once Wait returned,
// about how many bytes its response encodes to; the writer then sizes its
// buffer once (large fetch responses).
type SizeHinter interface {
	SizeHint() int
}

// Releaser is implemented by a Reply whose response borrows buffers (a
// fetch's record batches): the writer calls Release once the response is
// encoded, and never touches the response again.
type Releaser interface {
	Release()
}

// Ready wraps a response that is ready now.
func Ready(resp kmsg.Response, err error) Reply { return readyReply{resp, err} }

type readyReply struct {
	resp kmsg.Response
	err  error
}

func (r readyReply) Wait() (kmsg.Response, error) { return r.resp, r.err }

// Later returns a Reply whose response is computed by fn when Wait is first
// called (fn runs once, on the connection's writer side). Use it for work
// that may block, such as waiting for a high watermark or a long-poll fetch.
func Later(fn func() (kmsg.Response, error)) Reply { return &laterReply{fn: fn} }

type laterReply struct{ fn func() (kmsg.Response, error) }

func (r *laterReply) Wait() (kmsg.Response, error) { return r.fn() }
