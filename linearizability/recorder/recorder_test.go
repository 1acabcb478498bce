package recorder_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/ordotest"
	lin "github.com/ordo-broker/ordo/linearizability"
	"github.com/ordo-broker/ordo/linearizability/recorder"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRecorderAgainstBroker records each kind of call against a real
// broker and checks what the history says: inputs, results, outcome
// classes, times on one clock, and the JSON lines written as it went.
func TestRecorderAgainstBroker(t *testing.T) {
	b := ordotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	r := recorder.New(&out)

	newClient := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(cl.Close)
		return cl
	}
	admin := kadm.NewClient(newClient())
	_, err := admin.CreateTopic(ctx, 2, 1, nil, "rec")
	require.NoError(t, err)

	p := r.Client(newClient(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1000)))
	for i, v := range []string{"a", "b", "c"} {
		off, err := p.Produce(ctx, "rec", 1, v)
		require.NoError(t, err)
		require.Equal(t, int64(i), off)
	}
	_, err = p.Produce(ctx, "rec", 0, strings.Repeat("x", 2000))
	require.Error(t, err, "larger than the batch limit")
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	_, err = p.Produce(cctx, "rec", 0, "cancelled")
	require.Error(t, err)

	c := r.Client(newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"rec": {1: kgo.NewOffset().At(0)}})))
	c.Assigned("rec", 1, 0)
	var polled []string
	for len(polled) < 3 {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		c.Poll(pctx).EachRecord(func(r *kgo.Record) { polled = append(polled, string(r.Value)) })
		pcancel()
	}
	require.Equal(t, []string{"a", "b", "c"}, polled)

	reader := r.Client(newClient())
	res, err := reader.Fetch(ctx, "rec", 1, 1, recorder.FetchOptions{Linearizable: true})
	require.NoError(t, err)
	require.Equal(t, int64(3), res.HighWatermark)
	require.Len(t, res.Records, 2)
	ends, err := reader.ListOffsets(ctx, lin.SpecLatest, "rec")
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: 0, 1: 3}, ends)
	_, err = reader.Fetch(ctx, "rec", 1, 9, recorder.FetchOptions{})
	require.Error(t, err, "beyond the high watermark")

	endFault := r.Fault("nothing really")
	endFault()
	require.NoError(t, reader.Drain(ctx, "rec", true))
	require.NoError(t, r.Flush())

	h := r.History()
	require.NoError(t, h.Validate())
	back, err := lin.ReadHistory(&out)
	require.NoError(t, err)
	require.Equal(t, h, back, "the JSON lines are the history")

	byKind := map[lin.Kind][]lin.Op{}
	for _, op := range h {
		byKind[op.Kind] = append(byKind[op.Kind], op)
		require.LessOrEqual(t, op.Call, op.Return)
	}
	prods := byKind[lin.KindProduce]
	require.Len(t, prods, 5)
	require.Equal(t, lin.OK, prods[0].Outcome)
	require.Equal(t, []int64{0}, prods[0].Offsets)
	require.Equal(t, lin.Fail, prods[3].Outcome, "MESSAGE_TOO_LARGE promises nothing was written: %s", prods[3].Error)
	require.Equal(t, lin.Info, prods[4].Outcome, "a cancelled call may have been written")
	for i := 1; i < 3; i++ {
		require.GreaterOrEqual(t, prods[i].Call, prods[i-1].Return, "one client, one call at a time")
	}

	var fetchOK, fetchFail int
	for _, op := range byKind[lin.KindFetch] {
		switch {
		case op.Outcome == lin.OK && !op.Drain:
			fetchOK++
			require.True(t, op.Linearizable)
			require.Equal(t, []lin.Record{{Topic: "rec", Partition: 1, Offset: 1, Value: "b"}, {Topic: "rec", Partition: 1, Offset: 2, Value: "c"}}, op.Records)
		case op.Outcome == lin.Fail:
			fetchFail++
			require.Contains(t, op.Error, "OFFSET_OUT_OF_RANGE")
		}
	}
	require.Equal(t, 1, fetchOK)
	require.Equal(t, 1, fetchFail)
	require.Len(t, byKind[lin.KindFault], 1)
	require.Len(t, byKind[lin.KindSeek], 1)
	drains := byKind[lin.KindDrain]
	require.Len(t, drains, 2)
	for _, d := range drains {
		require.True(t, d.Complete)
	}
	require.Equal(t, int64(3), drains[1].HighWatermark)

	rep := lin.Check(h, lin.Options{})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	t.Log("\n" + sb.String())
	require.True(t, rep.OK())
	require.Equal(t, lin.Resolution{Dropped: 1}, rep.Resolution, "the cancelled produce is absent from the complete drain")
}
