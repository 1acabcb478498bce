package handler_test

import (
	"context"
	"hash/crc32"
	"testing"
	"time"

	"github.com/ordo-broker/ordo/broker"
	"github.com/ordo-broker/ordo/broker/ordotest"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// These tests send hand-built requests with kmsg to check the exact error
// codes and fields; the real-client tests live in broker/clienttest.

func client(t *testing.T, b *ordotest.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func createTopic(t *testing.T, cl *kgo.Client, name string, partitions int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.NoError(t, kerr.ErrorForCode(resp.Topics[0].ErrorCode))
}

// batch builds a v2 record batch of n records with a correct CRC.
func batch(n int, ts int64) []byte {
	rb := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(n - 1),
		FirstTimestamp:  ts,
		MaxTimestamp:    ts + int64(n-1),
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(n),
	}
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{
			TimestampDelta64: int64(i),
			OffsetDelta:      int32(i),
			Key:              []byte{byte('k'), byte(i)},
			Value:            []byte("value"),
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb.Records = recs
	raw := rb.AppendTo(nil)
	rb.Length = int32(len(raw) - 12)
	raw = rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

func produce(t *testing.T, cl *kgo.Client, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	return resp.Topics[0].Partitions[0]
}

func TestProduceErrors(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
	cl := client(t, b)
	createTopic(t, cl, "t", 1, map[string]string{"max.message.bytes": "2000"})

	ok := produce(t, cl, "t", 0, batch(3, 1000))
	require.Zero(t, ok.ErrorCode)
	require.Equal(t, int64(0), ok.BaseOffset)
	ok = produce(t, cl, "t", 0, batch(2, 1000))
	require.Zero(t, ok.ErrorCode)
	require.Equal(t, int64(3), ok.BaseOffset, "offsets are dense")

	bad := batch(1, 1000)
	bad[len(bad)-1] ^= 0xff
	require.Equal(t, kerr.CorruptMessage.Code, produce(t, cl, "t", 0, bad).ErrorCode)

	magic1 := batch(1, 1000)
	magic1[16] = 1
	require.NotZero(t, produce(t, cl, "t", 0, magic1).ErrorCode)

	// Bytes too short for the batch their length announces hold no batch:
	// Kafka's ProduceRequest.validateRecords answers INVALID_RECORD.
	require.Equal(t, kerr.InvalidRecord.Code, produce(t, cl, "t", 0, batch(1, 1000)[:30]).ErrorCode)
	require.Equal(t, kerr.MessageTooLarge.Code, produce(t, cl, "t", 0, batch(200, 1000)).ErrorCode)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, produce(t, cl, "t", 7, batch(1, 1000)).ErrorCode)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, produce(t, cl, "nope", 0, batch(1, 1000)).ErrorCode)

	// Nothing that failed was appended.
	lo := listOffset(t, cl, "t", 0, -1, -1)
	require.Equal(t, int64(5), lo.Offset)
}

func listOffset(t *testing.T, cl *kgo.Client, topic string, partition int32, ts int64, epoch int32) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, ts, epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	return resp.Topics[0].Partitions[0]
}

func TestListOffsets(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	require.Zero(t, produce(t, cl, "t", 0, batch(3, 1000)).ErrorCode) // offsets 0-2, ts 1000-1002
	require.Zero(t, produce(t, cl, "t", 0, batch(3, 5000)).ErrorCode) // offsets 3-5, ts 5000-5002

	for name, tc := range map[string]struct {
		ts         int64
		off, wants int64
	}{
		"latest":          {-1, 6, -1},
		"earliest":        {-2, 0, -1},
		"max timestamp":   {-3, 5, 5002},
		"before all":      {0, 0, 1000},
		"inside a batch":  {1001, 1, 1001},
		"between batches": {1003, 3, 5000},
		"inside second":   {5002, 5, 5002},
		"after all":       {9000, -1, -1},
	} {
		t.Run(name, func(t *testing.T) {
			lo := listOffset(t, cl, "t", 0, tc.ts, -1)
			require.Zero(t, lo.ErrorCode)
			require.Equal(t, tc.off, lo.Offset)
			if tc.ts >= -3 && tc.ts != -1 && tc.ts != -2 {
				require.Equal(t, tc.wants, lo.Timestamp)
			}
		})
	}
	require.Equal(t, kerr.UnknownLeaderEpoch.Code, listOffset(t, cl, "t", 0, -1, 3).ErrorCode)
}

func fetch(t *testing.T, cl *kgo.Client, topic string, partition int32, offset int64, epoch int32, maxBytes int32, maxWait int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, maxWait, 1, maxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.CurrentLeaderEpoch, rp.PartitionMaxBytes = partition, offset, epoch, maxBytes
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Zero(t, resp.SessionID, "fetch sessions are declined")
	return resp.Topics[0].Partitions[0]
}

func TestFetch(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	first := batch(3, 1000)
	second := batch(3, 2000)
	produce(t, cl, "t", 0, first)
	produce(t, cl, "t", 0, second)

	// The batch containing offset 1 comes back whole, from offset 0.
	fp := fetch(t, cl, "t", 0, 1, -1, 1<<20, 0)
	require.Zero(t, fp.ErrorCode)
	require.Equal(t, int64(6), fp.HighWatermark)
	require.Equal(t, int64(6), fp.LastStableOffset)
	require.Equal(t, int64(0), fp.LogStartOffset)
	require.Len(t, fp.RecordBatches, len(first)+len(second))
	var rb kmsg.RecordBatch
	require.NoError(t, rb.ReadFrom(fp.RecordBatches))
	require.Equal(t, int64(0), rb.FirstOffset)

	// KIP-74: one whole batch even when MaxBytes is smaller.
	fp = fetch(t, cl, "t", 0, 3, -1, 10, 0)
	require.Zero(t, fp.ErrorCode)
	require.Len(t, fp.RecordBatches, len(second))

	require.Equal(t, kerr.OffsetOutOfRange.Code, fetch(t, cl, "t", 0, 7, -1, 1<<20, 0).ErrorCode)
	require.Equal(t, kerr.UnknownLeaderEpoch.Code, fetch(t, cl, "t", 0, 0, 5, 1<<20, 0).ErrorCode)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, fetch(t, cl, "t", 3, 0, -1, 1<<20, 0).ErrorCode)

	// At the end, with MaxWait, a fetch waits and returns empty.
	fp = fetch(t, cl, "t", 0, 6, -1, 1<<20, 100)
	require.Zero(t, fp.ErrorCode)
	require.Empty(t, fp.RecordBatches)
}

func TestFetchLongPollWakesOnProduce(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	producer := client(t, b)
	createTopic(t, cl, "t", 1, nil)
	done := make(chan kmsg.FetchResponseTopicPartition, 1)
	go func() {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 20000, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			close(done)
			return
		}
		done <- resp.Topics[0].Partitions[0]
	}()
	// Produce until the waiting fetch returns records: it must wake on the
	// append long before its 20 s MaxWait (the test deadline is 15 s).
	deadline := time.After(15 * time.Second)
	for {
		produce(t, producer, "t", 0, batch(1, 1000))
		select {
		case fp, ok := <-done:
			require.True(t, ok)
			require.NotEmpty(t, fp.RecordBatches)
			return
		case <-deadline:
			t.Fatal("long-polling fetch did not wake on produce")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestMetadataAndAutoCreate(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.DefaultPartitions = 3 }))
	cl := client(t, b)
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range []string{"auto", "bad name"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	req.AllowAutoTopicCreation = true
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Len(t, resp.Brokers, 1)
	require.Equal(t, resp.Brokers[0].NodeID, resp.ControllerID)
	require.NotNil(t, resp.ClusterID)
	require.Zero(t, resp.Topics[0].ErrorCode)
	require.Len(t, resp.Topics[0].Partitions, 3)
	require.NotEqual(t, [16]byte{}, resp.Topics[0].TopicID)
	require.Equal(t, kerr.InvalidTopicException.Code, resp.Topics[1].ErrorCode)

	// Not allowed to create: UNKNOWN_TOPIC_OR_PARTITION.
	req.AllowAutoTopicCreation = false
	req.Topics = req.Topics[:0]
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("other")
	req.Topics = append(req.Topics, rt)
	resp, err = req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, resp.Topics[0].ErrorCode)

	// Null topics: all of them.
	req.Topics = nil
	resp, err = req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Len(t, resp.Topics, 1)
}

func TestCreateTopicsErrors(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	req := kmsg.NewPtrCreateTopicsRequest()
	add := func(name string, parts int32, rf int16, cfg map[string]string) {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, rf
		for k, v := range cfg {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			rt.Configs = append(rt.Configs, c)
		}
		req.Topics = append(req.Topics, rt)
	}
	add("ok", 2, 1, map[string]string{"retention.ms": "1000"})
	add("bad/name", 1, 1, nil)
	add("zero", 0, 1, nil)
	add("rf", 1, 3, nil)
	add("cfg", 1, 1, map[string]string{"retention.ms": "soon"})
	add("unknowncfg", 1, 1, map[string]string{"no.such.config": "1"})
	add("dup", 1, 1, nil)
	add("dup", 1, 1, nil)
	add("defaults", -1, -1, nil)
	resp, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	codes := map[string]int16{}
	for _, rt := range resp.Topics {
		codes[rt.Topic] = rt.ErrorCode
	}
	require.Equal(t, map[string]int16{
		"ok":         0,
		"bad/name":   kerr.InvalidTopicException.Code,
		"zero":       kerr.InvalidPartitions.Code,
		"rf":         kerr.InvalidReplicationFactor.Code,
		"cfg":        kerr.InvalidConfig.Code,
		"unknowncfg": kerr.InvalidConfig.Code,
		"dup":        kerr.InvalidRequest.Code,
		"defaults":   0,
	}, codes)
	require.Equal(t, int32(2), resp.Topics[0].NumPartitions)

	// Again: TOPIC_ALREADY_EXISTS; validate-only of a new one creates nothing.
	req.Topics = req.Topics[:1]
	resp, err = req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.TopicAlreadyExists.Code, resp.Topics[0].ErrorCode)
}

func TestApiVersionsListsOnlyRegisteredKeys(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx(t), cl)
	require.NoError(t, err)
	got := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	require.Equal(t, [2]int16{0, 4}, got[18])
	require.Equal(t, [2]int16{3, 11}, got[0])
	require.Equal(t, [2]int16{4, 12}, got[1])
	require.Equal(t, [2]int16{0, 4}, got[22], "InitProducerId")
	for _, txn := range []int16{24, 25, 26, 27, 28} {
		require.NotContains(t, got, txn, "transaction APIs are not served")
	}
	for key, want := range map[int16][2]int16{
		10: {0, 4}, 11: {0, 9}, 14: {0, 5}, 12: {0, 4}, 13: {0, 5},
		8: {2, 9}, 9: {1, 9}, 15: {0, 5}, 16: {0, 4}, 42: {0, 2}, 47: {0, 0},
	} {
		require.Equal(t, want, got[key], "group API key %d", key)
	}
}

func TestProduceToInternalTopicIsRefused(t *testing.T) {
	b := ordotest.Start(t, ordotest.WithConfig(func(c *broker.Config) { c.OffsetsTopicPartitions = 1 }))
	cl := client(t, b)
	// FindCoordinator creates __consumer_offsets.
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = "g"
	_, err := req.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.InvalidTopicException.Code, produce(t, cl, "__consumer_offsets", 0, batch(1, 1000)).ErrorCode)
}

func TestAlterConfigsOfTheBrokerIsRefused(t *testing.T) {
	b := ordotest.Start(t)
	cl := client(t, b)
	alter := kmsg.NewPtrAlterConfigsRequest()
	ar := kmsg.NewAlterConfigsRequestResource()
	ar.ResourceType, ar.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	alter.Resources = append(alter.Resources, ar)
	aresp, err := alter.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.InvalidRequest.Code, aresp.Resources[0].ErrorCode)
	require.NotNil(t, aresp.Resources[0].ErrorMessage)

	incr := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ir := kmsg.NewIncrementalAlterConfigsRequestResource()
	ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	incr.Resources = append(incr.Resources, ir)
	iresp, err := incr.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Equal(t, kerr.InvalidRequest.Code, iresp.Resources[0].ErrorCode)

	// Describing the broker works: every config read-only, with a source.
	desc := kmsg.NewPtrDescribeConfigsRequest()
	dr := kmsg.NewDescribeConfigsRequestResource()
	dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	desc.Resources = append(desc.Resources, dr)
	dresp, err := desc.RequestWith(ctx(t), cl)
	require.NoError(t, err)
	require.Zero(t, dresp.Resources[0].ErrorCode)
	require.NotEmpty(t, dresp.Resources[0].Configs)
	for _, c := range dresp.Resources[0].Configs {
		require.True(t, c.ReadOnly, c.Name)
	}
}
