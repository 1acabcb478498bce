package kmsgguard

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The copy must come from the kmsg that decodes for real. (Test binaries do
// not record module versions, so ask the go command, as gen does.)
func TestKmsgVersion(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}",
		"github.com/twmb/franz-go/pkg/kmsg").Output()
	require.NoError(t, err)
	require.Equal(t, KmsgVersion, strings.TrimSpace(string(out)),
		"kmsg changed: run go generate ./broker/wire/internal/kmsgguard")
}

// The input FuzzRequest found: a Metadata v12 body whose top-level tag count
// is 2^32-1. kmsg alone takes about a minute on it.
func TestHugeTagCountFailsFast(t *testing.T) {
	for name, body := range map[string][]byte{
		"top-level tags":      {0x01, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"nested tags (topic)": {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		start := time.Now()
		assert.Error(t, Check(3, 12, body), name)
		assert.Less(t, time.Since(start), time.Second, name)
	}
	assert.Equal(t, 6, patchedLoops)
	assert.Positive(t, patchedArrays)
}

// Check accepts exactly what kmsg accepts: every request kmsg knows, at
// every version, populated, and every truncation of it. (Truncations only,
// because a mutated body could make kmsg itself spin.)
func TestAgreesWithKmsg(t *testing.T) {
	checked := 0
	for key := int16(0); key < 200; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		for v := int16(0); v <= req.MaxVersion(); v++ {
			req := kmsg.RequestForKey(key)
			populate(reflect.ValueOf(req).Elem(), 0)
			req.SetVersion(v)
			full := req.AppendTo(nil)
			require.NoError(t, Check(key, v, full), "key %d v%d", key, v)
			for n := 0; n < len(full); n++ {
				want := kmsg.RequestForKey(key)
				want.SetVersion(v)
				kerr := want.ReadFrom(full[:n])
				gerr := Check(key, v, full[:n])
				require.Equal(t, kerr == nil, gerr == nil, "key %d v%d cut at %d/%d: kmsg %v, guard %v", key, v, n, len(full), kerr, gerr)
				checked++
			}
		}
	}
	t.Logf("%d truncations agree", checked)
	assert.ErrorIs(t, Check(-1, 0, nil), errUnknownKey)
}

// populate fills every exported field so that every array has an element
// and every string and byte field has content.
func populate(v reflect.Value, depth int) {
	if depth > 6 {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Name != "Version" {
				populate(v.Field(i), depth+1)
			}
		}
	case reflect.String:
		v.SetString("abc")
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.String {
			s := "xyz"
			v.Set(reflect.ValueOf(&s))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{1, 2, 3})
			return
		}
		// Two elements, so that the guard's reuse of one is exercised.
		s := reflect.MakeSlice(v.Type(), 2, 2)
		populate(s.Index(0), depth+1)
		populate(s.Index(1), depth+1)
		v.Set(s)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	}
}
