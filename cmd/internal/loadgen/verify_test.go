package loadgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordRoundTrip(t *testing.T) {
	pad := newPadding(100)
	v := make([]byte, 100)
	want := record{seq: 123456, sentNano: 1_700_000_000_123_456_789, producer: 3}
	pad.encode(v, want)
	got, err := decode(v, 100)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, int64(123456), seqOf(v))

	_, err = decode(v[:99], 100)
	assert.ErrorContains(t, err, "99 bytes")
	bad := append([]byte(nil), v...)
	bad[50] ^= 0x80
	_, err = decode(bad, 100)
	assert.ErrorContains(t, err, "CRC")
	bad = append([]byte(nil), v...)
	copy(bad, "kafk")
	_, err = decode(bad, 100)
	assert.ErrorIs(t, err, errNotOurs)
}

// history feeds a verifier reads of (partition, offset, seq) and returns what
// it found. 6 records, 2 producers, 2 partitions; seq s goes to partition
// s%2, so the clean log is p0: 0 2 4, p1: 1 3 5.
type read struct {
	partition int32
	offset    int64
	seq       int64
	producer  int // -1: seq%2
}

func check(t *testing.T, reads []read, a *acks, ends []int64) *problems {
	t.Helper()
	const size = 40
	pad := newPadding(size)
	v := newVerifier(6, 2, 2, size, func(s int64) int32 { return int32(s % 2) })
	for _, r := range reads {
		val := make([]byte, size)
		prod := r.producer
		if prod < 0 {
			prod = int(r.seq % 2)
		}
		pad.encode(val, record{seq: r.seq, sentNano: 1, producer: prod})
		v.observe(r.partition, r.offset, val)
	}
	return v.finish(a, ends)
}

func cleanReads() []read {
	return []read{
		{0, 0, 0, -1}, {1, 0, 1, -1}, {0, 1, 2, -1}, {1, 1, 3, -1}, {0, 2, 4, -1}, {1, 2, 5, -1},
	}
}

func cleanAcks() *acks {
	a := newAcks(6, true)
	for _, r := range cleanReads() {
		a.partition[r.seq], a.offset[r.seq] = r.partition, r.offset
	}
	return a
}

func TestVerifierCleanHistory(t *testing.T) {
	assert.Nil(t, check(t, cleanReads(), cleanAcks(), []int64{3, 3}))
	assert.Nil(t, check(t, cleanReads(), newAcks(6, false), []int64{3, 3}), "acks=0: offsets unknown")
}

func TestVerifierFindsPlantedAnomalies(t *testing.T) {
	tests := []struct {
		name  string
		reads func() []read
		acks  func() *acks
		ends  []int64
		want  []string
	}{
		{
			name:  "lost write",
			reads: func() []read { r := cleanReads(); return r[:5] }, // seq 5 at p1/2 never read
			ends:  []int64{3, 2},
			want:  []string{AnomalyEndOffsets, AnomalyLost},
		},
		{
			name: "duplicate",
			reads: func() []read {
				return append(cleanReads(), read{1, 3, 5, -1}) // seq 5 again at p1/3
			},
			ends: []int64{3, 4},
			want: []string{AnomalyDuplicate, AnomalyEndOffsets, AnomalyNonmonotonicSend},
		},
		{
			name: "reordered within a partition",
			reads: func() []read {
				return []read{{0, 0, 0, -1}, {1, 0, 1, -1}, {0, 1, 4, -1}, {1, 1, 3, -1}, {0, 2, 2, -1}, {1, 2, 5, -1}}
			},
			acks: func() *acks { return nil },
			ends: []int64{3, 3},
			want: []string{AnomalyNonmonotonicSend},
		},
		{
			name: "offset hole",
			reads: func() []read {
				r := cleanReads()
				r[4].offset = 3 // p0 offsets 0, 1, 3
				return r
			},
			acks: func() *acks { return nil },
			ends: []int64{4, 3},
			want: []string{AnomalyEndOffsets, AnomalyOffsetHole},
		},
		{
			name: "consumer goes backwards",
			reads: func() []read {
				return append(cleanReads()[:4], read{0, 1, 4, -1}, read{1, 2, 5, -1})
			},
			acks: func() *acks { return nil },
			ends: []int64{3, 3},
			want: []string{AnomalyNonmonotonicOffset},
		},
		{
			name: "wrong partition",
			reads: func() []read {
				r := cleanReads()
				r[5].partition, r[5].offset = 0, 3 // seq 5 lands in p0
				return r
			},
			acks: func() *acks { return nil },
			ends: []int64{4, 2},
			want: []string{AnomalyWrongPartition},
		},
		{
			name:  "acknowledged offset differs from the read one",
			reads: cleanReads,
			acks: func() *acks {
				a := cleanAcks()
				a.offset[2] = 7
				return a
			},
			ends: []int64{3, 3},
			want: []string{AnomalyInconsistentOffsets},
		},
		{
			name: "corrupt: impossible producer",
			reads: func() []read {
				r := cleanReads()
				r[0].producer = 1
				return r
			},
			ends: []int64{3, 3},
			want: []string{AnomalyCorrupt, AnomalyLost},
		},
		{
			name: "unknown partition",
			reads: func() []read {
				return append(cleanReads(), read{7, 0, 0, -1})
			},
			ends: []int64{3, 3},
			want: []string{AnomalyUnknownPartition},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := cleanAcks()
			if tc.acks != nil {
				a = tc.acks()
			}
			p := check(t, tc.reads(), a, tc.ends)
			require.NotNil(t, p, "the planted anomaly must be found")
			assert.Equal(t, tc.want, p.Names(), "report:\n%s", p.String())
		})
	}
}

func TestProblemsReportIsBounded(t *testing.T) {
	var p problems
	for i := range 100 {
		p.add(AnomalyLost, "sequence %d never read", i)
	}
	s := p.String()
	assert.Contains(t, s, "lost-write: 100")
	assert.Contains(t, s, "... and 95 more")
}
