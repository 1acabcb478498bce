package loadgen

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// small is a quick configuration that still exercises several partitions.
func small() Config {
	c := DefaultConfig()
	c.Records = 3000
	c.RecordSize = 64
	c.Partitions = 3
	c.Linger = time.Millisecond
	c.Timeout = time.Minute
	return c
}

func TestRunKfake(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"defaults", func(*Config) {}},
		{"three producers by key, acks=leader", func(c *Config) {
			c.Producers, c.Partitioner, c.Acks = 3, PartitionKey, "leader"
		}},
		{"round robin, acks=none, lz4", func(c *Config) {
			c.Partitioner, c.Acks, c.Compression = PartitionRoundRobin, "none", "lz4"
		}},
		{"fixed rate, no consume phase", func(c *Config) {
			c.Records, c.Rate, c.Consume = 1000, 10000, false
		}},
		{"one partition, tiny batches", func(c *Config) {
			c.Partitions, c.BatchMaxBytes, c.Producers = 1, 1024, 2
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := small()
			tc.edit(&cfg)
			var progress bytes.Buffer
			cfg.Progress = &progress
			res, err := Run(context.Background(), cfg, TargetKfake)
			t.Logf("progress:\n%s", progress.String())
			require.NoError(t, err)
			assert.True(t, res.Verified)
			assert.Equal(t, TargetKfake, res.Target)
			assert.Equal(t, "memory", res.Flush)
			assert.Equal(t, cfg.Records, res.Latency.Samples, "every record gets a latency sample")
			assert.Positive(t, res.Produce.RecordsPerSec)
			assert.Positive(t, res.Produce.MBPerSec)
			assert.LessOrEqual(t, res.Latency.P50, res.Latency.P90)
			assert.LessOrEqual(t, res.Latency.P90, res.Latency.P99)
			assert.LessOrEqual(t, res.Latency.P99, res.Latency.Max)
			assert.Positive(t, res.Latency.P50)
			if cfg.Consume {
				require.NotNil(t, res.Consume)
				assert.Positive(t, res.Consume.RecordsPerSec)
			} else {
				assert.Nil(t, res.Consume)
			}
			assert.Contains(t, progress.String(), "verified")
		})
	}
}

// TestRunOrdo runs the same load against an in-process Ordo broker, once per
// flush policy. It skips while broker.Start is not implemented.
func TestRunOrdo(t *testing.T) {
	for _, flush := range []string{FlushFsync, FlushInterval} {
		t.Run(flush, func(t *testing.T) {
			cfg := small()
			cfg.Flush = flush
			cfg.Producers = 2
			var log bytes.Buffer
			cfg.Progress, cfg.BrokerLog = &log, &syncWriter{w: &log}
			res, err := Run(context.Background(), cfg, TargetOrdo)
			if err != nil && strings.Contains(err.Error(), "not implemented") {
				t.Skipf("Ordo is not there yet: %v", err)
			}
			require.NoError(t, err, "log:\n%s", log.String())
			assert.True(t, res.Verified)
			assert.Equal(t, flush, res.Flush)
			assert.Equal(t, cfg.Records, res.Latency.Samples)
		})
	}
}

// TestRunCatchesBadReads plants anomalies in what the consumers read and
// expects the run to fail with them named.
func TestRunCatchesBadReads(t *testing.T) {
	tests := []struct {
		name   string
		reader string
		hook   func(rec *kgo.Record) bool
		want   string
	}{
		{"a record disappears", "consume", func(rec *kgo.Record) bool { return seqOf(rec.Value) != 17 }, AnomalyLost},
		{"a bit flips", "tail", func(rec *kgo.Record) bool {
			if seqOf(rec.Value) == 5 {
				v := append([]byte(nil), rec.Value...)
				v[40] ^= 1
				rec.Value = v
			}
			return true
		}, AnomalyCorrupt},
		{"a record shows up at another offset", "consume", func(rec *kgo.Record) bool {
			if seqOf(rec.Value) == 30 {
				rec.Offset += 1000
			}
			return true
		}, AnomalyOffsetHole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			readHook = func(reader string, rec *kgo.Record) bool {
				if reader != tc.reader {
					return true
				}
				return tc.hook(rec)
			}
			t.Cleanup(func() { readHook = nil })
			cfg := small()
			cfg.Records = 500
			var progress bytes.Buffer
			cfg.Progress = &progress
			res, err := Run(context.Background(), cfg, TargetKfake)
			t.Logf("progress:\n%s", progress.String())
			require.Error(t, err)
			var verr *VerificationError
			require.ErrorAs(t, err, &verr)
			assert.Contains(t, verr.Anomalies(), tc.want)
			assert.Contains(t, verr.Reads, tc.reader)
			require.NotNil(t, res, "a failed verification still returns the measurements")
			assert.False(t, res.Verified)
			assert.Contains(t, err.Error(), "verification FAILED")
		})
	}
}

func TestRunTimeout(t *testing.T) {
	cfg := small()
	cfg.Records = 200000
	cfg.Rate = 1000 // 200s of work
	cfg.Timeout = 2 * time.Second
	start := time.Now()
	_, err := Run(context.Background(), cfg, TargetKfake)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timed out after 2s")
	assert.Contains(t, err.Error(), "producing")
	assert.Less(t, time.Since(start), 30*time.Second)
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"flush", func(c *Config) { c.Flush = "sometimes" }, "flush"},
		{"records", func(c *Config) { c.Records = 0 }, "records"},
		{"record size too small", func(c *Config) { c.RecordSize = 8 }, "record size"},
		{"partitions", func(c *Config) { c.Partitions = 0 }, "partitions"},
		{"acks", func(c *Config) { c.Acks = "1" }, "acks"},
		{"linger", func(c *Config) { c.Linger = -time.Second }, "linger"},
		{"batch smaller than a record", func(c *Config) { c.BatchMaxBytes = 1000 }, "batch max bytes"},
		{"producers", func(c *Config) { c.Producers = 0 }, "producers"},
		{"more producers than records", func(c *Config) { c.Records, c.Producers = 2, 3 }, "producers"},
		{"partitioner", func(c *Config) { c.Partitioner = "random" }, "partitioner"},
		{"compression", func(c *Config) { c.Compression = "brotli" }, "compression"},
		{"rate", func(c *Config) { c.Rate = -1 }, "rate"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestWriteTable(t *testing.T) {
	a := &Result{Flush: "fsync", Verified: true, Produce: Throughput{RecordsPerSec: 50000, MBPerSec: 51.2},
		Consume: &Throughput{RecordsPerSec: 200000, MBPerSec: 204.8},
		Latency: Latency{Samples: 10, P50: 2 * time.Millisecond, P90: 4 * time.Millisecond, P99: 8 * time.Millisecond, Max: 20 * time.Millisecond}}
	b := &Result{Flush: "memory", Verified: true, Produce: Throughput{RecordsPerSec: 100000, MBPerSec: 102.4},
		Consume: &Throughput{RecordsPerSec: 400000, MBPerSec: 409.6},
		Latency: Latency{Samples: 10, P50: time.Millisecond, P90: 2 * time.Millisecond, P99: 4 * time.Millisecond, Max: 10 * time.Millisecond}}
	var out bytes.Buffer
	require.NoError(t, WriteTable(&out, []string{"ordo", "kfake"}, []*Result{a, b}))
	s := out.String()
	assert.Contains(t, s, "ordo/kfake")
	for _, line := range strings.Split(strings.TrimSpace(s), "\n")[1:9] {
		f := strings.Fields(line)
		require.NotEmpty(t, f)
		ratio := f[len(f)-1]
		if strings.Contains(line, "latency") {
			assert.Equal(t, "2.00", ratio, line)
		} else {
			assert.Equal(t, "0.50", ratio, line)
		}
	}
	assert.Regexp(t, `verified\s+ok\s+ok`, s)

	out.Reset()
	require.NoError(t, WriteTable(&out, []string{"ordo", "kfake"}, []*Result{nil, b}))
	assert.Regexp(t, `produce records/s\s+-\s+100000\s+-`, out.String())
}

func TestPercentiles(t *testing.T) {
	ns := make([]int64, 0, 1000)
	for i := 1000; i >= 1; i-- {
		ns = append(ns, int64(i))
	}
	l := percentiles(ns)
	assert.Equal(t, Latency{Samples: 1000, P50: 500, P90: 900, P99: 990, Max: 1000}, l)
	assert.Equal(t, Latency{}, percentiles(nil))
	assert.Equal(t, Latency{Samples: 1, P50: 7, P90: 7, P99: 7, Max: 7}, percentiles([]int64{7}))
}

// syncWriter serializes writes from the broker's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
