package producerid

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeAllocator hands out consecutive blocks, or fails.
type fakeAllocator struct {
	next   int64
	calls  int
	failed error
}

func (a *fakeAllocator) AllocateProducerIDs(_ int32, n int64) (int64, error) {
	a.calls++
	if a.failed != nil {
		return 0, a.failed
	}
	first := a.next
	a.next += n
	return first, nil
}

func TestIdsComeFromBlocks(t *testing.T) {
	a := &fakeAllocator{next: 5000}
	m := New(a, 0)
	m.blockSize = 3
	var got []int64
	for i := 0; i < 7; i++ {
		id, epoch, err := m.Init(-1, -1)
		require.NoError(t, err)
		require.Zero(t, epoch)
		got = append(got, id)
	}
	require.Equal(t, []int64{5000, 5001, 5002, 5003, 5004, 5005, 5006}, got)
	require.Equal(t, 3, a.calls, "a new block only when the last is used up")

	a.failed = errors.New("disk full")
	m.next = m.end
	_, _, err := m.Init(-1, -1)
	require.ErrorIs(t, err, ErrNoBlock)
}

func TestEpochBumps(t *testing.T) {
	m := New(&fakeAllocator{}, 0)
	id, epoch, err := m.Init(-1, -1)
	require.NoError(t, err)
	require.Equal(t, int16(0), epoch)

	// Order matters, so the steps run in sequence.
	steps := []struct {
		name      string
		epoch     int16
		wantEpoch int16
		wantErr   error
	}{
		{"bump current", 0, 1, nil},
		{"retry of the same bump", 0, 1, nil},
		{"bump again", 1, 2, nil},
		{"stale epoch", 0, 0, ErrInvalidProducerEpoch},
		{"future epoch", 9, 0, ErrInvalidProducerEpoch},
		{"current still bumps", 2, 3, nil},
	}
	for _, s := range steps {
		gotID, gotEpoch, err := m.Init(id, s.epoch)
		if s.wantErr != nil {
			require.ErrorIs(t, err, s.wantErr, s.name)
			continue
		}
		require.NoError(t, err, s.name)
		require.Equal(t, id, gotID, s.name)
		require.Equal(t, s.wantEpoch, gotEpoch, s.name)
	}

	// An id the manager never handed out (or forgot, or handed out before a
	// restart) gets a new id: Kafka's answer for idempotent producers.
	other, epoch, err := m.Init(777, 4)
	require.NoError(t, err)
	require.NotEqual(t, int64(777), other)
	require.NotEqual(t, id, other)
	require.Zero(t, epoch)

	// An exhausted epoch gets a new id.
	m.known[id] = epochs{current: math.MaxInt16, previous: math.MaxInt16 - 1}
	fresh, epoch, err := m.Init(id, math.MaxInt16)
	require.NoError(t, err)
	require.NotEqual(t, id, fresh)
	require.Zero(t, epoch)
}

func TestForgetsOldestIds(t *testing.T) {
	m := New(&fakeAllocator{}, 0)
	first, _, err := m.Init(-1, -1)
	require.NoError(t, err)
	for i := 0; i < maxKnown; i++ {
		_, _, err := m.Init(-1, -1)
		require.NoError(t, err)
	}
	require.Len(t, m.known, maxKnown)
	id, epoch, err := m.Init(first, 0)
	require.NoError(t, err)
	require.NotEqual(t, first, id, "a forgotten id gets a new one, not a bump")
	require.Zero(t, epoch)
}
