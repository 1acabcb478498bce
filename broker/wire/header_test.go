package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseHeaderV1AndV2(t *testing.T) {
	id := "client-1"
	req := kmsg.NewPtrMetadataRequest()

	req.SetVersion(8) // header v1
	v1 := AppendRequest(nil, req, 42, &id)[4:]
	h, body, err := parseHeader(v1, 1)
	require.NoError(t, err)
	assert.Equal(t, header{key: 3, version: 8, corr: 42, clientID: &id}, h)
	assert.Equal(t, req.AppendTo(nil), body)

	req.SetVersion(9) // first flexible Metadata: header v2
	v2 := AppendRequest(nil, req, 43, nil)[4:]
	h, body, err = parseHeader(v2, 2)
	require.NoError(t, err)
	assert.Equal(t, header{key: 3, version: 9, corr: 43}, h, "null client id")
	assert.Equal(t, req.AppendTo(nil), body)
}

func TestHeaderVersion(t *testing.T) {
	assert.Equal(t, 0, headerVersion(7, 0, false), "ControlledShutdown v0 predates client ids")
	assert.Equal(t, 1, headerVersion(3, 8, false))
	assert.Equal(t, 2, headerVersion(3, 9, true))
	assert.Equal(t, 2, headerVersion(18, 3, true), "ApiVersions requests use header v2 when flexible")
}

func TestSkipTags(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		rest []byte
		ok   bool
	}{
		{"none", []byte{0, 9}, []byte{9}, true},
		{"two", []byte{2, 0, 1, 'a', 0x81, 0x01, 0, 9}, []byte{9}, true},
		{"empty", nil, nil, false},
		{"size past end", []byte{1, 0, 5, 'a'}, nil, false},
		{"count past end", []byte{3, 0, 0}, nil, false},
		{"huge count", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, nil, false},
		{"varint too long", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, nil, false},
		{"varint over 32 bits", []byte{0x80, 0x80, 0x80, 0x80, 0x10}, nil, false},
		{"truncated varint", []byte{0x80}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest, err := skipTags(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrMalformedHeader)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.rest, rest)
		})
	}
}

func TestParseHeaderMalformed(t *testing.T) {
	base := []byte{0, 3, 0, 8, 0, 0, 0, 1}
	for name, frame := range map[string][]byte{
		"short":               {0, 3, 0, 8, 0, 0, 0},
		"no client id length": base,
		"client id past end":  append(append([]byte{}, base...), 0, 5, 'a'),
		"client id length -2": append(append([]byte{}, base...), 0xff, 0xfe),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := parseHeader(frame, 1)
			require.ErrorIs(t, err, ErrMalformedHeader)
		})
	}
}

func TestReadFrame(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 3*frameChunk/16+5) // > 3 chunks
	stream := append(reframe(payload), reframe([]byte("next"))...)
	r := iotest.HalfReader(bytes.NewReader(stream))
	got, err := ReadFrame(r, DefaultMaxFrameBytes)
	require.NoError(t, err)
	assert.Equal(t, payload, got)
	got, err = ReadFrame(r, DefaultMaxFrameBytes)
	require.NoError(t, err)
	assert.Equal(t, []byte("next"), got)
	_, err = ReadFrame(r, DefaultMaxFrameBytes)
	assert.ErrorIs(t, err, io.EOF, "clean end between frames")

	_, err = ReadFrame(bytes.NewReader(reframe(payload)[:1000]), DefaultMaxFrameBytes)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = ReadFrame(bytes.NewReader(reframe(payload)[:4]), DefaultMaxFrameBytes)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "prefix without payload")
	_, err = ReadFrame(bytes.NewReader([]byte{0, 0}), DefaultMaxFrameBytes)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "half a prefix")

	_, err = ReadFrame(bytes.NewReader(reframe(make([]byte, 11))), 10)
	assert.ErrorIs(t, err, ErrFrameSize)
	_, err = ReadFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), 10)
	assert.ErrorIs(t, err, ErrFrameSize, "negative size")
	got, err = ReadFrame(bytes.NewReader(reframe(make([]byte, 10))), 10)
	require.NoError(t, err, "exactly the maximum is allowed")
	assert.Len(t, got, 10)
}

// A size prefix is not trusted: 100 MiB announced, 10 bytes sent, costs one
// chunk.
func TestReadFrameAllocatesAsDataArrives(t *testing.T) {
	stream := append(binary.BigEndian.AppendUint32(nil, uint32(DefaultMaxFrameBytes)), make([]byte, 10)...)
	allocs := testing.AllocsPerRun(5, func() {
		_, err := ReadFrame(bytes.NewReader(stream), DefaultMaxFrameBytes)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 3.0)
}

func TestAppendResponseHeaders(t *testing.T) {
	meta := kmsg.NewPtrMetadataResponse()
	out, err := appendResponse(nil, 3, 12, 9, meta)
	require.NoError(t, err)
	want := append(binary.BigEndian.AppendUint32(nil, 9), 0) // header v1: corr, no tags
	assert.Equal(t, append(want, meta.AppendTo(nil)...), out[4:])
	assert.Equal(t, uint32(len(out)-4), binary.BigEndian.Uint32(out))

	out, err = appendResponse(nil, 3, 8, 9, meta)
	require.NoError(t, err)
	want = binary.BigEndian.AppendUint32(nil, 9) // header v0
	assert.Equal(t, append(want, meta.AppendTo(nil)...), out[4:])

	av := kmsg.NewPtrApiVersionsResponse()
	out, err = appendResponse(nil, 18, 3, 9, av)
	require.NoError(t, err)
	want = binary.BigEndian.AppendUint32(nil, 9) // always header v0 (KIP-511)
	assert.Equal(t, append(want, av.AppendTo(nil)...), out[4:])
	assert.EqualValues(t, 3, av.GetVersion(), "the response is encoded at the request's version")

	_, err = appendResponse(nil, 3, 12, 9, av)
	assert.ErrorIs(t, err, ErrBadResponse, "wrong key")
}

// Each seed takes the path its name says, so the corpus covers them all.
func TestFuzzSeedPaths(t *testing.T) {
	seeds := fuzzSeeds()
	h := fuzzHandler{t}
	parse := func(name string) (*Request, error) {
		frame, err := ReadFrame(bytes.NewReader(seeds[name]), 1<<20)
		if err != nil {
			return nil, err
		}
		return ParseRequest(frame, h)
	}
	for _, name := range []string{"apiversions_v0", "apiversions_v3", "metadata_v1", "metadata_v12",
		"produce_v3", "produce_v9", "produce_v9_acks0", "fetch_v4", "fetch_v12", "createtopics_v2",
		"createtopics_v5", "pipelined", "header_tags"} {
		req, err := parse(name)
		require.NoError(t, err, name)
		require.NotNil(t, req.Body, name)
		assert.Equal(t, "seed-client", *req.ClientID, name)
	}
	req, err := parse("produce_v9")
	require.NoError(t, err)
	assert.Equal(t, recordBatch([]byte("k1"), []byte("hello"), []byte("k2"), []byte("world")),
		req.Body.(*kmsg.ProduceRequest).Topics[0].Partitions[0].Records)

	req, err = parse("apiversions_v9")
	require.ErrorIs(t, err, ErrApiVersionsFallback)
	assert.EqualValues(t, 9, req.Version)
	assert.EqualValues(t, 7, req.CorrelationID)

	_, err = parse("truncated_frame")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = parse("truncated_body")
	assert.ErrorIs(t, err, ErrMalformedBody)
	for _, name := range []string{"huge_tag_count", "huge_tag_count_topic", "array_count"} {
		_, err = parse(name)
		assert.ErrorIs(t, err, ErrMalformedBody, name)
	}
	_, err = parse("bad_tagged_field")
	assert.ErrorIs(t, err, ErrMalformedHeader)
	_, err = parse("unknown_key")
	assert.ErrorIs(t, err, ErrUnknownKey)
	_, err = parse("oversize_size")
	assert.ErrorIs(t, err, ErrFrameSize)
}

func TestParseRequestVersions(t *testing.T) {
	h := fuzzHandler{t}
	id := "c"
	parse := func(r kmsg.Request, v int16) (*Request, error) {
		r.SetVersion(v)
		return ParseRequest(AppendRequest(nil, r, 1, &id)[4:], h)
	}
	_, err := parse(kmsg.NewPtrProduceRequest(), 2)
	assert.ErrorIs(t, err, ErrUnsupportedVersion, "below the handler's minimum")
	_, err = parse(kmsg.NewPtrProduceRequest(), 12)
	assert.ErrorIs(t, err, ErrUnsupportedVersion, "above the handler's maximum")
	_, err = parse(kmsg.NewPtrMetadataRequest(), -1)
	assert.ErrorIs(t, err, ErrUnsupportedVersion, "negative")
	_, err = parse(kmsg.NewPtrLeaderAndISRRequest(), 0)
	assert.ErrorIs(t, err, ErrUnknownKey, "known to kmsg, not implemented")
	for _, v := range []int16{-1, 4, 5, 6, 127, 32767} {
		req, err := parse(kmsg.NewPtrApiVersionsRequest(), v)
		require.ErrorIs(t, err, ErrApiVersionsFallback, "ApiVersions v%d", v)
		assert.Equal(t, v, req.Version)
		assert.Nil(t, req.Body)
	}
	resp := UnsupportedApiVersionsResponse(h)
	assert.EqualValues(t, 0, resp.Version)
	assert.EqualValues(t, 35, resp.ErrorCode)
	assert.Equal(t, []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: 0, MaxVersion: 3}}, resp.ApiKeys)
}

// A handler that claims more than kmsg decodes is narrowed to kmsg's range.
func TestSupportedRangeNarrowedToKmsg(t *testing.T) {
	lo, hi, ok := supportedRange(rangeFunc(func(int16) (int16, int16, bool) { return -5, 1000, true }), kmsg.NewPtrMetadataRequest())
	require.True(t, ok)
	assert.EqualValues(t, 0, lo)
	assert.Equal(t, kmsg.NewPtrMetadataRequest().MaxVersion(), hi)
	_, _, ok = supportedRange(rangeFunc(func(int16) (int16, int16, bool) { return 5, 4, true }), kmsg.NewPtrMetadataRequest())
	assert.False(t, ok, "empty range")
}

type rangeFunc func(int16) (int16, int16, bool)

func (f rangeFunc) VersionRange(k int16) (int16, int16, bool) { return f(k) }
