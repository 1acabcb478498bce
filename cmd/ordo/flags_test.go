package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseArgsDefaults(t *testing.T) {
	o, err := parseArgs(nil, env())
	require.NoError(t, err)
	def := broker.DefaultConfig()
	assert.Equal(t, def, o.cfg, "no flags must give broker.DefaultConfig")
	assert.Equal(t, "127.0.0.1:9092", o.cfg.Listen)
	assert.Equal(t, "ordo-data", o.cfg.DataDir)
	assert.Equal(t, slog.LevelInfo, o.logLevel)
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(t *testing.T, o options)
	}{
		{
			name: "every flag",
			args: []string{"--listen", "0.0.0.0:19092", "--advertise", "10.0.0.5:19092", "--data-dir", "/var/lib/ordo",
				"--node-id", "3", "--log-level", "debug", "--auto-create-topics=false", "--num-partitions", "6",
				"--flush-interval", "250ms", "--offsets-topic-partitions", "3", "--group-initial-rebalance-delay", "0s",
				"--max-open-files", "500"},
			check: func(t *testing.T, o options) {
				assert.Equal(t, "0.0.0.0:19092", o.cfg.Listen)
				assert.Equal(t, "10.0.0.5:19092", o.cfg.Advertise)
				assert.Equal(t, "/var/lib/ordo", o.cfg.DataDir)
				assert.Equal(t, int32(3), o.cfg.NodeID)
				assert.Equal(t, slog.LevelDebug, o.logLevel)
				assert.False(t, o.cfg.AutoCreateTopics)
				assert.Equal(t, int32(6), o.cfg.DefaultPartitions)
				assert.Equal(t, 250*time.Millisecond, o.cfg.FlushInterval)
				assert.Equal(t, int32(3), o.cfg.OffsetsTopicPartitions)
				assert.Equal(t, time.Duration(0), o.cfg.GroupInitialRebalanceDelay)
				assert.Equal(t, 500, o.cfg.MaxOpenFiles)
			},
		},
		{
			name: "single dash and = forms",
			args: []string{"-listen=127.0.0.1:0", "-node-id=7"},
			check: func(t *testing.T, o options) {
				assert.Equal(t, "127.0.0.1:0", o.cfg.Listen)
				assert.Equal(t, int32(7), o.cfg.NodeID)
			},
		},
		{
			name: "every env var",
			env: []string{"ORDO_LISTEN", ":9093", "ORDO_ADVERTISE", "broker-1.example:9093", "ORDO_DATA_DIR", "d",
				"ORDO_NODE_ID", "2", "ORDO_LOG_LEVEL", "WARN", "ORDO_AUTO_CREATE_TOPICS", "false",
				"ORDO_NUM_PARTITIONS", "12", "ORDO_FLUSH_INTERVAL", "2s"},
			check: func(t *testing.T, o options) {
				assert.Equal(t, ":9093", o.cfg.Listen)
				assert.Equal(t, "broker-1.example:9093", o.cfg.Advertise)
				assert.Equal(t, "d", o.cfg.DataDir)
				assert.Equal(t, int32(2), o.cfg.NodeID)
				assert.Equal(t, slog.LevelWarn, o.logLevel)
				assert.False(t, o.cfg.AutoCreateTopics)
				assert.Equal(t, int32(12), o.cfg.DefaultPartitions)
				assert.Equal(t, 2*time.Second, o.cfg.FlushInterval)
			},
		},
		{
			name: "flags win over env",
			args: []string{"--listen", "127.0.0.1:1111", "--node-id", "1", "--auto-create-topics=true", "--log-level", "error"},
			env: []string{"ORDO_LISTEN", "127.0.0.1:2222", "ORDO_NODE_ID", "oops-not-used",
				"ORDO_AUTO_CREATE_TOPICS", "false", "ORDO_LOG_LEVEL", "debug", "ORDO_DATA_DIR", "from-env"},
			check: func(t *testing.T, o options) {
				assert.Equal(t, "127.0.0.1:1111", o.cfg.Listen)
				assert.Equal(t, int32(1), o.cfg.NodeID)
				assert.True(t, o.cfg.AutoCreateTopics)
				assert.Equal(t, slog.LevelError, o.logLevel)
				assert.Equal(t, "from-env", o.cfg.DataDir, "a variable still applies to flags not given")
			},
		},
		{
			name: "empty env var counts as unset",
			env:  []string{"ORDO_LISTEN", "", "ORDO_NODE_ID", ""},
			check: func(t *testing.T, o options) {
				assert.Equal(t, "127.0.0.1:9092", o.cfg.Listen)
				assert.Equal(t, int32(0), o.cfg.NodeID)
			},
		},
		{
			name: "ipv6 and host names",
			args: []string{"--listen", "[::1]:9092", "--advertise", "kafka-0.internal:9092"},
			check: func(t *testing.T, o options) {
				assert.Equal(t, "[::1]:9092", o.cfg.Listen)
				assert.Equal(t, "kafka-0.internal:9092", o.cfg.Advertise)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args, env(tc.env...))
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		wantMsg string
	}{
		{"listen without port", []string{"--listen", "127.0.0.1"}, nil, "--listen"},
		{"listen bad port", []string{"--listen", "127.0.0.1:99999"}, nil, "port"},
		{"listen named port", []string{"--listen", "127.0.0.1:kafka"}, nil, "port"},
		{"listen bad host", []string{"--listen", "bad host:9092"}, nil, "host"},
		{"advertise port 0", []string{"--advertise", "127.0.0.1:0"}, nil, "--advertise"},
		{"advertise without host", []string{"--advertise", ":9092"}, nil, "needs a host"},
		{"negative node id", []string{"--node-id", "-1"}, nil, "--node-id -1"},
		{"node id too large", []string{"--node-id", "4294967296"}, nil, "--node-id"},
		{"node id not a number", []string{"--node-id", "one"}, nil, "node-id"},
		{"unknown log level", []string{"--log-level", "verbose"}, nil, "--log-level"},
		{"zero partitions", []string{"--num-partitions", "0"}, nil, "--num-partitions"},
		{"too many partitions", []string{"--num-partitions", "10001"}, nil, "between 1 and 10000"},
		{"zero offsets partitions", []string{"--offsets-topic-partitions", "0"}, nil, "--offsets-topic-partitions"},
		{"too few open files", []string{"--max-open-files", "3"}, nil, "--max-open-files"},
		{"negative open files", nil, []string{"ORDO_MAX_OPEN_FILES", "-1"}, "ORDO_MAX_OPEN_FILES"},
		{"negative rebalance delay", []string{"--group-initial-rebalance-delay", "-1s"}, nil, "--group-initial-rebalance-delay"},
		{"zero flush interval", []string{"--flush-interval", "0s"}, nil, "--flush-interval"},
		{"flush interval without unit", []string{"--flush-interval", "5"}, nil, "flush-interval"},
		{"empty data dir", []string{"--data-dir", ""}, nil, "--data-dir"},
		{"unknown flag", []string{"--replicas", "3"}, nil, "replicas"},
		{"positional argument", []string{"serve"}, nil, `unexpected argument "serve"`},
		{"bad env listen", nil, []string{"ORDO_LISTEN", "nonsense"}, `ORDO_LISTEN "nonsense": want HOST:PORT`},
		{"bad env node id", nil, []string{"ORDO_NODE_ID", "x"}, "ORDO_NODE_ID"},
		{"negative env node id", nil, []string{"ORDO_NODE_ID", "-5"}, "ORDO_NODE_ID -5: must be between 0"},
		{"bad env log level", nil, []string{"ORDO_LOG_LEVEL", "loud"}, `ORDO_LOG_LEVEL "loud"`},
		{"empty env data dir is unset, flag empty is not", []string{"--data-dir="}, []string{"ORDO_DATA_DIR", ""}, "--data-dir must not be empty"},
		{"bad env partitions", nil, []string{"ORDO_NUM_PARTITIONS", "0"}, "ORDO_NUM_PARTITIONS 0"},
		{"bad env bool", nil, []string{"ORDO_AUTO_CREATE_TOPICS", "maybe"}, "ORDO_AUTO_CREATE_TOPICS"},
		{"bad env duration", nil, []string{"ORDO_FLUSH_INTERVAL", "soon"}, "ORDO_FLUSH_INTERVAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseArgs(tc.args, env(tc.env...))
			require.Error(t, err)
			var ue *usageError
			require.ErrorAs(t, err, &ue, "a user mistake must be a usageError (exit 2)")
			assert.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestParseArgsHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		_, err := parseArgs([]string{arg}, env())
		assert.True(t, errors.Is(err, flag.ErrHelp), arg)
	}
}

func TestRunExitCodes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"--help"}, 0, "Usage: ordo", ""},
		{"bad listen", []string{"--listen", "nope"}, 2, "", "ordo: --listen \"nope\": want HOST:PORT"},
		{"negative node id", []string{"--node-id", "-1"}, 2, "", "--node-id -1: must be between 0"},
		{"unknown log level", []string{"--log-level", "chatty"}, 2, "", "want one of debug, info, warn, error"},
		{"data dir is a file", []string{"--data-dir", file}, 1, "", "exists and is not a directory"},
		{"data dir below a file", []string{"--data-dir", filepath.Join(file, "sub")}, 1, "", "cannot create it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, env(), &stdout, &stderr)
			assert.Equal(t, tc.wantCode, code, "stderr: %s", stderr.String())
			assert.Contains(t, stdout.String(), tc.wantStdout)
			assert.Contains(t, stderr.String(), tc.wantStderr)
			if code == 2 {
				assert.Contains(t, stderr.String(), "ordo --help")
			}
		})
	}
}

func TestUsageListsEveryFlagAndVariable(t *testing.T) {
	var b bytes.Buffer
	printUsage(&b)
	for _, s := range flagSpecs {
		assert.Contains(t, b.String(), "--"+s.name)
		assert.Contains(t, b.String(), s.env)
	}
	assert.Contains(t, b.String(), "default 127.0.0.1:9092")
	assert.Contains(t, b.String(), "default ordo-data")
}

func TestCheckDataDir(t *testing.T) {
	t.Run("creates a missing directory and leaves it empty", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		require.NoError(t, checkDataDir(dir))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "the probe file must be removed")
	})
	t.Run("existing directory", func(t *testing.T) {
		require.NoError(t, checkDataDir(t.TempDir()))
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into read-only directories")
		}
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		err := checkDataDir(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot create a file in it")
	})
}
