package storage

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/recordbatch/recordbatchtest"
)

// record is one appended record, as the model sees it.
type record struct{ offset, ts int64 }

// modelOffsetFor is the specification: the first record at or after start
// whose timestamp is >= ts.
func modelOffsetFor(recs []record, start, ts int64) (int64, int64, bool) {
	for _, r := range recs {
		if r.offset >= start && r.ts >= ts {
			return r.offset, r.ts, true
		}
	}
	return -1, -1, false
}

func TestOffsetForTimestamp(t *testing.T) {
	seed := uint64(7)
	t.Logf("seed %d", seed)
	for _, cfg := range []Config{{}, {SegmentBytes: 800, IndexIntervalBytes: 1}} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			mem := fs.NewMem()
			l := openLog(t, mem, cfg, nil)
			defer l.Close()
			var recs []record
			base := int64(1000)
			for i := range 40 {
				// Timestamps drift upwards but are not monotonic, inside
				// batches and across them, as with many producers.
				tss := make([]int64, 1+r.IntN(5))
				for j := range tss {
					tss[j] = base + int64(r.IntN(40)) - 10
				}
				base += 15
				codec := int8(i % 5)
				var info AppendInfo
				if i%7 == 6 {
					lat := base + 5
					var err error
					info, err = l.Append(makeBatch(t, codec, tss...), 0, lat)
					require.NoError(t, err)
					for j := range tss {
						tss[j] = lat
					}
				} else {
					info = mustAppend(t, l, makeBatch(t, codec, tss...), 0)
				}
				for j, ts := range tss {
					recs = append(recs, record{info.FirstOffset + int64(j), ts})
				}
			}
			check := func(start int64) {
				for ts := int64(900); ts < base+100; ts += 7 {
					wantOff, wantTS, wantFound := modelOffsetFor(recs, start, ts)
					off, gotTS, found, err := l.OffsetForTimestamp(ts)
					require.NoError(t, err)
					require.Equal(t, wantFound, found, "ts %d", ts)
					if wantFound {
						require.Equal(t, []int64{wantOff, wantTS}, []int64{off, gotTS}, "ts %d", ts)
					}
				}
			}
			check(0)
			require.NoError(t, l.SetLogStartOffset(recs[len(recs)/2].offset+1))
			check(l.LogStartOffset())

			// The answers survive a restart (time indexes reloaded).
			require.NoError(t, l.Close())
			l = openLog(t, mem, cfg, nil)
			check(l.LogStartOffset())
		})
	}
}

func TestMaxTimestamp(t *testing.T) {
	for codec := range int8(5) {
		t.Run(fmt.Sprintf("codec %d", codec), func(t *testing.T) {
			mem := fs.NewMem()
			cfg := Config{SegmentBytes: 300}
			l := openLog(t, mem, cfg, nil)
			defer l.Close()
			ts, off, err := l.MaxTimestamp()
			require.NoError(t, err)
			assert.Equal(t, []int64{-1, -1}, []int64{ts, off}, "empty log")

			mustAppend(t, l, makeBatch(t, codec, 10, 20), 0)         // 0-1
			mustAppend(t, l, makeBatch(t, codec, 50, 90, 70, 90), 0) // 2-5: max at 3
			mustAppend(t, l, makeBatch(t, codec, 60, 80), 0)         // 6-7
			ts, off, err = l.MaxTimestamp()
			require.NoError(t, err)
			assert.Equal(t, []int64{90, 3}, []int64{ts, off}, "the first record carrying the max")

			info, err := l.Append(makeBatch(t, codec, 1, 2, 3), 0, 500) // LogAppendTime
			require.NoError(t, err)
			ts, off, err = l.MaxTimestamp()
			require.NoError(t, err)
			assert.Equal(t, []int64{500, info.FirstOffset}, []int64{ts, off})

			require.NoError(t, l.Close())
			l = openLog(t, mem, cfg, nil)
			ts, off, err = l.MaxTimestamp()
			require.NoError(t, err)
			assert.Equal(t, []int64{500, info.FirstOffset}, []int64{ts, off}, "after a restart")
		})
	}
}

// In a compacted LogAppendTime batch, a timestamp lookup answers with a
// record that is still there, not with an offset the cleaner removed (every
// record has the batch's MaxTimestamp, but not every offset has a record).
func TestFindRecordInACompactedLogAppendTimeBatch(t *testing.T) {
	raw := encodeBatch(t, Batch{
		BaseOffset: 10, Attributes: recordbatch.AttrLogAppendTime, LastOffsetDelta: 5,
		FirstTimestamp: 100, MaxTimestamp: 500, ProducerID: -1, BaseSequence: -1, NumRecords: 2,
	}, []kmsg.Record{{OffsetDelta: 2, Key: []byte("a")}, {OffsetDelta: 4, Key: []byte("b")}})

	h, err := recordbatch.Parse(raw)
	require.NoError(t, err)
	off, ts, ok, err := recordbatch.FindRecord(raw, h, func(off, ts int64) bool { return off >= 10 && ts >= 300 })
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(12), off)
	assert.Equal(t, int64(500), ts)

	off, _, ok, err = recordbatch.FindRecord(raw, h, func(off, _ int64) bool { return off >= 13 })
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(14), off)
}

// A decompression bomb already in the log (Ordo accepted them before it
// validated records on every topic; a follower copies what its leader has)
// costs a timestamp look-up a bounded amount: the look-up reads records
// only up to the first that matches, and never decompresses past the
// bound. Before, every look-up inflated the whole batch (1 GiB here).
func TestTimestampLookupOnAStoredBomb(t *testing.T) {
	for _, codec := range []int8{1, 3, 4} {
		l := openLog(t, fs.NewMem(), Config{}, nil)
		defer l.Close()
		mustAppend(t, l, makeBatch(t, 0, 100, 200), 0) // offsets 0-1
		bomb, err := recordbatchtest.Bomb(codec, 1<<30)
		require.NoError(t, err)
		// Its one record at timestamp 1000; the header claims 5000 as
		// the batch's largest.
		binary.BigEndian.PutUint64(bomb[35:], 5000)
		recordbatchtest.SetCRC(bomb)
		bombAt := mustAppend(t, l, bomb, 0).FirstOffset
		mustAppend(t, l, makeBatch(t, 0, 6000), 0)

		var off, ts int64
		var found bool
		n := recordbatchtest.Allocated(func() { off, ts, found, err = l.OffsetForTimestamp(300) })
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, []int64{bombAt, 1000}, []int64{off, ts}, "codec %d", codec)
		assert.Less(t, n, recordbatchtest.AllocBound(16<<20), "codec %d: the bomb's first record is all that is read", codec)

		// Past the bomb's one record but under the MaxTimestamp it
		// claims: the look-up must skip its value, and stops at the
		// bound.
		n = recordbatchtest.Allocated(func() { _, _, _, err = l.OffsetForTimestamp(2000) })
		require.ErrorIs(t, err, recordbatch.ErrRecordsTooLarge, "codec %d", codec)
		assert.Less(t, n, recordbatchtest.AllocBound(uint64(recordbatch.MaxUncompressed(0)+24<<20)), "codec %d", codec)
	}
}
