//go:build failpoints

package chaos_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/ordo-broker/ordo/broker/failpoints"
	"github.com/stretchr/testify/require"
)

// TestPlantedFetchStaleHighWatermark: every Fetch answers as if the high
// watermark were 3 offsets older, returning only records below it; the
// fetch-side twin of TestPlantedStaleHighWatermark (ListOffsets stays
// right). Every value read is where it was written, so the static checker
// passes; the readers' leader fetches, which the recorder marks
// linearizable, report a log end that misses writes acknowledged before
// they began: porcupine finds the log not linearizable.
func TestPlantedFetchStaleHighWatermark(t *testing.T) {
	rep := run(t, false, fault{failpoints.FetchStaleHighWatermark, "return(3)"})
	require.True(t, rep.Static.OK(), "content is intact: %v", rep.Static.Counts)
	require.Equal(t, porcupine.Illegal, rep.Log.Result, "a stale high watermark in Fetch is not linearizable")
}
