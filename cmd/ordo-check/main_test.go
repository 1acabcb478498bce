package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ordo-broker/ordo/linearizability"
	"github.com/stretchr/testify/require"
)

func writeHistory(t *testing.T, ops ...linearizability.Op) string {
	t.Helper()
	h := make(linearizability.History, len(ops))
	for i, op := range ops {
		op.Index = i
		h[i] = op
	}
	path := filepath.Join(t.TempDir(), "history.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, linearizability.WriteHistory(f, h))
	require.NoError(t, f.Close())
	return path
}

func produce(client int, call, ret int64, v string, off int64) linearizability.Op {
	return linearizability.Op{Client: client, Kind: linearizability.KindProduce, Call: call, Return: ret, Outcome: linearizability.OK,
		Topic: "t", Values: []string{v}, Offsets: []int64{off}}
}

func latest(client int, call, ret int64, hw int64) linearizability.Op {
	return linearizability.Op{Client: client, Kind: linearizability.KindListOffsets, Call: call, Return: ret, Outcome: linearizability.OK,
		Topic: "t", Spec: linearizability.SpecLatest, Offset: hw, Linearizable: true}
}

func TestCleanHistoryExitsZero(t *testing.T) {
	path := writeHistory(t, produce(0, 0, 10, "a", 0), latest(1, 20, 30, 1))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{path}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "static: PASS")
	require.Contains(t, out.String(), "porcupine log: PASS")
	require.Contains(t, out.String(), "verdict: PASS")
	require.NoDirExists(t, filepath.Join(filepath.Dir(path), "history.check"), "no visualization for a clean history")
}

func TestFailingHistoryExitsOneAndWritesVisualization(t *testing.T) {
	// A stale high watermark and a value read at two offsets.
	path := writeHistory(t, produce(0, 0, 10, "a", 0), latest(1, 20, 30, 0),
		linearizability.Op{Client: 2, Kind: linearizability.KindPoll, Call: 40, Return: 50, Outcome: linearizability.OK,
			Records: []linearizability.Record{{Topic: "t", Offset: 0, Value: "a"}, {Topic: "t", Offset: 1, Value: "a"}}})
	dir := filepath.Join(t.TempDir(), "vis")
	var out, errOut bytes.Buffer
	// Flags after the history are accepted too.
	require.Equal(t, 1, run([]string{path, "--out", dir, "--timeout", "5s"}, &out, &errOut), errOut.String())
	t.Log(out.String())
	require.Contains(t, out.String(), "static: FAIL")
	require.Contains(t, out.String(), "duplicate=1")
	require.Contains(t, out.String(), "porcupine log: FAIL")
	require.Contains(t, out.String(), "not linearizable: t/0")
	require.Contains(t, out.String(), "verdict: FAIL")
	require.FileExists(t, filepath.Join(dir, "log.html"))
}

func TestTimeoutExitsOne(t *testing.T) {
	// 64 partitions, each legal on its own: porcupine's 1ns timer must
	// win against every partition's result, not just one (a single
	// partition can finish first on a loaded machine).
	var ops []linearizability.Op
	for i := range 2000 {
		op := produce(i%8, int64(i)*10, int64(i)*10+25, string(rune('a'+i%26))+string(rune(i)), int64(i/64))
		op.Partition = int32(i % 64)
		ops = append(ops, op)
	}
	path := writeHistory(t, ops...)
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{"--timeout", "1ns", "--out", t.TempDir(), path}, &out, &errOut))
	require.Contains(t, out.String(), "result=Unknown")
	require.Contains(t, out.String(), "timed out after 1ns")
}

func TestCompactedFlag(t *testing.T) {
	// Offsets 0 and 2 with nothing at 1, read through by one poll.
	path := writeHistory(t, produce(0, 0, 10, "a", 0), produce(0, 20, 30, "c", 2),
		linearizability.Op{Client: 1, Kind: linearizability.KindPoll, Call: 40, Return: 50, Outcome: linearizability.OK,
			Records: []linearizability.Record{{Topic: "t", Offset: 0, Value: "a"}, {Topic: "t", Offset: 2, Value: "c"}}})
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{path, "--out", t.TempDir()}, &out, &errOut))
	require.Contains(t, out.String(), "offset-hole=1")
	out.Reset()
	// The static pass no longer reports the hole. (The log check still
	// fails: no recorded write took offset 1. In a compacted topic the
	// producer that wrote it would be in the history.)
	require.Equal(t, 1, run([]string{path, "--compacted", "t", "--out", t.TempDir()}, &out, &errOut))
	require.Contains(t, out.String(), "static: PASS")
	require.Contains(t, out.String(), "porcupine log: FAIL")
}

func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{not json\n"), 0o644))
	for name, args := range map[string][]string{
		"no history":       {},
		"two histories":    {bad, bad},
		"missing file":     {filepath.Join(dir, "nope.jsonl")},
		"malformed":        {bad},
		"unknown flag":     {"--colour", "red", bad},
		"bad timeout":      {"--timeout", "soon", bad},
		"negative timeout": {"--timeout", "-1s", bad},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, 2, run(args, &out, &errOut))
			require.NotEmpty(t, errOut.String())
		})
	}
}
