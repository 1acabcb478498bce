package controller

import (
	"testing"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/stretchr/testify/require"
)

func TestAllocateProducerIDsNeverRepeats(t *testing.T) {
	m := fs.NewMem()
	c := open(t, m)
	first, err := c.AllocateProducerIDs(0, 10)
	require.NoError(t, err)
	require.Equal(t, int64(0), first)
	first, err = c.AllocateProducerIDs(0, 10)
	require.NoError(t, err)
	require.Equal(t, int64(10), first)
	_, err = c.AllocateProducerIDs(0, 0)
	require.Error(t, err)

	// A clean restart replays the record log.
	require.NoError(t, c.Close())
	c = open(t, m)
	first, err = c.AllocateProducerIDs(0, 5)
	require.NoError(t, err)
	require.Equal(t, int64(20), first)

	// A crash keeps every block that was answered: the record was
	// fsynced before AllocateProducerIDs returned.
	m.Crash(fs.CrashOptions{})
	c = open(t, m)
	first, err = c.AllocateProducerIDs(0, 5)
	require.NoError(t, err)
	require.Equal(t, int64(25), first)
}
