package linearizability

import (
	"bytes"
	"os"
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
		"two values":      `{"index":0,"kind":"poll","outcome":"ok"}{"index":1,"kind":"poll","outcome":"ok"}`,
		"trailing junk":   `{"index":0,"kind":"poll","outcome":"ok"} x`,
		"trailing array":  `{"index":0,"kind":"poll","outcome":"ok"}]`,
		"late declaration": `{"index":0,"kind":"poll","outcome":"ok"}` + "\n" +
			`{"index":1,"kind":"history","outcome":"ok","producers_recorded":true}`,
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

// The declaration that every producer was recorded is the first line, and
// reads back.
func TestDeclarationRoundTrip(t *testing.T) {
	h := hist(Declaration("workload seed 7"), prod(0, 0, 0, 10, "a0", 0))
	require.True(t, h.ProducersRecorded())
	require.False(t, hist(prod(0, 0, 0, 10, "a0", 0)).ProducersRecorded())
	var buf bytes.Buffer
	require.NoError(t, WriteHistory(&buf, h))
	require.True(t, strings.HasPrefix(buf.String(), `{"index":0,"client":0,"kind":"history",`), buf.String())
	back, err := ReadHistory(&buf)
	require.NoError(t, err)
	require.Equal(t, h, back)
	require.True(t, back.ProducersRecorded())
}

// The example history of the README reads and passes.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "```json\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	h, err := ReadHistory(strings.NewReader(example))
	require.NoError(t, err)
	require.True(t, h.ProducersRecorded())
	rep := Check(h, Options{})
	var sb strings.Builder
	rep.WriteSummary(&sb)
	require.Equal(t, VerdictPass, rep.Verdict(), sb.String())
}
