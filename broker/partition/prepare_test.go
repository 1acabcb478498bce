package partition

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
)

// TestPrepareRefusesPartitionsThatCannotOpen: Prepare opens the logs of a
// new topic's partitions; if one cannot be opened it deletes the ones it
// opened and returns ErrOpenLog, leaving nothing of the topic behind.
func TestPrepareRefusesPartitionsThatCannotOpen(t *testing.T) {
	mem := fs.NewMem()
	mgr := newManager(mem)
	defer mgr.Close()
	im := image(t, nil, "ok", 1, nil)
	require.NoError(t, mgr.Apply(nil, im))

	// A file where partition 1's folder should go.
	require.NoError(t, mem.MkdirAll("/data", 0o755))
	f, err := mem.OpenFile("/data/doomed-1", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	next := image(t, im, "doomed", 3, nil)
	err = mgr.Prepare(im, next)
	require.ErrorIs(t, err, ErrOpenLog)
	for _, dir := range []string{"/data/doomed-0", "/data/doomed-2"} {
		_, err := mem.Stat(dir)
		assert.True(t, fs.IsNotExist(err), "%s is not left behind", dir)
	}
	assert.Nil(t, mgr.Get("doomed", 0))
	assert.Empty(t, mgr.prepared)

	// Once it can, the change is prepared, and Apply adopts the logs.
	require.NoError(t, mem.Remove("/data/doomed-1"))
	require.NoError(t, mgr.Prepare(im, next))
	assert.Nil(t, mgr.Get("doomed", 0), "not served before it is committed")
	prepared := mgr.prepared[key{"doomed", 2}]
	require.NotNil(t, prepared)
	require.NoError(t, mgr.Apply(im, next))
	assert.Same(t, prepared, mgr.Get("doomed", 2))
	assert.Empty(t, mgr.prepared)

	// A prepared change that is abandoned leaves nothing either.
	third := image(t, next, "abandoned", 2, nil)
	require.NoError(t, mgr.Prepare(next, third))
	_, err = mem.Stat("/data/abandoned-1")
	require.NoError(t, err)
	mgr.Abandon(next)
	_, err = mem.Stat("/data/abandoned-1")
	assert.True(t, fs.IsNotExist(err))
	assert.Empty(t, mgr.prepared)
}
