package wire

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Inputs on which kmsg v1.15.0 misbehaved, kept so that the request path
// (ParseRequest, and a live connection in server_test.go) is checked
// against them whatever decodes the body.

// tagLoopSeeds are corpus entries whose body puts a huge tagged-field count
// (KIP-482) where a tag section goes, with few bytes after it. kmsg v1.15.0
// kept counting after the input ran out, one empty iteration per unit of the
// count. Measured on a shared 2-core machine, without -race:
//
//   - huge_tag_count (Metadata v12, top-level count 2^32-1, 19 bytes): 54 s;
//   - huge_tag_count_topic (the same count in a topic's tags): 74 s;
//   - kmsg_tag_count_spin_createtopics (CreateTopics v5, found by
//     FuzzRequest): 8 s;
//   - a034cd4b8517f00a (Metadata v12, found by FuzzRequest): 3 s.
var tagLoopSeeds = []string{
	"huge_tag_count",
	"huge_tag_count_topic",
	"kmsg_tag_count_spin_createtopics",
	"a034cd4b8517f00a",
}

// amplifyingArrayBytes is the size of the topic array of arrayCountStream in
// the regression tests: claiming as many topics as there are bytes, it made
// kmsg v1.15.0 allocate 4 Mi FetchRequestTopics (268 MB) before failing on
// the first.
const amplifyingArrayBytes = 4 << 20

// hangWatchdog is how long parseOrHang lets ParseRequest run before it calls
// the decode hung. It is no speed requirement (these inputs are rejected in
// microseconds): it only turns a hang into a failure that names the input,
// instead of a panic at go test's -timeout.
const hangWatchdog = 10 * time.Second

// KmsgRegressionStreams returns the client streams above by name, for the
// live-connection test of package wire_test.
func KmsgRegressionStreams(t testing.TB) map[string][]byte {
	streams := map[string][]byte{"array_count_4Mi_topics": arrayCountStream(amplifyingArrayBytes, amplifyingArrayBytes)}
	for _, name := range tagLoopSeeds {
		streams[name] = corpusStream(t, name)
	}
	return streams
}

// corpusStream reads the stream of a FuzzRequest corpus entry.
func corpusStream(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, name))
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	require.GreaterOrEqual(t, len(lines), 2, name)
	require.Equal(t, "go test fuzz v1", lines[0], name)
	quoted, ok := strings.CutPrefix(lines[1], "[]byte(")
	require.True(t, ok, name)
	s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	require.NoError(t, err, name)
	return []byte(s)
}

// arrayCountStream is a Fetch v12 request whose topic count claims count
// topics over n bytes that hold none (0xff is no topic name). kmsg v1.15.0
// checked a count against one byte per element; a FetchRequestTopic takes
// 64 bytes of memory.
func arrayCountStream(count, n int) []byte {
	frame := []byte{0, 1, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0} // Fetch v12, corr 1, null client id, no tags
	frame = append(frame, make([]byte, 25)...)              // ReplicaID ... SessionEpoch
	frame = binary.AppendUvarint(frame, uint64(count)+1)    // compact array: count+1
	frame = append(frame, bytes.Repeat([]byte{0xff}, n)...)
	return reframe(frame)
}

// firstFrame is the first frame of stream, without its size prefix. (The
// fuzzer's inputs have bytes after it; a connection never reads them, as it
// closes on the first.)
func firstFrame(t testing.TB, stream []byte) []byte {
	t.Helper()
	frame, err := ReadFrame(bytes.NewReader(stream), DefaultMaxFrameBytes)
	require.NoError(t, err)
	return frame
}

// parseOrHang runs ParseRequest and fails the test if it has not returned
// within hangWatchdog. A hung decode cannot be stopped; its goroutine is
// left to the end of the test binary.
func parseOrHang(t *testing.T, frame []byte) (*Request, error) {
	t.Helper()
	type result struct {
		req *Request
		err error
	}
	done := make(chan result, 1)
	go func() {
		req, err := ParseRequest(frame, fuzzHandler{t})
		done <- result{req, err}
	}()
	select {
	case r := <-done:
		return r.req, r.err
	case <-time.After(hangWatchdog):
		t.Fatalf("ParseRequest still running after %v: a decode loop is not bounded by the input", hangWatchdog)
		return nil, nil
	}
}

func TestTagLoopInputsRejected(t *testing.T) {
	for _, name := range tagLoopSeeds {
		t.Run(name, func(t *testing.T) {
			_, err := parseOrHang(t, firstFrame(t, corpusStream(t, name)))
			require.ErrorIs(t, err, ErrMalformedBody)
		})
	}
}

// An array count that cannot fit the bytes left (a Fetch v12 topic takes at
// least 2) is rejected before anything is allocated for its elements.
func TestMalformedArrayDoesNotAmplify(t *testing.T) {
	frame := firstFrame(t, arrayCountStream(amplifyingArrayBytes, amplifyingArrayBytes))
	allocated, err := parseAllocating(t, frame)
	require.ErrorIs(t, err, ErrMalformedBody)
	assert.Less(t, allocated, uint64(1<<20), "bytes allocated to reject a %d-byte frame", len(frame))
}

// A count that does fit (n/2 topics over n bytes) is decoded up to its
// first element, after kmsg has allocated all of them: 64 bytes of memory
// per 2 bytes of frame, 32 times the frame. That is what decoding with kmsg
// alone costs a malformed body, and not far from what a well-formed one of
// the same size costs (n/3 empty topics, 3 bytes each: 21 times). The test
// compares the two rather than fixing a factor, because the race detector
// doubles both.
func TestMalformedArrayCostsLikeWellFormed(t *testing.T) {
	const n = 256 << 10
	malformed := firstFrame(t, arrayCountStream(n/2, n))
	bad, err := parseAllocating(t, malformed)
	require.ErrorIs(t, err, ErrMalformedBody)

	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.Topics = make([]kmsg.FetchRequestTopic, n/3)
	wellFormed := AppendRequest(nil, req, 1, nil)[4:]
	require.InDelta(t, len(malformed), len(wellFormed), 64)
	good, err := parseAllocating(t, wellFormed)
	require.NoError(t, err)

	t.Logf("allocated for a %d-byte frame: malformed %d, well-formed %d", len(malformed), bad, good)
	assert.Less(t, bad, 2*good, "bytes allocated for a malformed %d-byte frame, vs a well-formed one", len(malformed))
}

// parseAllocating is parseOrHang with the bytes allocated meanwhile.
func parseAllocating(t *testing.T, frame []byte) (uint64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := parseOrHang(t, frame)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}
