package partition

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch/recordbatchtest"
)

// While a batch is being validated (and a compressed one decompressed), no
// lock of the partition or the manager is held: produces to another
// partition and to the same one append and commit meanwhile. The bomb's
// validation is held inside Produce by testHookValidating until both have
// committed; they could not if validation held appendMu, mu or the
// manager's lock. Then the bomb is refused and nothing of it is stored.
func TestValidationHoldsNoLock(t *testing.T) {
	mgr := newManager(fs.NewMem())
	defer mgr.Close()
	require.NoError(t, mgr.Apply(nil, image(t, nil, "t", 2, map[string]string{"max.message.bytes": "4000000"})))
	p0, p1 := mgr.Get("t", 0), mgr.Get("t", 1)

	bomb, err := recordbatchtest.Bomb(1, 1<<30) // 1 GiB of zeros in a record, gzip
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	testHookValidating = func(p *Partition) {
		if p == p0 && first { // the bomb's Produce, the first to p0
			first = false
			close(entered)
			<-release
		}
	}
	defer func() { testHookValidating = nil }()

	refused := make(chan error, 1)
	go func() {
		_, err := p0.Produce(bomb, time.Now(), 11)
		refused <- err
	}()
	<-entered

	ctx := context.Background()
	a1, err := p1.Produce(batch(3), time.Now(), 11)
	require.NoError(t, err)
	require.NoError(t, p1.WaitCommitted(ctx, a1, 10*time.Second))
	a0, err := p0.Produce(batch(2), time.Now(), 11)
	require.NoError(t, err)
	require.NoError(t, p0.WaitCommitted(ctx, a0, 10*time.Second))
	require.Equal(t, int64(0), a0.FirstOffset)

	close(release)
	require.ErrorIs(t, <-refused, ErrRecordsTooLarge)
	require.Equal(t, int64(2), p0.LogEndOffset(), "nothing of the bomb was appended")
	require.Equal(t, int64(3), p1.LogEndOffset())
	require.Less(t, recordbatchtest.HeapAfterGC(), uint64(256<<20), "nothing of the bomb is held")
}
