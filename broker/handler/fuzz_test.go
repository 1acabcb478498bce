package handler

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"testing"

	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/metadata"
	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/producerid"
	"github.com/ordo-broker/ordo/broker/recordbatch"
	"github.com/ordo-broker/ordo/broker/recordbatch/recordbatchtest"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newFuzzHandlers builds the real handlers over an in-memory disk with one
// topic, "t", of two partitions.
func newFuzzHandlers(t testing.TB) *Handlers {
	m := fs.NewMem()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl, err := controller.Open(m, "/data/__cluster_metadata-0", "fuzz", logger)
	if err != nil {
		t.Fatal(err)
	}
	parts := partition.NewManager(partition.Config{FS: m, Dir: "/data", Logger: logger})
	ctl.Subscribe(func(prev, next *metadata.Image) { _ = parts.Apply(prev, next) })
	if err := ctl.RegisterBroker(metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.CreateTopic(controller.CreateTopic{Name: "t", NumPartitions: 2, ReplicationFactor: 1}, controller.Defaults{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	gcfg := group.DefaultConfig()
	gcfg.InitialRebalanceDelay = 0
	groups := group.NewCoordinator(group.CoordinatorConfig{NodeID: 0, Partitions: 3, Group: gcfg, Logger: logger}, ctl,
		func(p int32) group.Log {
			if pt := parts.Get(group.OffsetsTopic, p); pt != nil {
				return pt
			}
			return nil
		})
	ctl.Subscribe(groups.OnImage)
	t.Cleanup(func() { _ = groups.Close(); _ = parts.Close(); _ = ctl.Close() })
	return New(Deps{
		NodeID: 0, Controller: ctl, Partitions: parts, AutoCreateTopics: true,
		ProducerIDs: producerid.New(ctl, 0),
		Groups:      groups,
		Defaults:    controller.Defaults{NumPartitions: 1, ReplicationFactor: 1},
		Logger:      logger,
	})
}

// FuzzHandlers drives the whole request path a client's bytes take: frame →
// header → kmsg decode (wire.ParseRequest) → the real handler → the
// response's encoding. Nothing may panic; every response must encode.
//
// A Produce request runs a second time with the CRC of each partition's
// first batch made right: the fuzzer's mutations of a batch otherwise
// stop at the CRC check, and never reach what follows it (the codecs,
// the record walk, the producer state). The seeds hold batches of every
// codec and decompression bombs.
func FuzzHandlers(f *testing.F) {
	for _, frame := range seedFrames(f) {
		f.Add(frame)
	}
	h := newFuzzHandlers(f)
	handle := func(frame []byte) {
		req, err := wire.ParseRequest(frame, h)
		if err != nil {
			return
		}
		// An already-cancelled context: long polls and waits for commits
		// return at once instead of slowing the fuzzer down.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		resp, err := h.Handle(ctx, req).Wait()
		if err != nil || resp == nil {
			return
		}
		resp.SetVersion(req.Version)
		_ = resp.AppendTo(nil)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		// Handlers may rewrite what the request aliases (Produce sets
		// offsets in place): the second run parses its own copy.
		again := append([]byte(nil), frame...)
		handle(frame)
		if fixProduceCRCs(again) {
			handle(again)
		}
	})
}

// fixProduceCRCs sets the CRC of the first batch of each partition of the
// Produce request frame, where the batch is whole, and reports whether it
// is one. The records are rewritten in the frame's own bytes (kmsg's
// decoding aliases them).
func fixProduceCRCs(frame []byte) bool {
	req, err := wire.ParseRequest(frame, &Handlers{})
	if err != nil || req.Key != kmsg.Produce.Int16() {
		return false
	}
	for _, t := range req.Body.(*kmsg.ProduceRequest).Topics {
		for _, p := range t.Partitions {
			b := p.Records
			if len(b) < recordbatch.HeaderSize {
				continue
			}
			size := 12 + int(int32(binary.BigEndian.Uint32(b[8:])))
			if size < recordbatch.HeaderSize || size > len(b) {
				continue
			}
			binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:size], crc32.MakeTable(crc32.Castagnoli)))
		}
	}
	return true
}

// seedFrames encodes a request of each served key at its lowest and highest
// version (frames without the size prefix, as ParseRequest takes them), and
// Produce requests of a batch of each codec and of decompression bombs.
func seedFrames(t testing.TB) [][]byte {
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks, produce.TimeoutMillis = -1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "t"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = seedBatch()
	pt.Partitions = append(pt.Partitions, pp)
	produce.Topics = append(produce.Topics, pt)

	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)

	list := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "t"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = 0
	lt.Partitions = append(lt.Partitions, lp)
	list.Topics = append(list.Topics, lt)

	meta := kmsg.NewPtrMetadataRequest()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "u", 1, 1
	create.Topics = append(create.Topics, ct)

	desc := kmsg.NewPtrDescribeConfigsRequest()
	dr := kmsg.NewDescribeConfigsRequestResource()
	dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	desc.Resources = append(desc.Resources, dr)

	incr := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ir := kmsg.NewIncrementalAlterConfigsRequestResource()
	ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	ic := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	ic.Name, ic.Value = "retention.ms", kmsg.StringPtr("1000")
	ir.Configs = append(ir.Configs, ic)
	incr.Resources = append(incr.Resources, ir)

	del := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "t"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 0
	dt.Partitions = append(dt.Partitions, dp)
	del.Topics = append(del.Topics, dt)

	ofle := kmsg.NewPtrOffsetForLeaderEpochRequest()
	ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
	ot.Topic = "t"
	op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	ot.Partitions = append(ot.Partitions, op)
	ofle.Topics = append(ofle.Topics, ot)

	var out [][]byte
	for _, records := range seedProduceBatches(t) {
		p := kmsg.NewPtrProduceRequest()
		p.SetVersion(11)
		p.Acks, p.TimeoutMillis = 1, 1000
		pt := kmsg.NewProduceRequestTopic()
		pt.Topic = "t"
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Records = records
		pt.Partitions = append(pt.Partitions, pp)
		p.Topics = append(p.Topics, pt)
		out = append(out, wire.AppendRequest(nil, p, 1, kmsg.StringPtr("fuzz"))[4:])
	}
	for _, r := range append([]kmsg.Request{
		kmsg.NewPtrApiVersionsRequest(), meta, produce, fetch, list, create, desc, incr, del, ofle,
		kmsg.NewPtrDescribeClusterRequest(), kmsg.NewPtrCreatePartitionsRequest(), kmsg.NewPtrDeleteTopicsRequest(),
		kmsg.NewPtrAlterConfigsRequest(), kmsg.NewPtrInitProducerIDRequest(),
	}, seedGroupRequests()...) {
		lo, hi, _ := (&Handlers{}).VersionRange(r.Key())
		for _, v := range []int16{lo, hi} {
			r.SetVersion(v)
			out = append(out, wire.AppendRequest(nil, r, 1, kmsg.StringPtr("fuzz"))[4:])
		}
	}
	return out
}

func seedBatch() []byte {
	rec := kmsg.Record{Key: []byte("k"), Value: []byte("v")}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	rb := kmsg.RecordBatch{Magic: 2, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 1, Records: rec.AppendTo(nil)}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	return rb.AppendTo(nil)
}

// seedProduceBatches are a batch of three records of each codec, and
// decompression bombs: gzip, lz4 and zstd records that inflate just past
// the bound (recordbatch.MaxUncompressed), a gzip stream of zeros, and
// snappy blocks claiming 2 GiB.
func seedProduceBatches(t testing.TB) [][]byte {
	var out [][]byte
	for codec := int8(0); codec <= 4; codec++ {
		var recs []byte
		for i := range 3 {
			recs = recordbatch.AppendRecord(recs, &kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Key: []byte{'k', byte(i)}, Value: []byte("value")})
		}
		raw, err := recordbatch.Append(nil, recordbatch.Header{
			Attributes: int16(codec), LastOffsetDelta: 2, NumRecords: 3, FirstTimestamp: 1000, MaxTimestamp: 1002,
			ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		}, recs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	over := int64(recordbatch.MaxUncompressed(0)) + 1<<20
	for _, bomb := range []struct {
		codec int8
		n     int64
	}{{1, over}, {3, over}, {4, over}, {1, -over}} {
		raw, err := recordbatchtest.Bomb(bomb.codec, bomb.n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	lie := append(binary.AppendUvarint(nil, 1<<31), 0)
	xerial := append(append([]byte(nil), recordbatchtest.XerialMagic...), binary.BigEndian.AppendUint32(nil, uint32(len(lie)))...)
	return append(out, recordbatchtest.Wrap(2, 1, lie), recordbatchtest.Wrap(2, 1, append(xerial, lie...)))
}

// seedGroupRequests are one request of each group API, for group "g".
func seedGroupRequests() []kmsg.Request {
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey, find.CoordinatorKeys = "g", []string{"g"}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "g", "consumer", 10000, 10000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}}}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = "g", "m", 1
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: "m", MemberAssignment: []byte{0, 0}}}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "g", "m", 1
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = "g", "m"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "g", -1
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Offset, cp.Metadata = 1, kmsg.StringPtr("m")
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{cp}}}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "g"
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Groups = []string{"g"}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g"}
	odel := kmsg.NewPtrOffsetDeleteRequest()
	odel.Group = "g"
	odel.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	return []kmsg.Request{find, join, sync, hb, leave, commit, fetch, desc, kmsg.NewPtrListGroupsRequest(), del, odel}
}
