package wire

import (
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// go test -run TestFuzzCorpus -update-corpus ./broker/wire/ rewrites the seed
// corpus of FuzzRequest from fuzzSeeds.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzRequest from fuzzSeeds")

const corpusDir = "testdata/fuzz/FuzzRequest"

func TestFuzzCorpus(t *testing.T) {
	for name, stream := range fuzzSeeds() {
		path := filepath.Join(corpusDir, name)
		if *updateCorpus {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(stream)) + ")\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("seed %s missing (run with -update-corpus): %v", name, err)
		}
	}
}

// fuzzSeeds are whole client streams (size-prefixed frames), as FuzzRequest
// takes them.
func fuzzSeeds() map[string][]byte {
	id := "seed-client"
	frame := func(r kmsg.Request, version int16) []byte {
		r.SetVersion(version)
		return AppendRequest(nil, r, 7, &id)
	}

	apiVersions := kmsg.NewPtrApiVersionsRequest()
	apiVersions.ClientSoftwareName = "ordo-seed"
	apiVersions.ClientSoftwareVersion = "1.0.0"

	metadata := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("orders")
	metadata.Topics = append(metadata.Topics, mt)
	metadata.AllowAutoTopicCreation = true

	produce := func(acks int16) *kmsg.ProduceRequest {
		p := kmsg.NewPtrProduceRequest()
		p.Acks = acks
		p.TimeoutMillis = 1000
		pt := kmsg.NewProduceRequestTopic()
		pt.Topic = "orders"
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Records = recordBatch([]byte("k1"), []byte("hello"), []byte("k2"), []byte("world"))
		pt.Partitions = append(pt.Partitions, pp)
		p.Topics = append(p.Topics, pt)
		return p
	}

	fetch := kmsg.NewPtrFetchRequest()
	fetch.ReplicaID = -1
	fetch.MaxWaitMillis = 500
	fetch.MinBytes = 1
	fetch.MaxBytes = 50 << 20
	fetch.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "orders"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset = 42
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)

	create := kmsg.NewPtrCreateTopicsRequest()
	create.TimeoutMillis = 5000
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic = "orders"
	ct.NumPartitions = 3
	ct.ReplicationFactor = 1
	cc := kmsg.NewCreateTopicsRequestTopicConfig()
	cc.Name = "cleanup.policy"
	cc.Value = kmsg.StringPtr("compact")
	ct.Configs = append(ct.Configs, cc)
	create.Topics = append(create.Topics, ct)

	produce9 := frame(produce(-1), 9)
	metadata12 := frame(metadata, 12)

	seeds := map[string][]byte{
		"apiversions_v0":   frame(apiVersions, 0),
		"apiversions_v3":   frame(apiVersions, 3),
		"apiversions_v9":   frame(apiVersions, 9), // KIP-511 fallback
		"metadata_v1":      frame(metadata, 1),
		"metadata_v12":     metadata12,
		"produce_v3":       frame(produce(1), 3),
		"produce_v9":       produce9,
		"produce_v9_acks0": frame(produce(0), 9),
		"fetch_v4":         frame(fetch, 4),
		"fetch_v12":        frame(fetch, 12),
		"createtopics_v2":  frame(create, 2),
		"createtopics_v5":  frame(create, 5),
		"pipelined":        append(frame(apiVersions, 3), metadata12...),
		// The size prefix announces more than follows.
		"truncated_frame": produce9[:len(produce9)/2],
		// A consistent size prefix around a body cut short.
		"truncated_body": reframe(produce9[4 : len(produce9)/2]),
		// Header v2 whose one tagged field claims 100 bytes.
		"bad_tagged_field": withHeaderTags(metadata12, len(id), []byte{1, 0, 100, 'x'}),
		// Header v2 with two well-formed unknown tags.
		"header_tags": withHeaderTags(metadata12, len(id), []byte{2, 0, 3, 'a', 'b', 'c', 5, 1, 'x'}),
		// Metadata v12 whose body's tag count is 2^32-1, and the same
		// count in the tags of its one topic: kmsg v1.15.0 counted them
		// down after the input ran out, a minute each (see
		// kmsg_regress_test.go).
		"huge_tag_count": reframe([]byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0,
			0x01, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f}),
		"huge_tag_count_topic": reframe(append([]byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0, 0x02},
			append(make([]byte, 16), 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f)...)),
		// Fetch v12 claiming as many topics as bytes follow, none valid
		// (arrayCountStream, small).
		"array_count":   arrayCountStream(64, 64),
		"unknown_key":   reframe([]byte{0x03, 0xe8, 0, 0, 0, 0, 0, 1, 0xff, 0xff}),
		"oversize_size": {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	}
	return seeds
}

// reframe puts a size prefix before payload.
func reframe(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// withHeaderTags replaces the empty tag section of a header v2 frame made by
// AppendRequest (client id of idLen bytes) with tags.
func withHeaderTags(frame []byte, idLen int, tags []byte) []byte {
	at := 4 + 8 + 2 + idLen // size, key+version+corr, client id
	if frame[at] != 0 {
		panic(fmt.Sprintf("no empty tag section at %d", at))
	}
	out := append([]byte{}, frame[4:at]...)
	out = append(out, tags...)
	out = append(out, frame[at+1:]...)
	return reframe(out)
}

// recordBatch encodes a valid magic-2 batch (lengths and CRC-32C right) of
// key/value pairs.
func recordBatch(kvs ...[]byte) []byte {
	var records []byte
	for i := 0; i+1 < len(kvs); i += 2 {
		r := kmsg.Record{OffsetDelta: int32(i / 2), Key: kvs[i], Value: kvs[i+1]}
		body := r.AppendTo(nil)[1:] // without the 1-byte varint length 0
		r.Length = int32(len(body))
		records = append(records, r.AppendTo(nil)...)
	}
	n := int32(len(kvs) / 2)
	b := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: n - 1,
		FirstTimestamp:  1700000000000,
		MaxTimestamp:    1700000000000,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      n,
		Records:         records,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	crc := crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(out[17:], crc)
	return out
}
