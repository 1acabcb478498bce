// Package recorder records what kgo clients see into a linearizability
// history: each call with its inputs, its call and return times on one
// monotonic clock, and its outcome (ok, a definite failure, or
// indeterminate), as JSON lines while the run goes and in memory for the
// checkers.
//
// A Client wraps one *kgo.Client and must be used by one goroutine at a
// time: a client's operations are sequential, which the checkers rely on
// (its polls and sends are judged in order). A group member (GroupClient)
// also records what kgo does for it in the background — its assignments,
// revocations and committed-offset fetches — under its client id; those
// may overlap its calls, and the checkers order them by what kgo
// guarantees (see the linearizability package).
package recorder

import (
	"io"
	"sync"
	"time"

	"github.com/ordo-broker/ordo/linearizability"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Recorder collects one history. It is safe for concurrent use.
type Recorder struct {
	start time.Time // the clock: nanoseconds since start, monotonic

	declaration *string // see AllProducersRecorded

	mu         sync.Mutex
	ops        linearizability.History
	out        *linearizability.Writer
	nextClient int
}

// Option shapes a Recorder.
type Option func(*Recorder)

// AllProducersRecorded makes the history declare, on its first line, that
// every producer writing to its topics is recorded by this Recorder
// (description may name the workload and its seed). The checkers then
// report a value no recorded producer sent to its partition
// (phantom-value, wrong-partition) instead of taking it for an unrecorded
// client's write. Use it only when nothing else writes to the topics.
func AllProducersRecorded(description string) Option {
	return func(r *Recorder) { r.declaration = &description }
}

// New starts a history. When out is not nil every operation is written to
// it as a JSON line as soon as it completes.
func New(out io.Writer, opts ...Option) *Recorder {
	r := &Recorder{start: time.Now()}
	if out != nil {
		r.out = linearizability.NewWriter(out)
	}
	for _, o := range opts {
		o(r)
	}
	if r.declaration != nil {
		r.record(linearizability.Declaration(*r.declaration))
	}
	return r
}

// Now is the history's clock: nanoseconds since New, from Go's monotonic
// clock, so wall-clock jumps cannot reorder operations.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// record appends a completed operation, giving it its index.
func (r *Recorder) record(op linearizability.Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = len(r.ops)
	r.ops = append(r.ops, op)
	if r.out != nil {
		_ = r.out.Write(op) // the error sticks; Flush reports it
	}
}

// History returns a copy of the operations recorded so far.
func (r *Recorder) History() linearizability.History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(linearizability.History(nil), r.ops...)
}

// Flush writes out buffered JSON lines and reports the first write error.
func (r *Recorder) Flush() error {
	if r.out == nil {
		return nil
	}
	return r.out.Flush()
}

// Fault records a fault the test injects, drawn on the visualization: call
// it when the fault begins and call the returned function when it ends.
func (r *Recorder) Fault(description string) (end func()) {
	r.mu.Lock()
	id := r.nextClient
	r.nextClient++
	r.mu.Unlock()
	call := r.Now()
	return func() {
		r.record(linearizability.Op{Client: id, Kind: linearizability.KindFault, Call: call, Return: r.Now(),
			Outcome: linearizability.OK, Description: description})
	}
}

// Client is one recorded kgo client.
type Client struct {
	r   *Recorder
	id  int
	cl  *kgo.Client
	adm *kadm.Client

	group *member // set for group members (GroupClient)
}

// Client wraps cl; its operations are recorded under the next client id.
// A producing client must be built with
// kgo.RecordPartitioner(kgo.ManualPartitioner()), so that a record goes to
// the partition it names.
func (r *Recorder) Client(cl *kgo.Client) *Client {
	c := r.newClient()
	c.cl, c.adm = cl, kadm.NewClient(cl)
	return c
}

// newClient takes the next client id.
func (r *Recorder) newClient() *Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &Client{r: r, id: r.nextClient}
	r.nextClient++
	return c
}

// ID is the client's id in the history.
func (c *Client) ID() int { return c.id }

// Kgo is the wrapped client, for what the recorder does not cover.
func (c *Client) Kgo() *kgo.Client { return c.cl }

// begin starts an operation at the current time.
func (c *Client) begin(kind linearizability.Kind) linearizability.Op {
	return linearizability.Op{Client: c.id, Kind: kind, Call: c.r.Now()}
}

// end completes an operation: its return time, outcome and error.
func (c *Client) end(op *linearizability.Op, err error) {
	op.Return = c.r.Now()
	op.Outcome = Classify(err)
	if err != nil {
		op.Error = err.Error()
	}
}
