package partition

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// benchPayload is an uncompressed producer batch of n records with values
// of size bytes and 8-byte keys, as kgo writes one.
func benchPayload(b *testing.B, n, size int) []byte {
	var recs []byte
	value := make([]byte, size)
	for i := range n {
		recs = recordbatch.AppendRecord(recs, &kmsg.Record{
			OffsetDelta: int32(i),
			Key:         fmt.Appendf(nil, "key-%04d", i%10000),
			Value:       value,
		})
	}
	raw, err := recordbatch.Append(nil, recordbatch.Header{
		LastOffsetDelta: int32(n - 1), FirstTimestamp: 1_700_000_000_000, MaxTimestamp: 1_700_000_000_000,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: int32(n),
	}, recs)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkAppend is the produce path of one partition without the
// network: validation, the producer-state check and the log append, to
// segment files in a temporary directory with the interval flush policy (no
// fsync per append; fs.Mem's growing files would dominate). Each iteration
// copies the payload first, since Append rewrites it. Every iteration
// appends to disk: run it with a bounded -benchtime such as 20000x.
func BenchmarkAppend(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{10, 100}, {16, 1024}, {1000, 10}} {
		b.Run(fmt.Sprintf("records=%d/size=%d", shape.n, shape.size), func(b *testing.B) {
			mgr := NewManager(Config{FS: fs.NewOS(), Dir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			defer mgr.Close()
			im := metadata.NewImage("c")
			id := metadata.NewTopicID()
			flush := "9223372036854775807"
			im, err := im.Apply(
				metadata.Record{Topic: &metadata.TopicRecord{Name: "t", TopicID: id}},
				metadata.Record{Partition: &metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{0}, ISR: []int32{0}, Leader: 0}},
				metadata.Record{Config: &metadata.ConfigRecord{Topic: "t", Name: "flush.messages", Value: &flush}},
				metadata.Record{Config: &metadata.ConfigRecord{Topic: "t", Name: "segment.bytes", Value: new("1073741824")}},
			)
			if err != nil {
				b.Fatal(err)
			}
			if err := mgr.Apply(nil, im); err != nil {
				b.Fatal(err)
			}
			p := mgr.Get("t", 0)
			payload := benchPayload(b, shape.n, shape.size)
			buf := make([]byte, len(payload))
			now := time.Now()
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, payload)
				if _, err := p.Produce(buf, now, 11); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
