package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fuzzHandler implements every key kmsg knows at every version, except key 4
// (so the unimplemented-key path runs), Produce from v3 and ApiVersions up to
// v3 only (so the KIP-511 fallback runs for v4 and up).
type fuzzHandler struct{ t *testing.T }

func (fuzzHandler) VersionRange(key int16) (int16, int16, bool) {
	switch key {
	case 4:
		return 0, 0, false
	case 0:
		return 3, 11, true
	case apiVersionsKey:
		return 0, 3, true
	}
	r := kmsg.RequestForKey(key)
	if r == nil {
		return 0, 0, false
	}
	return 0, r.MaxVersion(), true
}

func (h fuzzHandler) Handle(_ context.Context, req *Request) Reply {
	if req.Body == nil || req.Body.Key() != req.Key || req.Body.GetVersion() != req.Version {
		h.t.Fatalf("inconsistent request: %+v", req)
	}
	if p, ok := req.Body.(*kmsg.ProduceRequest); ok && p.Acks == 0 {
		return Ready(nil, nil)
	}
	return Ready(req.Body.ResponseKind(), nil)
}

// FuzzRequest feeds a client's byte stream through the same functions a
// connection runs: ReadFrame, handleFrame (ParseRequest, the KIP-511
// fallback, Handler.Handle), Reply.Wait and appendResponse; only the
// goroutines, the queue and the recover guard are left out, so that a panic
// fails the fuzzer instead of being logged. Every response must parse back
// with the request's correlation id.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte) {
		h := fuzzHandler{t}
		r := bytes.NewReader(stream)
		for {
			frame, err := ReadFrame(r, 1<<20)
			if err != nil {
				return
			}
			p, err := handleFrame(context.Background(), frame, h, ConnInfo{})
			if err != nil {
				return // the connection would close
			}
			resp, err := p.reply.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if resp == nil {
				continue
			}
			out, err := appendResponse(nil, p.key, p.version, p.corr, resp)
			if err != nil {
				t.Fatal(err)
			}
			if size := binary.BigEndian.Uint32(out); int(size) != len(out)-4 {
				t.Fatalf("size prefix %d for %d bytes", size, len(out)-4)
			}
			corr, _, err := ParseResponse(out[4:], p.key, p.version)
			if err != nil {
				t.Fatalf("key %d v%d: response does not parse back: %v", p.key, p.version, err)
			}
			if corr != p.corr {
				t.Fatalf("correlation id %d, want %d", corr, p.corr)
			}
		}
	})
}
