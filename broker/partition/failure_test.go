package partition

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/storage"
	"github.com/stretchr/testify/require"
)

// A failed fsync fails the produce that waited for it, every later append
// and sync of that partition, never moves the high watermark past what was
// durable, and tells OnStorageFailure once.
func TestFsyncFailureIsReportedOnceAndNeverAcknowledged(t *testing.T) {
	m := fs.NewMem()
	mgr := newManager(m)
	var mu sync.Mutex
	var reported []error
	mgr.OnStorageFailure = func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 2, nil)))
	p, other := mgr.Get("t", 0), mgr.Get("t", 1)

	a, err := p.Append(batch(2), time.Now())
	require.NoError(t, err)
	require.NoError(t, p.WaitCommitted(context.Background(), a, time.Second))
	require.Equal(t, int64(2), p.HighWatermark())
	a, err = other.Append(batch(1), time.Now())
	require.NoError(t, err)
	require.NoError(t, other.WaitCommitted(context.Background(), a, time.Second))
	require.Empty(t, reported, "no failure yet")

	eio := errors.New("input/output error")
	m.FailSync(eio)
	a, err = p.Append(batch(3), time.Now())
	require.NoError(t, err, "the write itself succeeds")
	err = p.WaitCommitted(context.Background(), a, time.Second)
	require.ErrorIs(t, err, storage.ErrLogFailed)
	require.ErrorIs(t, err, eio)
	require.Equal(t, int64(2), p.HighWatermark(), "what the failed fsync covered is never committed")
	recs, hw, err := p.Read(2, 1<<20, true)
	require.NoError(t, err)
	require.Empty(t, recs, "nor visible")
	require.Equal(t, int64(2), hw)

	m.FailSync(nil) // the disk "recovers": the log stays failed
	_, err = p.Append(batch(1), time.Now())
	require.ErrorIs(t, err, storage.ErrLogFailed, "a failed log takes no appends")
	require.ErrorIs(t, p.Flush(), storage.ErrLogFailed)
	require.ErrorIs(t, p.WaitCommitted(context.Background(), a, time.Second), storage.ErrLogFailed, "nor a retry's wait")

	// Another partition's failure is not reported again.
	m.FailSync(eio)
	a, err = other.Append(batch(1), time.Now())
	require.NoError(t, err)
	require.ErrorIs(t, other.WaitCommitted(context.Background(), a, time.Second), storage.ErrLogFailed)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reported, 1, "OnStorageFailure fires once")
	require.ErrorIs(t, reported[0], storage.ErrLogFailed)
	require.ErrorIs(t, reported[0], eio)
}

// Errors that are not the log's (a batch too large, a closed partition)
// are not storage failures.
func TestOtherErrorsAreNotStorageFailures(t *testing.T) {
	m := fs.NewMem()
	mgr := newManager(m)
	fired := false
	mgr.OnStorageFailure = func(error) { fired = true }
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 1, map[string]string{"max.message.bytes": "100"})))
	p := mgr.Get("t", 0)
	_, err := p.Append(batch(20), time.Now())
	require.ErrorIs(t, err, ErrMessageTooLarge)
	require.NoError(t, mgr.Close())
	_, err = p.Append(batch(1), time.Now())
	require.Error(t, err)
	require.False(t, fired)
}
