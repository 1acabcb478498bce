package wire

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// growAsync runs c.grow(n) in a goroutine and returns its result channel.
func growAsync(c *claim, n int64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- c.grow(context.Background(), nil, n) }()
	return done
}

func requireBlocked(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned %v; it should wait", what, err)
	case <-time.After(100 * time.Millisecond): // an absence, never an ordering
	}
}

func requireGranted(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		require.NoError(t, err, what)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still waits", what)
	}
}

// Readers wait for room; a frame that starts waits for whole frames to be
// answered; and when every reader holding part of a frame waits, the last
// to ask goes on past the limit, so that frames always complete.
func TestBudgetNeverDeadlocks(t *testing.T) {
	b := newBudget(100)
	a, c := &claim{b: b}, &claim{b: b}
	ctx := context.Background()
	require.NoError(t, a.grow(ctx, nil, 60))
	require.NoError(t, c.grow(ctx, nil, 40))
	assert.Equal(t, int64(100), b.inUse())

	aMore := growAsync(a, 10)
	requireBlocked(t, aMore, "a's growth while c may still finish")
	// c needs more too: every holder would wait, so c goes on.
	require.NoError(t, c.grow(ctx, nil, 30))
	require.NoError(t, c.grow(ctx, nil, 30), "the privileged reader keeps going")
	requireBlocked(t, aMore, "a, while c is privileged")
	assert.Equal(t, int64(160), b.inUse(), "past the limit by part of one frame")

	// c's frame is whole: a is now the only holder, and waits alone.
	cFrame := c.done()
	requireGranted(t, aMore, "a, the only holder left")
	assert.Equal(t, int64(170), b.inUse())

	// A new frame (no bytes held yet) waits for memory to be released.
	fresh := &claim{b: b}
	next := growAsync(fresh, 10)
	requireBlocked(t, next, "a new frame while the budget is spent")
	b.release(cFrame) // c's request was answered
	requireGranted(t, next, "a new frame once the budget has room")
	b.release(a.done())
	b.release(fresh.done())
	assert.Equal(t, int64(0), b.inUse())
}

// An empty budget lets a frame start whatever the limit, and waiting
// stops when the connection ends.
func TestBudgetEdges(t *testing.T) {
	b := newBudget(10)
	a := &claim{b: b}
	require.NoError(t, a.grow(context.Background(), nil, 64), "the first chunk of a frame when nothing is in use")

	ctx, cancel := context.WithCancelCause(context.Background())
	fresh := &claim{b: b}
	done := make(chan error, 1)
	go func() { done <- fresh.grow(ctx, nil, 1) }()
	requireBlocked(t, done, "a frame while the budget is spent")
	closed := errors.New("connection closed")
	cancel(closed)
	select {
	case err := <-done:
		require.ErrorIs(t, err, closed)
	case <-time.After(10 * time.Second):
		t.Fatal("grow did not give up when its connection ended")
	}
	assert.Equal(t, int64(0), fresh.done())

	stop := make(chan struct{})
	go func() { done <- fresh.grow(context.Background(), stop, 1) }()
	close(stop)
	require.ErrorIs(t, <-done, ErrServerClosed)
	b.release(a.done())
	assert.Equal(t, int64(0), b.inUse())

	unbounded := newBudget(-1)
	u := &claim{b: unbounded}
	require.NoError(t, u.grow(context.Background(), nil, 1<<40))
	assert.Equal(t, int64(1<<40), unbounded.inUse(), "accounted all the same")
}
