package clienttest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// keyedRecords are n records for topic with distinct keys, two headers and
// explicit millisecond timestamps an hour in the past (inside Kafka's
// default timestamp bounds); every 997th record has a null value
// (a tombstone), which must come back null rather than empty.
func keyedRecords(topic string, n int, base time.Time) []*kgo.Record {
	rs := make([]*kgo.Record, n)
	for i := range rs {
		r := &kgo.Record{
			Topic:     topic,
			Key:       fmt.Appendf(nil, "key-%05d", i),
			Value:     fmt.Appendf(nil, "value-%05d-%s", i, bytes.Repeat([]byte{'x'}, i%64)),
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
			Headers: []kgo.RecordHeader{
				{Key: "seq", Value: []byte(strconv.Itoa(i))},
				{Key: "origin", Value: []byte("kgo")},
			},
		}
		if i%997 == 996 {
			r.Value = nil
		}
		rs[i] = r
	}
	return rs
}

func pastBase() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Millisecond) }

// TestKgoManyRecordsRoundTrip produces 5,000 keyed records with headers and
// timestamps over 6 partitions with acks=all and consumes them back intact,
// with offsets dense from 0 and in production order per partition.
func TestKgoManyRecordsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t)
	const topic, partitions, n = "many-records", 6, 5000
	createTopic(t, ctx, newAdmin(t, b), topic, partitions, nil)

	cl := newClient(t, b, kgo.ProducerLinger(5*time.Millisecond))
	rs := keyedRecords(topic, n, pastBase())
	produceAll(t, ctx, cl, rs)

	want := produced(rs)
	if len(want) != partitions {
		t.Fatalf("records landed in %d partitions, want all %d (key hashing spreads 5,000 keys)", len(want), partitions)
	}
	requireDenseFromZero(t, want)
	// One producer, so each partition holds its records in the order they
	// were produced.
	for p, l := range want {
		if !slices.IsSortedFunc(l, func(a, b rec) int { return bytes.Compare(a.Key, b.Key) }) {
			t.Fatalf("partition %d: records were not appended in production order", p)
		}
	}

	ends, err := newAdmin(t, b).ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("ListEndOffsets: %v / %v", err, ends.Error())
	}
	for p, l := range want {
		if got := ends[topic][p].Offset; got != int64(len(l)) {
			t.Errorf("partition %d: end offset %d, want %d", p, got, len(l))
		}
	}

	requireSameLog(t, want, drain(t, ctx, b, topic))
}

// TestKgoCompression round-trips records produced with each codec. The broker
// stores batches as produced, so the consumer must see the producer's codec.
func TestKgoCompression(t *testing.T) {
	t.Parallel()
	b := ordotest.Start(t)
	for _, tc := range []struct {
		name  string
		codec kgo.CompressionCodec
		attr  uint8 // the batch attribute's compression bits
	}{
		{"gzip", kgo.GzipCompression(), 1},
		{"snappy", kgo.SnappyCompression(), 2},
		{"lz4", kgo.Lz4Compression(), 3},
		{"zstd", kgo.ZstdCompression(), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 45*time.Second)
			topic := "compressed-" + tc.name
			createTopic(t, ctx, newAdmin(t, b), topic, 2, nil)
			cl := newClient(t, b, kgo.ProducerBatchCompression(tc.codec), kgo.ProducerLinger(20*time.Millisecond))
			rs := keyedRecords(topic, 400, pastBase())
			produceAll(t, ctx, cl, rs)
			want := produced(rs)
			requireDenseFromZero(t, want)

			// drain keeps no attributes, so read once more here for them.
			consumer := newClient(t, b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			seen := 0
			for seen < len(rs) {
				fetches := consumer.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("consumed %d of %d records: %v", seen, len(rs), ctx.Err())
				}
				fetches.EachError(func(_ string, p int32, err error) { t.Fatalf("fetching partition %d: %v", p, err) })
				fetches.EachRecord(func(r *kgo.Record) {
					seen++
					if got := r.Attrs.CompressionType(); got != tc.attr {
						t.Fatalf("record %d/%d came back with compression %d, want %d (%s)", r.Partition, r.Offset, got, tc.attr, tc.name)
					}
				})
			}
			requireSameLog(t, want, drain(t, ctx, b, topic))
		})
	}
}

// TestKadmTopicAdmin walks through the admin calls a kadm user makes on one
// topic: create with configs, list, describe and alter configs, add
// partitions, delete records, list offsets by position and time, delete.
func TestKadmTopicAdmin(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t)
	adm := newAdmin(t, b)
	const topic = "admin-topic"

	created, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{
		"retention.ms":      kadm.StringPtr("3600000"),
		"max.message.bytes": kadm.StringPtr("65536"),
		"cleanup.policy":    kadm.StringPtr("delete"),
	}, topic)
	if err != nil {
		t.Fatalf("CreateTopic: %v (%s)", err, created.ErrMessage)
	}
	if created.NumPartitions != 3 || created.ReplicationFactor != 1 {
		t.Errorf("CreateTopic answered %d partitions x %d replicas, want 3 x 1", created.NumPartitions, created.ReplicationFactor)
	}

	t.Run("create again", func(t *testing.T) {
		_, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
		if !errors.Is(err, kerr.TopicAlreadyExists) {
			t.Errorf("creating %s twice: %v, want TOPIC_ALREADY_EXISTS", topic, err)
		}
	})
	t.Run("create with a bad config", func(t *testing.T) {
		_, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, "bad-config")
		if !errors.Is(err, kerr.InvalidConfig) {
			t.Errorf("retention.ms=soon: %v, want INVALID_CONFIG", err)
		}
		if tds, err := newAdmin(t, b).ListTopics(ctx); err != nil || tds.Has("bad-config") {
			t.Errorf("a refused topic exists anyway (err %v)", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		tds, err := adm.ListTopics(ctx)
		if err != nil {
			t.Fatalf("ListTopics: %v", err)
		}
		td, ok := tds[topic]
		if !ok {
			t.Fatalf("ListTopics does not list %s: %v", topic, tds.Names())
		}
		if len(td.Partitions) != 3 {
			t.Fatalf("%s has %d partitions, want 3", topic, len(td.Partitions))
		}
		for p, pd := range td.Partitions {
			if pd.Err != nil || pd.Leader != b.NodeID() || !slices.Equal(pd.Replicas, []int32{b.NodeID()}) || !slices.Equal(pd.ISR, []int32{b.NodeID()}) {
				t.Errorf("partition %d: leader %d replicas %v ISR %v err %v; want all on node %d", p, pd.Leader, pd.Replicas, pd.ISR, pd.Err, b.NodeID())
			}
		}
	})

	describe := func(t *testing.T) map[string]kadm.Config {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			t.Fatalf("DescribeTopicConfigs: %v", err)
		}
		rc, err := rcs.On(topic, nil)
		if err != nil || rc.Err != nil {
			t.Fatalf("DescribeTopicConfigs(%s): %v / %v", topic, err, rc.Err)
		}
		m := map[string]kadm.Config{}
		for _, c := range rc.Configs {
			m[c.Key] = c
		}
		return m
	}
	t.Run("describe configs", func(t *testing.T) {
		cs := describe(t)
		for name, want := range map[string]string{
			"retention.ms":      "3600000",
			"max.message.bytes": "65536",
			"cleanup.policy":    "delete",
		} {
			c, ok := cs[name]
			if !ok {
				t.Errorf("%s is not described", name)
				continue
			}
			if c.MaybeValue() != want || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
				t.Errorf("%s = %q from %v, want %q set on the topic", name, c.MaybeValue(), c.Source, want)
			}
		}
		// Every config is described with its default (protocol.md).
		for name, want := range map[string]string{
			"flush.messages": "1",
			"segment.bytes":  "1073741824",
		} {
			c, ok := cs[name]
			if !ok {
				t.Errorf("default config %s is not described", name)
				continue
			}
			if c.MaybeValue() != want || c.Source == kmsg.ConfigSourceDynamicTopicConfig {
				t.Errorf("%s = %q from %v, want the default %q", name, c.MaybeValue(), c.Source, want)
			}
		}
	})
	t.Run("alter configs", func(t *testing.T) {
		resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7200000")}}, topic)
		if err == nil {
			var r kadm.AlterConfigsResponse
			if r, err = resps.On(topic, nil); err == nil {
				err = r.Err
			}
		}
		if err != nil {
			t.Fatalf("AlterTopicConfigs: %v", err)
		}
		if got := describe(t)["retention.ms"]; got.MaybeValue() != "7200000" {
			t.Errorf("after altering, retention.ms = %q, want 7200000", got.MaybeValue())
		}
	})

	cl := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))

	t.Run("create partitions", func(t *testing.T) {
		resps, err := adm.CreatePartitions(ctx, 2, topic)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			t.Fatalf("CreatePartitions(+2): %v", err)
		}
		tds, err := adm.ListTopics(ctx, topic)
		if err != nil {
			t.Fatalf("ListTopics: %v", err)
		}
		if n := len(tds[topic].Partitions); n != 5 {
			t.Fatalf("after adding 2 partitions %s has %d, want 5", topic, n)
		}
		// The new partition takes writes.
		r := &kgo.Record{Topic: topic, Partition: 4, Value: []byte("in a new partition")}
		produceAll(t, ctx, cl, []*kgo.Record{r})
		if r.Offset != 0 {
			t.Errorf("first record of the new partition 4 at offset %d, want 0", r.Offset)
		}
	})

	t.Run("delete records", func(t *testing.T) {
		var rs []*kgo.Record
		for i := range 10 {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: 0, Value: fmt.Appendf(nil, "r%d", i)})
		}
		produceAll(t, ctx, cl, rs)
		var os kadm.Offsets
		os.AddOffset(topic, 0, 4, -1)
		resps, err := adm.DeleteRecords(ctx, os)
		if err != nil {
			t.Fatalf("DeleteRecords: %v", err)
		}
		r, ok := resps.Lookup(topic, 0)
		if !ok || r.Err != nil || r.LowWatermark != 4 {
			t.Fatalf("DeleteRecords(before 4) = %+v (present %v), want low watermark 4", r, ok)
		}
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil || starts.Error() != nil {
			t.Fatalf("ListStartOffsets: %v / %v", err, starts.Error())
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil || ends.Error() != nil {
			t.Fatalf("ListEndOffsets: %v / %v", err, ends.Error())
		}
		if s, e := starts[topic][0].Offset, ends[topic][0].Offset; s != 4 || e != 10 {
			t.Errorf("partition 0 spans [%d, %d) after deleting records before 4, want [4, 10)", s, e)
		}
		if s := starts[topic][1].Offset; s != 0 {
			t.Errorf("partition 1's start moved to %d; only partition 0 was trimmed", s)
		}
		got := drain(t, ctx, b, topic)[0]
		if len(got) != 6 || got[0].Offset != 4 || string(got[0].Value) != "r4" {
			t.Errorf("after deleting records before 4, consuming partition 0 from the start gives %d records starting %+v; want 6 from offset 4 (r4)", len(got), got[0])
		}
	})

	t.Run("offsets by time", func(t *testing.T) {
		t0 := pastBase().UnixMilli()
		var rs []*kgo.Record
		for i := range 3 {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: 1, Value: []byte("t"), Timestamp: time.UnixMilli(t0 + int64(i)*10_000)})
		}
		produceAll(t, ctx, cl, rs)
		for _, tc := range []struct {
			milli      int64
			wantOffset int64
		}{
			{t0 - 1, 0},
			{t0, 0},
			{t0 + 5_000, 1},
			{t0 + 10_000, 1},
			{t0 + 20_000, 2},
			{t0 + 60_000, 3}, // nothing that late: kadm reports the end offset
		} {
			los, err := adm.ListOffsetsAfterMilli(ctx, tc.milli, topic)
			if err != nil || los.Error() != nil {
				t.Fatalf("ListOffsetsAfterMilli(%d): %v / %v", tc.milli, err, los.Error())
			}
			if got := los[topic][1].Offset; got != tc.wantOffset {
				t.Errorf("ListOffsetsAfterMilli(t0%+d ms) = offset %d, want %d", tc.milli-t0, got, tc.wantOffset)
			}
		}
	})

	t.Run("delete topic", func(t *testing.T) {
		if _, err := adm.DeleteTopic(ctx, topic); err != nil {
			t.Fatalf("DeleteTopic: %v", err)
		}
		// A fresh client: kgo answers ListTopics from a metadata cache
		// (MetadataMinAge) that the deletion does not invalidate.
		tds, err := newAdmin(t, b).ListTopics(ctx)
		if err != nil {
			t.Fatalf("ListTopics: %v", err)
		}
		if tds.Has(topic) {
			t.Errorf("%s is still listed after DeleteTopic", topic)
		}
		if _, err := adm.DeleteTopic(ctx, topic); !errors.Is(err, kerr.UnknownTopicOrPartition) {
			t.Errorf("deleting %s again: %v, want UNKNOWN_TOPIC_OR_PARTITION", topic, err)
		}
	})
}

// TestKgoAutoCreate: with auto.create.topics.enable, producing to an unknown
// topic creates it with num.partitions partitions; without, the produce
// fails with UNKNOWN_TOPIC_OR_PARTITION and no topic appears.
func TestKgoAutoCreate(t *testing.T) {
	t.Parallel()
	t.Run("on", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		b := ordotest.Start(t)
		cl := newClient(t, b, kgo.AllowAutoTopicCreation())
		r := &kgo.Record{Topic: "auto-created", Value: []byte("v")}
		produceAll(t, ctx, cl, []*kgo.Record{r})
		if r.Offset != 0 {
			t.Errorf("first record at offset %d, want 0", r.Offset)
		}
		tds, err := newAdmin(t, b).ListTopics(ctx, "auto-created")
		if err != nil || tds["auto-created"].Err != nil {
			t.Fatalf("ListTopics: %v / %v", err, tds["auto-created"].Err)
		}
		if n := len(tds["auto-created"].Partitions); n != 1 {
			t.Errorf("auto-created topic has %d partitions, want num.partitions = 1", n)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 45*time.Second)
		b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
		cl := newClient(t, b, kgo.AllowAutoTopicCreation(), kgo.UnknownTopicRetries(2))
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: "not-created", Value: []byte("v")}).FirstErr()
		if !errors.Is(err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("producing to an unknown topic with auto-create off: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
		}
		tds, err := newAdmin(t, b).ListTopics(ctx)
		if err != nil {
			t.Fatalf("ListTopics: %v", err)
		}
		if tds.Has("not-created") {
			t.Errorf("the topic was created although auto.create.topics.enable=false")
		}
	})
}

// TestKgoMessageTooLarge: a batch over the topic's max.message.bytes is
// refused with MESSAGE_TOO_LARGE and leaves no trace in the log.
func TestKgoMessageTooLarge(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 30*time.Second)
	b := ordotest.Start(t)
	const topic = "small-messages"
	createTopic(t, ctx, newAdmin(t, b), topic, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("1000")})
	cl := newClient(t, b, kgo.ProducerBatchCompression(kgo.NoCompression()))

	big := make([]byte, 2000)
	for i := range big {
		big[i] = byte(rand.N(256))
	}
	err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: big}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("producing a 2,000-byte record with max.message.bytes=1000: %v, want MESSAGE_TOO_LARGE", err)
	}
	small := &kgo.Record{Topic: topic, Value: []byte("fits")}
	produceAll(t, ctx, cl, []*kgo.Record{small})
	if small.Offset != 0 {
		t.Errorf("the record after the refused batch is at offset %d, want 0", small.Offset)
	}
	got := drain(t, ctx, b, topic)[0]
	if len(got) != 1 || string(got[0].Value) != "fits" {
		t.Errorf("the log holds %d records, want only the small one", len(got))
	}
}

// TestKgoFetchOutOfRange: a fetch past the log end gets OFFSET_OUT_OF_RANGE
// with the high watermark, a fetch at the log end waits and returns nothing,
// and a kgo consumer asked to start past the end resets per its
// ConsumeResetOffset.
func TestKgoFetchOutOfRange(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 30*time.Second)
	b := ordotest.Start(t)
	const topic = "out-of-range"
	createTopic(t, ctx, newAdmin(t, b), topic, 1, nil)
	cl := newClient(t, b)
	rs := keyedRecords(topic, 10, pastBase())
	produceAll(t, ctx, cl, rs)

	// The topic goes by name up to Fetch v12 and by ID from v13 (KIP-516);
	// kgo picks the version, so the request carries both.
	tds, err := newAdmin(t, b).ListTopics(ctx, topic)
	if err != nil || tds[topic].Err != nil {
		t.Fatalf("ListTopics: %v / %v", err, tds[topic].Err)
	}
	fetch := func(offset int64) kmsg.FetchResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = -1
		req.MaxWaitMillis = 200
		req.MinBytes = 1
		req.MaxBytes = 1 << 20
		req.SessionEpoch = -1 // no fetch session
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rt.TopicID = tds[topic].ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = 0
		rp.FetchOffset = offset
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("Fetch at %d: %v", offset, err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("Fetch at %d: answered %d topics, want 1 with 1 partition", offset, len(resp.Topics))
		}
		return resp.Topics[0].Partitions[0]
	}

	p := fetch(100)
	if err := kerr.ErrorForCode(p.ErrorCode); !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Errorf("Fetch at 100 with a log of 10: %v, want OFFSET_OUT_OF_RANGE", err)
	}
	if p.HighWatermark != 10 || p.LogStartOffset != 0 {
		t.Errorf("Fetch at 100: high watermark %d, log start %d; want 10 and 0", p.HighWatermark, p.LogStartOffset)
	}
	p = fetch(10)
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil || len(p.RecordBatches) != 0 || p.HighWatermark != 10 {
		t.Errorf("Fetch at the log end: %v, %d bytes, high watermark %d; want no error, no records, 10", err, len(p.RecordBatches), p.HighWatermark)
	}
	p = fetch(3)
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil || len(p.RecordBatches) == 0 {
		t.Errorf("Fetch at 3: %v with %d bytes; want records", err, len(p.RecordBatches))
	}

	consumer := newClient(t, b,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(100)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumer starting past the end never reset: %v", ctx.Err())
		}
		fetches.EachError(func(_ string, _ int32, err error) { t.Fatalf("consuming: %v", err) })
		if recs := fetches.Records(); len(recs) > 0 {
			if recs[0].Offset != 0 || !bytes.Equal(recs[0].Key, rs[0].Key) {
				t.Errorf("after resetting to the start, the first record is %d (%q), want 0 (%q)", recs[0].Offset, recs[0].Key, rs[0].Key)
			}
			return
		}
	}
}

// TestKgoDurableAcrossRestart: records acknowledged with acks=all survive a
// clean restart at the same offsets, and new records continue the log.
func TestKgoDurableAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t)
	const topic = "restart"
	createTopic(t, ctx, newAdmin(t, b), topic, 3, nil)
	cl := newClient(t, b)
	rs := keyedRecords(topic, 600, pastBase())
	produceAll(t, ctx, cl, rs)
	want := produced(rs)
	requireDenseFromZero(t, want)

	b.Restart()

	requireSameLog(t, want, drain(t, ctx, b, topic))
	after := &kgo.Record{Topic: topic, Partition: 0, Value: []byte("after restart")}
	produceAll(t, ctx, newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner())), []*kgo.Record{after})
	if after.Offset != int64(len(want[0])) {
		t.Errorf("first record after the restart at offset %d, want %d", after.Offset, len(want[0]))
	}
}

// TestKgoDurableAcrossCrash: with the default flush.messages=1 the broker
// fsyncs before acknowledging, so every record acknowledged with acks=all
// survives power loss, even when the last unsynced write is torn.
func TestKgoDurableAcrossCrash(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t, ordotest.WithMemFS(fs.NewMem()))
	const topic = "crash-synced"
	createTopic(t, ctx, newAdmin(t, b), topic, 3, nil)
	cl := newClient(t, b)
	rs := keyedRecords(topic, 600, pastBase())
	produceAll(t, ctx, cl, rs)
	want := produced(rs)
	requireDenseFromZero(t, want)

	b.Crash(fs.CrashOptions{})
	requireSameLog(t, want, drain(t, ctx, b, topic))

	// Once more, appending to the recovered log and tearing the last write.
	more := keyedRecords(topic, 300, pastBase().Add(time.Minute))
	produceAll(t, ctx, newClient(t, b), more)
	for _, r := range produced(more) {
		for _, x := range r {
			want[x.Partition] = append(want[x.Partition], x)
		}
	}
	requireDenseFromZero(t, want)
	b.Crash(tornCrash(t))
	requireSameLog(t, want, drain(t, ctx, b, topic))
}

// tornCrash are crash options that tear the last unsynced write of every
// file at a random point; the seed is logged so a failure can be replayed.
func tornCrash(t *testing.T) fs.CrashOptions {
	seed := rand.Uint64()
	t.Logf("crash seed %d", seed)
	return fs.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(seed, seed))}
}

// TestKgoIntervalFlushCrashKeepsPrefix: a topic with the interval flush
// policy acknowledges before fsyncing, so a crash may lose acknowledged
// records; but what survives is a prefix of what was acknowledged (no holes,
// no corruption), and the log continues right after it. A default topic on
// the same broker loses nothing.
func TestKgoIntervalFlushCrashKeepsPrefix(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 60*time.Second)
	b := ordotest.Start(t, ordotest.WithMemFS(fs.NewMem()),
		// The broker's flush loop would otherwise sync the interval topic
		// every second; an hour makes the crash land on unsynced data.
		ordotest.WithConfig(func(c *broker.Config) { c.FlushInterval = time.Hour }))
	const interval, synced = "crash-interval", "crash-default"
	adm := newAdmin(t, b)
	createTopic(t, ctx, adm, interval, 1, map[string]*string{"flush.messages": kadm.StringPtr(strconv.FormatInt(math.MaxInt64, 10))})
	createTopic(t, ctx, adm, synced, 1, nil)

	cl := newClient(t, b)
	base := pastBase()
	var acked, ackedSynced []*kgo.Record
	// Twenty separate produce calls: twenty batches, so a crash can fall
	// between any two of them.
	for i := range 20 {
		rs := keyedRecords(interval, 10, base.Add(time.Duration(i)*time.Second))
		for _, r := range rs {
			r.Value = fmt.Appendf(nil, "batch-%02d-%s", i, r.Key)
		}
		produceAll(t, ctx, cl, rs)
		acked = append(acked, rs...)
		rs = keyedRecords(synced, 10, base.Add(time.Duration(i)*time.Second))
		produceAll(t, ctx, cl, rs)
		ackedSynced = append(ackedSynced, rs...)
	}
	want := produced(acked)[0]
	requireDenseFromZero(t, map[int32][]rec{0: want})

	b.Crash(tornCrash(t))

	requireSameLog(t, produced(ackedSynced), drain(t, ctx, b, synced))
	got := drain(t, ctx, b, interval)[0]
	t.Logf("the interval-flush topic kept %d of %d acknowledged records", len(got), len(want))
	if len(got) > len(want) {
		t.Fatalf("after the crash the log has %d records, more than the %d ever produced", len(got), len(want))
	}
	requireSameLog(t, map[int32][]rec{0: want[:len(got)]}, map[int32][]rec{0: got})

	next := &kgo.Record{Topic: interval, Value: []byte("after the crash")}
	produceAll(t, ctx, newClient(t, b), []*kgo.Record{next})
	if next.Offset != int64(len(got)) {
		t.Errorf("the first record after the crash is at offset %d, want %d, right after what survived", next.Offset, len(got))
	}
}
