package model

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// The model's codes must be Kafka's, so its answers compare with a broker's.
func TestErrorCodesAreKafkas(t *testing.T) {
	for _, c := range ErrorCodes() {
		if c == None {
			continue
		}
		k := kerr.TypedErrorForCode(int16(c))
		require.NotNil(t, k, "code %d", c)
		require.Equal(t, k.Message, c.String(), "code %d", c)
	}
}

func TestAddSequenceWraps(t *testing.T) {
	for _, tc := range []struct {
		seq  int32
		n    int
		want int32
	}{
		{0, 0, 0},
		{0, 4, 4},
		{math.MaxInt32 - 1, 1, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
	} {
		require.Equal(t, tc.want, addSequence(tc.seq, tc.n), "%d+%d", tc.seq, tc.n)
	}
}

// A producer whose sequence reaches MaxInt32 continues at 0, and a batch
// that straddles the wrap is deduplicated like any other.
func TestSequenceWrapAcrossBatches(t *testing.T) {
	c := New()
	require.Equal(t, None, c.CreateTopic("t", 1))
	p, _ := c.InitProducerID(-1, -1)
	// Plant a producer entry near the edge: reaching it by producing 2^31
	// records would take too long, and the window logic is what is tested.
	c.topics["t"][0].producers[p.ID] = &producerEntry{epoch: 0, batches: []batchMetadata{{firstSeq: 0, lastSeq: math.MaxInt32 - 2, baseOffset: 0}}}
	produce := func(seq int32, vals ...string) ProduceResponse {
		var recs []Record
		for _, v := range vals {
			recs = append(recs, Record{Value: v})
		}
		return c.Produce(ProduceRequest{Topic: "t", Partition: 0, Records: recs, ProducerID: p.ID, ProducerEpoch: 0, BaseSequence: seq})
	}
	r := produce(math.MaxInt32-1, "a", "b", "c") // sequences MaxInt32-1, MaxInt32, 0
	require.Equal(t, None, r.Err)
	require.Equal(t, ProduceResponse{BaseOffset: r.BaseOffset, LogStartOffset: 0}, produce(math.MaxInt32-1, "a", "b", "c"), "retry is a duplicate")
	require.Equal(t, None, produce(1, "d").Err)
	require.Equal(t, OutOfOrderSequenceNumber, produce(3, "e").Err)
}

// Clone is deep: changing the copy leaves the original as it was.
func TestCloneIsIndependent(t *testing.T) {
	c := New()
	c.CreateTopic("t", 2)
	p, _ := c.InitProducerID(-1, -1)
	c.Produce(ProduceRequest{Topic: "t", Records: []Record{{Value: "a"}}, ProducerID: p.ID})
	c.CommitOffset("g", "t", 0, 1)
	before := c.String()

	d := c.Clone()
	d.Produce(ProduceRequest{Topic: "t", Records: []Record{{Value: "b"}}, ProducerID: p.ID, BaseSequence: 1})
	d.DeleteRecords("t", 0, 1)
	d.CommitOffset("g", "t", 0, 2)
	d.CreateTopic("u", 1)
	d.InitProducerID(p.ID, p.Epoch)

	require.Equal(t, before, c.String())
	require.NotEqual(t, before, d.String())
	// The original still deduplicates as before the clone's epoch bump.
	r := c.Produce(ProduceRequest{Topic: "t", Records: []Record{{Value: "a"}}, ProducerID: p.ID})
	require.Equal(t, ProduceResponse{BaseOffset: 0, LogStartOffset: 0}, r)
}

// TestRandomOperationsKeepInvariants drives the model with seeded random
// operations and checks what every client relies on after each step:
// offsets are dense from the log start to the high watermark, acknowledged
// records stay where they were acknowledged until deleted, an idempotent
// retry is answered with the original offset and appends nothing, and
// replaying the same operations gives the same answers.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	type sent struct {
		req  ProduceRequest
		resp ProduceResponse
	}
	run := func() string {
		rng := rand.New(rand.NewSource(seed))
		c := New()
		require.Equal(t, None, c.CreateTopic("t", 3))
		acked := map[[2]int64]string{} // (partition, offset) → value
		last := map[[2]int64]sent{}    // (producer, partition) → its last acknowledged batch
		var producers []ProducerIdentity
		var trace []byte
		for i := 0; i < 3000; i++ {
			part := int32(rng.Intn(3))
			switch op := rng.Intn(10); {
			case op < 5:
				req := ProduceRequest{Topic: "t", Partition: part, ProducerID: -1}
				for n := 1 + rng.Intn(3); n > 0; n-- {
					req.Records = append(req.Records, Record{Value: string(rune('a' + rng.Intn(26)))})
				}
				if len(producers) > 0 && rng.Intn(2) == 0 {
					p := producers[rng.Intn(len(producers))]
					k := [2]int64{p.ID, int64(part)}
					prev, retry := last[k]
					if retry && rng.Intn(3) == 0 {
						hw, _ := c.ListOffsets("t", part, Latest)
						r := c.Produce(prev.req)
						require.Equal(t, prev.resp.BaseOffset, r.BaseOffset, "a retry gets the original offset")
						after, _ := c.ListOffsets("t", part, Latest)
						require.Equal(t, hw, after, "a retry appends nothing")
						continue
					}
					req.ProducerID, req.ProducerEpoch = p.ID, p.Epoch
					if retry {
						req.BaseSequence = addSequence(prev.req.BaseSequence, len(prev.req.Records))
					}
				}
				r := c.Produce(req)
				require.Equal(t, None, r.Err)
				trace = append(trace, byte(r.BaseOffset))
				for j, rec := range req.Records {
					acked[[2]int64{int64(part), r.BaseOffset + int64(j)}] = rec.Value
				}
				if req.ProducerID >= 0 {
					last[[2]int64{req.ProducerID, int64(part)}] = sent{req, r}
				}
			case op < 6:
				p, code := c.InitProducerID(-1, -1)
				require.Equal(t, None, code)
				producers = append(producers, p)
			case op < 7:
				hw, _ := c.ListOffsets("t", part, Latest)
				low, code := c.DeleteRecords("t", part, hw-int64(rng.Intn(8)))
				trace = append(trace, byte(code), byte(low))
			default:
				start, _ := c.ListOffsets("t", part, Earliest)
				r := c.Fetch(FetchRequest{Topic: "t", Partition: part, Offset: start})
				require.Equal(t, None, r.Err)
				require.Equal(t, r.HighWatermark-start, int64(len(r.Records)), "every offset below the high watermark is there")
				for j, rec := range r.Records {
					require.Equal(t, start+int64(j), rec.Offset, "dense offsets")
					require.Equal(t, acked[[2]int64{int64(part), rec.Offset}], rec.Value, "an acknowledged record keeps its offset")
				}
				trace = append(trace, byte(len(r.Records)))
			}
		}
		return string(trace) + c.String()
	}
	require.Equal(t, run(), run(), "same operations, same answers")
}
