package metadata

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProducerIDsOnlyMoveForward(t *testing.T) {
	im := NewImage("c")
	require.Zero(t, im.NextProducerID)
	next, err := im.Apply(Record{ProducerIDs: &ProducerIDsRecord{Broker: 0, NextProducerID: 1000}})
	require.NoError(t, err)
	require.Equal(t, int64(1000), next.NextProducerID)
	require.Zero(t, im.NextProducerID, "the old image is untouched")

	// Unrelated records keep the counter.
	next, err = next.Apply(Record{Broker: &BrokerRecord{NodeID: 1, Host: "h", Port: 1}})
	require.NoError(t, err)
	require.Equal(t, int64(1000), next.NextProducerID)

	for _, bad := range []int64{1000, 999, 0, -5} {
		_, err := next.Apply(Record{ProducerIDs: &ProducerIDsRecord{NextProducerID: bad}})
		require.Error(t, err, "next producer id %d would hand out ids twice", bad)
	}
}
