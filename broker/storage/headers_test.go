package storage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseBatchHeadersMatchesParseBatches(t *testing.T) {
	raw := append(simpleBatch(t, 3, 1000), simpleBatch(t, 2, 2000)...)
	full, err := ParseBatches(raw)
	require.NoError(t, err)
	headers, err := ParseBatchHeaders(raw)
	require.NoError(t, err)
	require.Equal(t, full, headers)

	_, err = ParseBatchHeaders(raw[:len(raw)-1])
	require.ErrorIs(t, err, ErrCorruptBatch)
	empty, err := ParseBatchHeaders(nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}
