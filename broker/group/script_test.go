package group

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// A tiny take on cockroachdb/datadriven: a script is a series of blocks
//
//	# comments
//	command arg=value ...
//	----
//	expected output
//
// separated by blank lines. runScript runs each command and compares its
// output; with -rewrite it writes the actual output back into the file.

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of script tests")

type scriptCmd struct {
	name string
	args map[string]string
	line string
}

func (c scriptCmd) arg(k, def string) string {
	if v, ok := c.args[k]; ok {
		return v
	}
	return def
}

func parseCmd(line string) scriptCmd {
	f := strings.Fields(line)
	c := scriptCmd{name: f[0], args: map[string]string{}, line: line}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		c.args[k] = v
	}
	return c
}

func runScript(t *testing.T, path string, run func(c scriptCmd) string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out strings.Builder
	failed := false
	for i := 0; i < len(lines); {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			i++
			continue
		}
		cmdLine := line
		i++
		var want []string
		if i < len(lines) && lines[i] == "----" {
			i++
			for i < len(lines) && lines[i] != "" {
				want = append(want, lines[i])
				i++
			}
		}
		got := strings.TrimRight(run(parseCmd(cmdLine)), "\n")
		if got != strings.Join(want, "\n") {
			failed = true
			if !*rewrite {
				t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, i, cmdLine, got, strings.Join(want, "\n"))
			}
		}
		out.WriteString(cmdLine + "\n----\n")
		if got != "" {
			out.WriteString(got + "\n")
		}
	}
	if *rewrite && failed {
		s := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
