package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The connection limits: max.connections, connections.max.idle.ms and
// queued.max.request.bytes, from flags or ORDO_* variables.
func TestParseArgsConnectionLimits(t *testing.T) {
	o, err := parseArgs(nil, env())
	require.NoError(t, err)
	assert.Equal(t, 0, o.cfg.MaxConnections, "derived from the open-file limit at start")
	assert.Equal(t, 10*time.Minute, o.cfg.ConnectionsMaxIdle, "Kafka's default")
	assert.Equal(t, int64(500<<20), o.cfg.QueuedMaxRequestBytes)

	o, err = parseArgs([]string{"--max-connections", "700", "--connections-max-idle", "30s", "--queued-max-request-bytes", "1048576"}, env())
	require.NoError(t, err)
	assert.Equal(t, 700, o.cfg.MaxConnections)
	assert.Equal(t, 30*time.Second, o.cfg.ConnectionsMaxIdle)
	assert.Equal(t, int64(1<<20), o.cfg.QueuedMaxRequestBytes)

	o, err = parseArgs(nil, env("ORDO_MAX_CONNECTIONS", "-1", "ORDO_CONNECTIONS_MAX_IDLE", "0s", "ORDO_QUEUED_MAX_REQUEST_BYTES", "-1"))
	require.NoError(t, err)
	assert.Equal(t, -1, o.cfg.MaxConnections, "no limit")
	assert.Negative(t, o.cfg.ConnectionsMaxIdle, "0 never closes idle connections")
	assert.Equal(t, int64(-1), o.cfg.QueuedMaxRequestBytes, "no bound")
}

func TestParseArgsConnectionLimitErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string
		wantMsg string
	}{
		{"negative max connections", []string{"--max-connections", "-2"}, nil, "--max-connections -2: must be -1"},
		{"max connections too large", []string{"--max-connections", "4294967296"}, nil, "--max-connections"},
		{"max connections not a number", nil, []string{"ORDO_MAX_CONNECTIONS", "many"}, "ORDO_MAX_CONNECTIONS"},
		{"negative idle", []string{"--connections-max-idle", "-1s"}, nil, "--connections-max-idle -1s: must not be negative"},
		{"idle without unit", nil, []string{"ORDO_CONNECTIONS_MAX_IDLE", "600000"}, "ORDO_CONNECTIONS_MAX_IDLE"},
		{"zero queued bytes", []string{"--queued-max-request-bytes", "0"}, nil, "--queued-max-request-bytes 0: must be a positive number"},
		{"negative queued bytes", nil, []string{"ORDO_QUEUED_MAX_REQUEST_BYTES", "-5"}, "ORDO_QUEUED_MAX_REQUEST_BYTES -5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseArgs(tc.args, env(tc.env...))
			require.Error(t, err)
			var ue *usageError
			require.ErrorAs(t, err, &ue, "a user mistake must be a usageError (exit 2)")
			assert.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestRunConnectionLimitExitCode(t *testing.T) {
	var stdout, stderr lockedBuffer
	code := run(context.Background(), []string{"--max-connections", "-5"}, env(), &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "ordo: --max-connections -5: must be -1 (no limit), 0 (from the open-file limit)")
}
