package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/cmd/internal/loadgen"
)

func TestParseArgs(t *testing.T) {
	o, err := parseArgs(nil)
	require.NoError(t, err)
	assert.Equal(t, []string{loadgen.TargetOrdo}, o.targets)
	assert.Equal(t, loadgen.DefaultConfig().Records, o.cfg.Records)

	o, err = parseArgs([]string{"--target", "both", "--records", "200000", "--record-size", "1024", "--partitions", "6",
		"--acks", "all", "--flush", "interval", "--linger", "5ms", "--batch-max-bytes", "2000000", "--producers", "4",
		"--consume=false", "--timeout", "30s", "--partitioner", "key", "--rate", "5000", "--compression", "zstd"})
	require.NoError(t, err)
	assert.Equal(t, []string{loadgen.TargetOrdo, loadgen.TargetKfake}, o.targets)
	c := o.cfg
	assert.Equal(t, 200000, c.Records)
	assert.Equal(t, 1024, c.RecordSize)
	assert.Equal(t, int32(6), c.Partitions)
	assert.Equal(t, "all", c.Acks)
	assert.Equal(t, loadgen.FlushInterval, c.Flush)
	assert.Equal(t, 5*time.Millisecond, c.Linger)
	assert.Equal(t, int32(2000000), c.BatchMaxBytes)
	assert.Equal(t, 4, c.Producers)
	assert.False(t, c.Consume)
	assert.Equal(t, 30*time.Second, c.Timeout)
	assert.Equal(t, loadgen.PartitionKey, c.Partitioner)
	assert.Equal(t, 5000, c.Rate)
	assert.Equal(t, "zstd", c.Compression)

	o, err = parseArgs([]string{"--brokers", "10.0.0.1:9092, 10.0.0.2:9092"})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:9092", "10.0.0.2:9092"}, o.cfg.Brokers)
	assert.Equal(t, []string{loadgen.TargetExternal}, o.targets)
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"--help"}, 0, "Usage: ordo-bench", ""},
		{"bad target", []string{"--target", "kafka"}, 2, "", "--target"},
		{"brokers and target", []string{"--brokers", "127.0.0.1:9092", "--target", "kfake"}, 2, "", "exclusive"},
		{"bad acks", []string{"--acks", "1"}, 2, "", "acks"},
		{"record too small", []string{"--record-size", "10"}, 2, "", "record size"},
		{"positional", []string{"now"}, 2, "", "unexpected argument"},
		{"kfake run", []string{"--target", "kfake", "--records", "500", "--record-size", "64", "--partitions", "2"}, 0, "verified", ""},
		{"nothing listening", []string{"--brokers", "127.0.0.1:1", "--records", "10", "--timeout", "2s"}, 1, "", "create topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.want, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), tc.wantStdout)
			assert.Contains(t, stderr.String(), tc.wantStderr)
		})
	}
}

func TestRunJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--target", "kfake", "--records", "300", "--record-size", "64", "--json", "--quiet"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var out struct {
		Results []loadgen.Result `json:"results"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), stdout.String())
	require.Len(t, out.Results, 1)
	assert.Equal(t, loadgen.TargetKfake, out.Results[0].Target)
	assert.True(t, out.Results[0].Verified)
	assert.Equal(t, 300, out.Results[0].Latency.Samples)
}
