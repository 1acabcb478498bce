package wire_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/ordo-broker/ordo/broker/wire/wiretest"
)

// defaultRanges is the fake handler's version table (a subset of what the
// broker will advertise).
var defaultRanges = map[int16][2]int16{
	0:  {3, 11}, // Produce
	1:  {4, 12}, // Fetch
	3:  {0, 12}, // Metadata
	18: {0, 4},  // ApiVersions
	19: {2, 7},  // CreateTopics
}

type seen struct {
	key, version int16
	corr         int32
	clientID     *string
}

// fake is a Handler: it records every request, lets a test override the
// reply, and otherwise answers with simple echoing responses.
type fake struct {
	ranges map[int16][2]int16
	// handle, when set and returning non-nil, replaces the default reply.
	handle func(ctx context.Context, r *wire.Request) wire.Reply

	mu   sync.Mutex
	seen []seen
}

func (f *fake) VersionRange(key int16) (int16, int16, bool) {
	ranges := f.ranges
	if ranges == nil {
		ranges = defaultRanges
	}
	r, ok := ranges[key]
	return r[0], r[1], ok
}

func (f *fake) Handle(ctx context.Context, r *wire.Request) wire.Reply {
	f.mu.Lock()
	f.seen = append(f.seen, seen{r.Key, r.Version, r.CorrelationID, r.ClientID})
	f.mu.Unlock()
	if f.handle != nil {
		if reply := f.handle(ctx, r); reply != nil {
			return reply
		}
	}
	return wire.Ready(f.respond(r), nil)
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

// respond builds a default response: the ApiVersions table, Metadata echoing
// the client id (as cluster id) and the topics asked for, Produce with one
// partition per one produced (none at all for acks=0).
func (f *fake) respond(r *wire.Request) kmsg.Response {
	switch body := r.Body.(type) {
	case *kmsg.ApiVersionsRequest:
		return f.apiVersions()
	case *kmsg.MetadataRequest:
		resp := kmsg.NewPtrMetadataResponse()
		resp.ClusterID = r.ClientID
		for _, t := range body.Topics {
			rt := kmsg.NewMetadataResponseTopic()
			rt.Topic = t.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.ProduceRequest:
		if body.Acks == 0 {
			return nil
		}
		resp := kmsg.NewPtrProduceResponse()
		for _, t := range body.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	default:
		return r.Body.ResponseKind()
	}
}

func (f *fake) apiVersions() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	for _, key := range []int16{0, 1, 3, 18, 19} {
		lo, hi, ok := f.VersionRange(key)
		if !ok {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = key, lo, hi
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}

// start serves h and, once the server is closed at cleanup, checks that no
// wire goroutine is left.
func start(t *testing.T, cfg wire.Config, h wire.Handler) (*wire.Server, string) {
	t.Cleanup(func() { wiretest.RequireNoLeaks(t) }) // runs after the Close below
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return wiretest.Start(t, cfg, h)
}

// testWriter sends logs to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// logBuffer collects logs safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func metadataReq(version int16, topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(version)
	for _, name := range topics {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, t)
	}
	return req
}

func apiVersionsReq(version int16) *kmsg.ApiVersionsRequest {
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(version)
	req.ClientSoftwareName = "wire-test"
	req.ClientSoftwareVersion = "0.0.1"
	return req
}

func produceReq(version, acks int16) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(version)
	req.Acks = acks
	req.TimeoutMillis = 1000
	t := kmsg.NewProduceRequestTopic()
	t.Topic = "orders"
	t.Partitions = append(t.Partitions, kmsg.NewProduceRequestTopicPartition())
	req.Topics = append(req.Topics, t)
	return req
}
