package model

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rewrite regenerates the expected output of the scripts in testdata:
//
//	go test ./model -run TestScripts -rewrite
//
// then read the diff: it is the change in behaviour.
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of model/testdata scripts")

// TestScripts runs every testdata/*.txt script against a fresh model. A
// script is a list of cases; a case is one command line, a "----" line, and
// the expected output up to a blank line. Lines starting with # between
// cases are comments. The commands:
//
//	create-topic NAME [partitions=N]
//	init-producer [id=N epoch=E]
//	produce TOPIC PARTITION [pid=N epoch=E seq=S] VALUE...   (KEY:VALUE sets a key)
//	fetch TOPIC PARTITION OFFSET [max=N]
//	list-offsets TOPIC PARTITION latest|earliest
//	delete-records TOPIC PARTITION BEFORE
//	commit GROUP TOPIC PARTITION OFFSET
//	fetch-offset GROUP TOPIC PARTITION
//	state
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScript(t, file) })
	}
}

// scriptItem is a verbatim line (comment or blank) or a case.
type scriptItem struct {
	verbatim string
	isCase   bool
	line     int
	command  string
	expected string
}

func parseScript(t *testing.T, file string) []scriptItem {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var items []scriptItem
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			items = append(items, scriptItem{verbatim: l})
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: a command must be followed by ----", file, i+1)
		}
		it := scriptItem{isCase: true, line: i + 1, command: l}
		var out []string
		for i += 2; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		it.expected = strings.Join(out, "\n")
		items = append(items, it)
		if i < len(lines) {
			i-- // let the blank line be kept verbatim
		}
	}
	return items
}

func runScript(t *testing.T, file string) {
	items := parseScript(t, file)
	c := New()
	var out strings.Builder
	for _, it := range items {
		if !it.isCase {
			out.WriteString(it.verbatim + "\n")
			continue
		}
		got := strings.TrimRight(runCommand(t, c, it.command), "\n")
		if got == "" {
			got = "ok"
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n", it.command, got)
		if !*rewrite && got != it.expected {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, it.line, it.command, got, it.expected)
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scriptArgs splits a command line into positional arguments and key=value
// options.
type scriptArgs struct {
	t    *testing.T
	pos  []string
	opts map[string]string
}

func (a scriptArgs) int(i int) int64 {
	a.t.Helper()
	if i >= len(a.pos) {
		a.t.Fatalf("missing argument %d", i+1)
	}
	n, err := strconv.ParseInt(a.pos[i], 10, 64)
	if err != nil {
		a.t.Fatalf("argument %d: %v", i+1, err)
	}
	return n
}

func (a scriptArgs) str(i int) string {
	a.t.Helper()
	if i >= len(a.pos) {
		a.t.Fatalf("missing argument %d", i+1)
	}
	return a.pos[i]
}

func (a scriptArgs) opt(name string, def int64) int64 {
	a.t.Helper()
	v, ok := a.opts[name]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		a.t.Fatalf("option %s: %v", name, err)
	}
	return n
}

func runCommand(t *testing.T, c *Cluster, line string) string {
	t.Helper()
	fields := strings.Fields(line)
	a := scriptArgs{t: t, opts: map[string]string{}}
	for _, f := range fields[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			a.opts[k] = v
		} else if f == `""` {
			a.pos = append(a.pos, "") // an empty name
		} else {
			a.pos = append(a.pos, f)
		}
	}
	errOr := func(code ErrorCode, ok string) string {
		if code != None {
			return "error=" + code.String()
		}
		return ok
	}
	switch fields[0] {
	case "create-topic":
		return errOr(c.CreateTopic(a.str(0), int32(a.opt("partitions", 1))), "ok")
	case "init-producer":
		p, code := c.InitProducerID(a.opt("id", -1), int16(a.opt("epoch", -1)))
		return errOr(code, fmt.Sprintf("id=%d epoch=%d", p.ID, p.Epoch))
	case "produce":
		req := ProduceRequest{Topic: a.str(0), Partition: int32(a.int(1)), ProducerID: a.opt("pid", -1),
			ProducerEpoch: int16(a.opt("epoch", 0)), BaseSequence: int32(a.opt("seq", 0))}
		for _, v := range a.pos[2:] {
			k, val, ok := strings.Cut(v, ":")
			if !ok {
				k, val = "", v
			}
			req.Records = append(req.Records, Record{Key: k, Value: val})
		}
		r := c.Produce(req)
		return errOr(r.Err, fmt.Sprintf("base=%d log-start=%d", r.BaseOffset, r.LogStartOffset))
	case "fetch":
		r := c.Fetch(FetchRequest{Topic: a.str(0), Partition: int32(a.int(1)), Offset: a.int(2), MaxRecords: int(a.opt("max", 0))})
		if r.Err != None {
			return errOr(r.Err, "")
		}
		var b strings.Builder
		fmt.Fprintf(&b, "high-watermark=%d log-start=%d records=%d\n", r.HighWatermark, r.LogStartOffset, len(r.Records))
		for _, rec := range r.Records {
			if rec.Key != "" {
				fmt.Fprintf(&b, "  %d: %s:%s\n", rec.Offset, rec.Key, rec.Value)
			} else {
				fmt.Fprintf(&b, "  %d: %s\n", rec.Offset, rec.Value)
			}
		}
		return b.String()
	case "list-offsets":
		spec := map[string]OffsetSpec{"latest": Latest, "earliest": Earliest}[a.str(2)]
		off, code := c.ListOffsets(a.str(0), int32(a.int(1)), spec)
		return errOr(code, fmt.Sprintf("offset=%d", off))
	case "delete-records":
		low, code := c.DeleteRecords(a.str(0), int32(a.int(1)), a.int(2))
		return errOr(code, fmt.Sprintf("low-watermark=%d", low))
	case "commit":
		return errOr(c.CommitOffset(a.str(0), a.str(1), int32(a.int(2)), a.int(3)), "ok")
	case "fetch-offset":
		off, code := c.FetchOffset(a.str(0), a.str(1), int32(a.int(2)))
		return errOr(code, fmt.Sprintf("offset=%d", off))
	case "state":
		return c.String()
	}
	t.Fatalf("unknown command %q", fields[0])
	return ""
}
