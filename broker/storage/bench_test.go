package storage

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ordo-broker/ordo/broker/fs"
)

// benchBatch is a batch of 10 records of about 100 bytes each.
func benchBatch(b *testing.B) []byte {
	tss := make([]int64, 10)
	for i := range tss {
		tss[i] = 1_700_000_000_000 + int64(i)
	}
	rec := makeBatch(b, 0, tss...)
	return rec
}

// benchFS is the filesystem a benchmark runs on: mem, os, os-cached (the
// real disk through the broker's fs.FileCache, large enough to evict
// nothing: the cost of the cache on the hot path) or os-evicting (through a
// cache of 4 descriptors, fewer than the log's files: the cost of reopening).
func benchFS(b *testing.B, name string) (fs.FS, string) {
	switch name {
	case "os":
		return fs.NewOS(), filepath.Join(b.TempDir(), "topic-0")
	case "os-cached":
		return fs.NewFileCache(fs.NewOS(), 1024), filepath.Join(b.TempDir(), "topic-0")
	case "os-evicting":
		return fs.NewFileCache(fs.NewOS(), 4), filepath.Join(b.TempDir(), "topic-0")
	}
	return fs.NewMem(), testDir
}

func BenchmarkAppendSync(b *testing.B) {
	for _, name := range []string{"mem", "os", "os-cached"} {
		b.Run(name, func(b *testing.B) {
			fsys, dir := benchFS(b, name)
			l, err := Open(fsys, dir, Config{SegmentBytes: 64 << 20}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			batch := benchBatch(b)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Append(batch, 0, -1); err != nil {
					b.Fatal(err)
				}
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	l, err := Open(fs.NewMem(), testDir, Config{SegmentBytes: 64 << 20}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(batch, 0, -1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendCached is BenchmarkAppend through an fs.FileCache.
func BenchmarkAppendCached(b *testing.B) {
	l, err := Open(fs.NewFileCache(fs.NewMem(), 1024), testDir, Config{SegmentBytes: 64 << 20}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(batch, 0, -1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, maxBytes := range []int{1 << 10, 1 << 20} {
		for _, name := range []string{"mem", "os", "os-cached", "os-evicting"} {
			b.Run(fmt.Sprintf("%s/maxBytes=%d", name, maxBytes), func(b *testing.B) {
				fsys, dir := benchFS(b, name)
				l, err := Open(fsys, dir, Config{SegmentBytes: 8 << 20}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				batch := benchBatch(b)
				for range 20000 { // ~24 MB over a few segments
					if _, err := l.Append(batch, 0, -1); err != nil {
						b.Fatal(err)
					}
				}
				end := l.LogEndOffset()
				var n int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					off := int64(i*7919) % end
					out, err := l.Read(off, end, maxBytes, true)
					if err != nil {
						b.Fatal(err)
					}
					n += int64(len(out))
				}
				b.SetBytes(n / int64(max(b.N, 1)))
			})
		}
	}
}

// BenchmarkParseBatches is the produce path's validation of a payload:
// header, length and CRC, no record decoding.
func BenchmarkParseBatches(b *testing.B) {
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBatches(batch); err != nil {
			b.Fatal(err)
		}
	}
}
