package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

// drain is a complete final drain of t/0 that read a at offset 0.
func drain(call int64) []linearizability.Op {
	return []linearizability.Op{
		{Client: 9, Kind: linearizability.KindFetch, Call: call, Return: call + 1, Outcome: linearizability.OK, Topic: "t",
			HighWatermark: 1, Linearizable: true, Drain: true, Records: []linearizability.Record{{Topic: "t", Value: "a"}}},
		{Client: 9, Kind: linearizability.KindDrain, Call: call, Return: call + 2, Outcome: linearizability.OK, Topic: "t",
			HighWatermark: 1, Complete: true},
	}
}

func TestCleanHistoryExitsZero(t *testing.T) {
	path := writeHistory(t, append([]linearizability.Op{produce(0, 0, 10, "a", 0), latest(1, 20, 30, 1)}, drain(100)...)...)
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

// The planted histories of package linearizability (one per anomaly name
// and per class of issue 12, and the valid variants), as a user would
// check them: ordo-check must print each one's verdict and anomaly counts
// and exit with its status.
func TestPlantedHistories(t *testing.T) {
	dir := filepath.Join("..", "..", "linearizability", "testdata", "planted")
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	require.NoError(t, err)
	var expected []struct {
		File      string   `json:"file"`
		Compacted []string `json:"compacted"`
		Verdict   string   `json:"verdict"`
		Exit      int      `json:"exit"`
		Anomalies []string `json:"anomalies"`
		Log       string   `json:"log"`
		Offsets   string   `json:"offsets"`
	}
	require.NoError(t, json.Unmarshal(raw, &expected))
	require.Greater(t, len(expected), 40)
	exits := map[string]int{"PASS": exitClean, "FAIL": exitFailed, "INVALID": exitInvalid}
	for _, e := range expected {
		t.Run(strings.TrimSuffix(e.File, ".jsonl"), func(t *testing.T) {
			args := []string{filepath.Join(dir, e.File), "--out", t.TempDir()}
			if len(e.Compacted) > 0 {
				args = append(args, "--compacted", strings.Join(e.Compacted, ","))
			}
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			t.Log(out.String())
			require.Empty(t, errOut.String())
			require.Equal(t, e.Exit, code)
			require.Equal(t, exits[e.Verdict], code, "the exit status is the verdict's")
			require.Contains(t, out.String(), "\nverdict: "+e.Verdict+"\n")
			require.Contains(t, out.String(), "porcupine log: "+e.Log)
			require.Contains(t, out.String(), "porcupine committed-offsets: "+e.Offsets)
			counts := map[string]int{}
			for _, line := range strings.Split(out.String(), "\n") {
				if rest, ok := strings.CutPrefix(line, "anomaly: "); ok {
					counts[strings.Fields(rest)[0]]++
				}
			}
			var names []string
			for n := range counts {
				names = append(names, n)
			}
			sort.Strings(names)
			require.Equal(t, append([]string{}, e.Anomalies...), append([]string{}, names...), "anomaly names")
			if e.Verdict == "INVALID" {
				require.Contains(t, out.String(), "invalid: ")
			}
		})
	}
	// A line holding two operations is bad input.
	var out, errOut bytes.Buffer
	require.Equal(t, exitBadArgs, run([]string{filepath.Join(dir, "bad-trailing-data.jsonl")}, &out, &errOut))
	require.Contains(t, errOut.String(), "trailing data")
}

// A run that crashed before its final drain must not pass offline.
func TestIncompleteHistoriesExitThree(t *testing.T) {
	for name, ops := range map[string][]linearizability.Op{
		"empty":    nil,
		"no drain": {produce(0, 0, 10, "a", 0), latest(1, 20, 30, 1)},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, exitInvalid, run([]string{writeHistory(t, ops...)}, &out, &errOut), errOut.String())
			require.Contains(t, out.String(), "verdict: INVALID")
		})
	}
}
