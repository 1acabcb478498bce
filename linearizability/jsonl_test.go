package linearizability

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHistoryRoundTrip(t *testing.T) {
	h := syntheticHistory(t, 7, 500, 3, 6)
	h = append(h, Op{Index: len(h), Client: 1, Kind: KindFault, Call: 1, Return: 2, Outcome: OK, Description: "crash"})
	var buf bytes.Buffer
	require.NoError(t, WriteHistory(&buf, h))
	require.Equal(t, len(h), strings.Count(buf.String(), "\n"), "one operation a line")
	back, err := ReadHistory(&buf)
	require.NoError(t, err)
	require.Equal(t, h, back)
}

func TestReadHistoryRefusesBadInput(t *testing.T) {
	for name, text := range map[string]string{
		"not json":        "{nope\n",
		"unknown field":   `{"index":0,"kind":"poll","outcome":"ok","colour":"red"}`,
		"index":           `{"index":1,"kind":"poll","outcome":"ok"}`,
		"kind":            `{"index":0,"kind":"dance","outcome":"ok"}`,
		"outcome":         `{"index":0,"kind":"poll","outcome":"maybe"}`,
		"time":            `{"index":0,"kind":"poll","outcome":"ok","call":5,"return":4}`,
		"produce offsets": `{"index":0,"kind":"produce","outcome":"ok","topic":"t","values":["a","b"],"offsets":[1]}`,
		"fetch records":   `{"index":0,"kind":"fetch","outcome":"ok","topic":"t","records":[{"topic":"u","value":"a"}]}`,
		"spec":            `{"index":0,"kind":"list-offsets","outcome":"ok","topic":"t","spec":"soonest"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadHistory(strings.NewReader(text))
			require.Error(t, err)
		})
	}
	h, err := ReadHistory(strings.NewReader("\n" + `{"index":0,"kind":"poll","outcome":"ok"}` + "\n\n"))
	require.NoError(t, err, "blank lines are skipped")
	require.Len(t, h, 1)
}
