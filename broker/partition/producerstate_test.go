package partition

import (
	"math"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/stretchr/testify/require"
)

// hdr is the header of a batch of n records from producer pid.
func hdr(pid int64, epoch int16, seq int32, n int32) storage.Batch {
	return storage.Batch{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, NumRecords: n, LastOffsetDelta: n - 1}
}

// appendTo checks batches as one produce payload and, when they pass as
// new, appends them at *next (assigning offsets as the log would).
func appendTo(s *producerStates, next *int64, batches ...storage.Batch) (storage.AppendInfo, bool, error) {
	orig, dup, err := s.check(batches)
	if err != nil || dup {
		return orig, dup, err
	}
	for _, b := range batches {
		b.BaseOffset = *next
		*next = b.LastOffset() + 1
		if b.ProducerID >= 0 {
			s.apply(b, time.Time{})
		}
	}
	return orig, false, nil
}

// TestProducerWindowRules runs scripts of single-batch appends against one
// partition's producer state: each step is accepted, answered as a
// duplicate of the batch at dupOf, or refused with err.
func TestProducerWindowRules(t *testing.T) {
	type step struct {
		b     storage.Batch
		err   error
		dupOf int64 // original first offset; -1 when not a duplicate
	}
	ok := func(b storage.Batch) step { return step{b: b, dupOf: -1} }
	dup := func(b storage.Batch, at int64) step { return step{b: b, dupOf: at} }
	bad := func(b storage.Batch, err error) step { return step{b: b, err: err, dupOf: -1} }

	for name, steps := range map[string][]step{
		"in order": {
			ok(hdr(1, 0, 0, 5)), ok(hdr(1, 0, 5, 5)), ok(hdr(1, 0, 10, 1)),
		},
		"retry of the last batch is a duplicate": {
			ok(hdr(1, 0, 0, 5)), ok(hdr(1, 0, 5, 5)), dup(hdr(1, 0, 5, 5), 5), ok(hdr(1, 0, 10, 1)),
		},
		"every batch of the window is found": {
			ok(hdr(1, 0, 0, 1)), ok(hdr(1, 0, 1, 1)), ok(hdr(1, 0, 2, 1)), ok(hdr(1, 0, 3, 1)), ok(hdr(1, 0, 4, 1)),
			dup(hdr(1, 0, 0, 1), 0), dup(hdr(1, 0, 2, 1), 2), dup(hdr(1, 0, 4, 1), 4),
		},
		"a batch older than the window is out of order": {
			ok(hdr(1, 0, 0, 1)), ok(hdr(1, 0, 1, 1)), ok(hdr(1, 0, 2, 1)), ok(hdr(1, 0, 3, 1)), ok(hdr(1, 0, 4, 1)),
			ok(hdr(1, 0, 5, 1)), bad(hdr(1, 0, 0, 1), ErrOutOfOrderSequence), dup(hdr(1, 0, 1, 1), 1),
		},
		"a gap is out of order": {
			ok(hdr(1, 0, 0, 5)), bad(hdr(1, 0, 6, 1), ErrOutOfOrderSequence), ok(hdr(1, 0, 5, 1)),
		},
		"a partial overlap is not a duplicate": {
			ok(hdr(1, 0, 0, 5)), bad(hdr(1, 0, 0, 3), ErrOutOfOrderSequence), bad(hdr(1, 0, 3, 4), ErrOutOfOrderSequence),
		},
		"an unknown producer must start at 0": {
			bad(hdr(1, 0, 3, 1), ErrUnknownProducerID), ok(hdr(1, 0, 0, 1)),
		},
		"an older epoch is fenced": {
			ok(hdr(1, 1, 0, 1)), bad(hdr(1, 0, 1, 1), ErrInvalidProducerEpoch), bad(hdr(1, 0, 0, 1), ErrInvalidProducerEpoch),
		},
		"a new epoch restarts at 0 and fences the old one": {
			ok(hdr(1, 0, 0, 5)), ok(hdr(1, 1, 0, 2)), bad(hdr(1, 0, 5, 1), ErrInvalidProducerEpoch),
			bad(hdr(1, 0, 0, 5), ErrInvalidProducerEpoch), ok(hdr(1, 1, 2, 1)),
		},
		"a new epoch must start at 0": {
			ok(hdr(1, 0, 0, 5)), bad(hdr(1, 1, 5, 1), ErrOutOfOrderSequence), ok(hdr(1, 0, 5, 1)),
		},
		"a new epoch forgets the old window": {
			ok(hdr(1, 0, 0, 5)), ok(hdr(1, 1, 0, 5)), dup(hdr(1, 1, 0, 5), 5), ok(hdr(1, 1, 5, 1)),
		},
		"producers are independent": {
			ok(hdr(1, 0, 0, 1)), ok(hdr(2, 0, 0, 1)), ok(hdr(1, 0, 1, 1)), dup(hdr(2, 0, 0, 1), 1),
			bad(hdr(2, 0, 2, 1), ErrOutOfOrderSequence), ok(hdr(2, 0, 1, 1)),
		},
		"batches without a producer id are not checked": {
			ok(hdr(-1, -1, -1, 3)), ok(hdr(-1, -1, -1, 3)), ok(hdr(1, 0, 0, 1)),
		},
		"a producer id with a negative sequence or epoch is invalid": {
			bad(hdr(1, 0, -1, 1), ErrInvalidProducerBatch), bad(hdr(1, -1, 0, 1), ErrInvalidProducerBatch),
		},
		"transactional batches are refused": {
			bad(storage.Batch{ProducerID: 1, Attributes: 0x10, NumRecords: 1}, ErrTransactionalBatch),
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newProducerStates()
			var next int64
			for i, st := range steps {
				orig, isDup, err := appendTo(s, &next, st.b)
				if st.err != nil {
					require.ErrorIs(t, err, st.err, "step %d", i)
					continue
				}
				require.NoError(t, err, "step %d", i)
				require.Equal(t, st.dupOf >= 0, isDup, "step %d: duplicate", i)
				if isDup {
					require.Equal(t, st.dupOf, orig.FirstOffset, "step %d: original offset", i)
					require.Equal(t, st.dupOf+int64(st.b.LastOffsetDelta), orig.LastOffset, "step %d", i)
				}
			}
		})
	}
}

func TestSequencesWrapAtMaxInt32(t *testing.T) {
	require.Equal(t, int32(math.MaxInt32), lastSequence(hdr(1, 0, math.MaxInt32-2, 3)))
	require.Equal(t, int32(1), lastSequence(hdr(1, 0, math.MaxInt32, 3)))

	s := newProducerStates()
	b := hdr(1, 0, math.MaxInt32-1, 2) // replayed from the log: the producer is known
	s.apply(b, time.Time{})
	next := int64(2)
	_, _, err := appendTo(s, &next, hdr(1, 0, 1, 1))
	require.ErrorIs(t, err, ErrOutOfOrderSequence)
	_, dup, err := appendTo(s, &next, hdr(1, 0, 0, 3)) // 0, 1, 2
	require.NoError(t, err)
	require.False(t, dup)
	_, _, err = appendTo(s, &next, hdr(1, 0, 3, 1))
	require.NoError(t, err)
}

// TestPayloadOfSeveralBatches: the batches of one produce payload are
// checked in order, each against the state the earlier ones would leave,
// and the payload is accepted or refused whole.
func TestPayloadOfSeveralBatches(t *testing.T) {
	s := newProducerStates()
	var next int64
	_, _, err := appendTo(s, &next, hdr(1, 0, 0, 5), hdr(1, 0, 5, 5), hdr(2, 0, 0, 1))
	require.NoError(t, err)
	require.Equal(t, int64(11), next)

	_, _, err = appendTo(s, &next, hdr(1, 0, 10, 1), hdr(1, 0, 12, 1))
	require.ErrorIs(t, err, ErrOutOfOrderSequence, "a gap after the first batch refuses the payload")
	_, _, err = appendTo(s, &next, hdr(1, 0, 10, 1), hdr(1, 0, 10, 1))
	require.ErrorIs(t, err, ErrOutOfOrderSequence, "a payload repeating its own batch")
	require.Equal(t, int64(11), next, "nothing of a refused payload is appended")

	orig, dup, err := appendTo(s, &next, hdr(1, 0, 0, 5), hdr(1, 0, 5, 5))
	require.NoError(t, err)
	require.True(t, dup, "a retried payload")
	require.Equal(t, int64(0), orig.FirstOffset)
	require.Equal(t, int64(9), orig.LastOffset)

	_, _, err = appendTo(s, &next, hdr(1, 0, 5, 5), hdr(1, 0, 10, 1))
	require.ErrorIs(t, err, ErrInvalidProducerBatch, "a duplicate mixed with a new batch")
	_, _, err = appendTo(s, &next, hdr(1, 0, 5, 5), hdr(-1, -1, -1, 1))
	require.ErrorIs(t, err, ErrInvalidProducerBatch, "a duplicate mixed with a non-idempotent batch")

	_, dup, err = appendTo(s, &next, hdr(1, 0, 10, 1), hdr(1, 0, 11, 2))
	require.NoError(t, err)
	require.False(t, dup)
	require.Equal(t, int64(14), next)
}

func TestExpiredProducersAreForgotten(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newProducerStates()
	s.apply(hdr(1, 0, 0, 1), now.Add(-producerIDExpiration))
	s.apply(hdr(2, 0, 0, 1), now.Add(-producerIDExpiration+time.Minute))
	old := hdr(3, 0, 0, 1)
	old.MaxTimestamp = now.Add(-48 * time.Hour).UnixMilli() // old timestamps do not matter
	s.apply(old, now)

	s.expire(now)
	require.NotContains(t, s.entries, int64(1), "not appended to for the expiration time")
	require.Contains(t, s.entries, int64(2))
	require.Contains(t, s.entries, int64(3))
	_, _, err := s.check([]storage.Batch{hdr(1, 0, 1, 1)})
	require.ErrorIs(t, err, ErrUnknownProducerID, "an expired producer is unknown")

	// maybeExpire looks again only after the check interval.
	s.maybeExpire(now.Add(expirationCheckInterval - time.Second))
	require.Contains(t, s.entries, int64(2))
	s.maybeExpire(now.Add(expirationCheckInterval))
	require.NotContains(t, s.entries, int64(2))

	// A rebuilt state knows no append times: batch timestamps decide.
	s.expireByTimestamp(now)
	require.NotContains(t, s.entries, int64(3))
}
