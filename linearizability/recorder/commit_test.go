package recorder_test

import (
	"context"
	"testing"
	"time"

	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/recorder"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Administrative commits (kadm) against franz-go's kfake cluster; group
// members' commits against the broker are in group_test.go.
func TestRecorderCommitsAgainstKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	require.NoError(t, err)
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	r := recorder.New(nil)
	rc := r.Client(cl)
	got, err := rc.FetchOffsets(ctx, "g", "t", 0, 1)
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: -1, 1: -1}, got, "nothing committed yet")
	require.NoError(t, rc.Commit(ctx, "g", "t", map[int32]int64{0: 5, 1: 7}))
	got, err = rc.FetchOffsets(ctx, "g", "t", 0, 1)
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: 5, 1: 7}, got)

	h := r.History()
	require.NoError(t, h.Validate())
	require.Len(t, h, 6, "one operation per partition")
	for _, op := range h[2:4] {
		require.Equal(t, lin.KindCommit, op.Kind)
		require.Equal(t, lin.OK, op.Outcome)
		require.Equal(t, "g", op.Group)
	}
	require.Equal(t, h[2].Call, h[3].Call, "one call: one interval")
	rep := lin.Check(h, lin.Options{})
	require.True(t, rep.OK())
	require.Equal(t, 2, rep.Offsets.Partitions)

	// The same operations with a stale read planted fail both checkers.
	h[5].Offset = -1
	rep = lin.Check(h, lin.Options{})
	require.Equal(t, []string{lin.CommittedOffsetRegression}, anomalyNames(rep.Static.Anomalies))
	require.False(t, rep.Offsets.OK())
}

func anomalyNames(as []lin.Anomaly) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}
