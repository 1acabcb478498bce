package controller

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
)

// recordLog is the durable metadata record log: one line per change, a JSON
// array of the change's records, so a change is applied whole or not at all;
// fsynced before the change is acknowledged. A torn last line (a crash in the
// middle of an append) is cut off on open; it was never acknowledged.
type recordLog struct {
	fsys fs.FS
	f    fs.File
	size int64
}

const recordLogName = "metadata.log"

func openRecordLog(fsys fs.FS, dir string) (*recordLog, []metadata.Record, error) {
	if err := fs.MkdirAllDurable(fsys, dir); err != nil {
		return nil, nil, fmt.Errorf("controller: %w", err)
	}
	path := filepath.Join(dir, recordLogName)
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("controller: %w", err)
	}
	// The file's entry must survive a crash too.
	if err := fsys.SyncDir(dir); err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("controller: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("controller: reading %s: %w", path, err)
	}
	var recs []metadata.Record
	var good int64
	rd := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil { // no newline: a torn tail
			break
		}
		var change []metadata.Record
		if json.Unmarshal(line, &change) != nil {
			break
		}
		recs = append(recs, change...)
		good += int64(len(line))
	}
	if good != int64(len(data)) {
		if err := f.Truncate(good); err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("controller: truncating torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("controller: %w", err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("controller: %w", err)
	}
	return &recordLog{fsys: fsys, f: f, size: good}, recs, nil
}

func (l *recordLog) append(recs []metadata.Record) error {
	var buf bytes.Buffer
	b, err := json.Marshal(recs)
	if err != nil {
		return fmt.Errorf("controller: encoding records: %w", err)
	}
	buf.Write(b)
	buf.WriteByte('\n')
	if _, err := l.f.WriteAt(buf.Bytes(), l.size); err != nil {
		return fmt.Errorf("controller: writing metadata log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("controller: syncing metadata log: %w", err)
	}
	l.size += int64(buf.Len())
	return nil
}

func (l *recordLog) close() error { return l.f.Close() }
