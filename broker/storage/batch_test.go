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

// The format's errors are the log's sentinels (the handler maps them to
// Kafka codes); the cases themselves are broker/recordbatch's tests.
func TestParseBatchesErrors(t *testing.T) {
	good := simpleBatch(t, 2, 1000)
	_, err := ParseBatches(nil)
	require.ErrorIs(t, err, ErrCorruptBatch)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	_, err = ParseBatches(bad)
	require.ErrorIs(t, err, ErrCorruptBatch)
	bad = append([]byte(nil), good...)
	bad[16] = 1 // magic
	_, err = ParseBatches(bad)
	require.ErrorIs(t, err, ErrInvalidMagic)
}
