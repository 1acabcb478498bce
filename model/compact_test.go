package model

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompactKeepsTheLatestPerKey(t *testing.T) {
	c := New()
	require.Equal(t, None, c.CreateTopic("t", 1))
	produce := func(recs ...Record) {
		r := c.Produce(ProduceRequest{Topic: "t", Records: recs, ProducerID: -1})
		require.Equal(t, None, r.Err)
	}
	produce(Record{Key: "a", Value: "a1"}, Record{Key: "b", Value: "b1"})
	produce(Record{Key: "a", Value: "a2"}, Record{Key: "b", Tombstone: true}, Record{Value: "keyless"})
	produce(Record{Key: "c", Value: "c1"}, Record{Key: "a", Value: "a3"})

	require.Equal(t, None, c.Compact("t", 0, 5, false))
	f := c.Fetch(FetchRequest{Topic: "t"})
	require.Equal(t, None, f.Err)
	require.Equal(t, []Record{
		{Offset: 2, Key: "a", Value: "a2"}, {Offset: 3, Key: "b", Tombstone: true},
		{Offset: 5, Key: "c", Value: "c1"}, {Offset: 6, Key: "a", Value: "a3"},
	}, f.Records, "below offset 5: latest per key, tombstone kept; above: untouched")
	require.Equal(t, int64(7), f.HighWatermark, "offsets do not move")

	// A fetch inside a gap starts at the next record.
	f = c.Fetch(FetchRequest{Topic: "t", Offset: 4, MaxRecords: 1})
	require.Equal(t, []Record{{Offset: 5, Key: "c", Value: "c1"}}, f.Records)

	require.Equal(t, None, c.Compact("t", 0, 100, true))
	f = c.Fetch(FetchRequest{Topic: "t"})
	require.Equal(t, []Record{{Offset: 5, Key: "c", Value: "c1"}, {Offset: 6, Key: "a", Value: "a3"}}, f.Records)
	require.Equal(t, f.Records, LatestPerKey(f.Records))

	// Appends continue at the log end, and DeleteRecords works over gaps.
	produce(Record{Key: "d", Value: "d1"})
	low, code := c.DeleteRecords("t", 0, 6)
	require.Equal(t, None, code)
	require.Equal(t, int64(6), low)
	f = c.Fetch(FetchRequest{Topic: "t", Offset: 6})
	require.Equal(t, []Record{{Offset: 6, Key: "a", Value: "a3"}, {Offset: 7, Key: "d", Value: "d1"}}, f.Records)
	require.Equal(t, UnknownTopicOrPartition, c.Compact("nope", 0, 1, false))
}

// Compacting over nested ranges equals compacting once over the larger,
// whatever the tombstone choice of the later pass.
func TestCompactComposes(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := range 200 {
		var recs []Record
		for i := range 40 {
			r := Record{Offset: int64(i), Key: fmt.Sprintf("k%d", rng.Intn(6))}
			if rng.Intn(5) == 0 {
				r.Tombstone = true
			} else {
				r.Value = fmt.Sprintf("v%d", i)
			}
			recs = append(recs, r)
		}
		a, b := int64(rng.Intn(41)), int64(rng.Intn(41))
		a, b = min(a, b), max(a, b)
		drop := rng.Intn(2) == 0
		twice := CompactRecords(CompactRecords(recs, a, false), b, drop)
		once := CompactRecords(recs, b, drop)
		require.Equal(t, once, twice, "round %d", round)
		require.Equal(t, LatestPerKey(recs), LatestPerKey(twice), "round %d: compaction never changes the latest values", round)
	}
}
