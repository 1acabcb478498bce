package wire

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// pending is a request that has been handed to the handler and whose
// response is still to be written, in order, by the connection's writer.
type pending struct {
	key     int16 // key of the response
	version int16 // version to encode the response at
	corr    int32
	reply   Reply
	charge  int64 // the frame's bytes charged to the server's budget
}

// handleFrame is the whole per-request path from a frame to the writer's
// queue: parse, answer an unsupported ApiVersions version (KIP-511), or call
// the handler. The connection loop calls it under a recover guard;
// FuzzRequest calls it bare, so that a panic is found rather than hidden.
func handleFrame(ctx context.Context, frame []byte, h Handler, info ConnInfo) (pending, error) {
	req, err := ParseRequest(frame, h)
	if errors.Is(err, ErrApiVersionsFallback) {
		return pending{
			key:     apiVersionsKey,
			version: 0,
			corr:    req.CorrelationID,
			reply:   Ready(UnsupportedApiVersionsResponse(h), nil),
		}, nil
	}
	if err != nil {
		return pending{}, err
	}
	req.Conn = info
	reply := h.Handle(ctx, req)
	if reply == nil {
		return pending{}, fmt.Errorf("%w: nil Reply for key %d", ErrBadResponse, req.Key)
	}
	return pending{key: req.Key, version: req.Version, corr: req.CorrelationID, reply: reply}, nil
}

// knownReady reports whether Wait is known not to block. The writer flushes
// what it has buffered before any other Wait, so that a response already
// written is not held back behind a long poll.
func knownReady(r Reply) bool {
	_, ok := r.(readyReply)
	return ok
}

// PanicError is the reason a connection was closed after a panic in parsing,
// in the handler, or in encoding its response. wire recovers so that bad
// bytes from one client (or a handler bug they trigger) cost one connection,
// not the process.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("wire: panic: %v", e.Value) }

// guard runs fn, turning a panic into a *PanicError.
func guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}
