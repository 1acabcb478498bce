package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
)

// ErrCorruptMetadataLog is why the controller refuses to open a metadata log
// that is damaged before its end: intact changes follow the damage, so it is
// not a torn last write, and replaying only the part before it would forget
// topics whose partition logs are still on disk.
var ErrCorruptMetadataLog = errors.New("metadata log is corrupt")

// recordLog is the durable metadata record log: one line per change, a JSON
// array of the change's records, so a change is applied whole or not at all;
// fsynced before the change is acknowledged.
//
// Each line is "<crc> <json>\n", crc being the CRC-32C (Castagnoli, as in
// a RecordBatch) of the JSON bytes in 8 lower-case hex digits. Lines an older
// Ordo wrote are the bare JSON array, with no checksum; they are still read.
//
// On open, the log is read up to its first bad line (no newline, a wrong
// checksum, JSON that does not decode). If nothing after that line is an
// intact change, the bad part is a torn last write, which was never
// acknowledged: it is cut off (and the cut is logged). If an intact change
// follows it, the log was damaged in the middle: Open fails with
// ErrCorruptMetadataLog, naming the file and the byte offset, and changes
// nothing on disk.
type recordLog struct {
	fsys fs.FS
	f    fs.File
	size int64
}

const recordLogName = "metadata.log"

// loggedChange is one line of the log: its records and where it starts.
type loggedChange struct {
	offset int64
	recs   []metadata.Record
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeChange is a change's line, newline included.
func encodeChange(recs []metadata.Record) ([]byte, error) {
	body, err := json.Marshal(recs)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, 9+len(body)+1)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(body, castagnoli))
	line = append(line, body...)
	return append(line, '\n'), nil
}

// decodeChange decodes one line, without its newline.
func decodeChange(line []byte) ([]metadata.Record, error) {
	body := line
	if len(line) == 0 || line[0] != '[' { // not an older Ordo's bare JSON
		if len(line) < 9 || line[8] != ' ' {
			return nil, errors.New("no checksum")
		}
		body = line[9:]
		want := fmt.Appendf(nil, "%08x", crc32.Checksum(body, castagnoli))
		if !bytes.Equal(line[:8], want) {
			return nil, fmt.Errorf("checksum mismatch (stored %q, computed %s)", line[:8], want)
		}
	}
	var recs []metadata.Record
	if err := json.Unmarshal(body, &recs); err != nil {
		return nil, fmt.Errorf("undecodable change: %w", err)
	}
	return recs, nil
}

func openRecordLog(fsys fs.FS, dir string, logger *slog.Logger) (*recordLog, []loggedChange, error) {
	if err := fs.MkdirAllDurable(fsys, dir); err != nil {
		return nil, nil, fmt.Errorf("controller: %w", err)
	}
	path := filepath.Join(dir, recordLogName)
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("controller: %w", err)
	}
	fail := func(err error) (*recordLog, []loggedChange, error) {
		_ = f.Close()
		return nil, nil, err
	}
	// The file's entry must survive a crash too.
	if err := fsys.SyncDir(dir); err != nil {
		return fail(fmt.Errorf("controller: %w", err))
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail(fmt.Errorf("controller: reading %s: %w", path, err))
	}
	changes, good, bad := scanRecordLog(data)
	if bad != nil {
		if bad.intactAfter > 0 {
			return fail(fmt.Errorf("controller: %w: %s is damaged at byte offset %d (line %d: %v), and %d intact change(s) follow, the first at byte offset %d: "+
				"this is not a torn last write, and starting from the changes before the damage would forget topics whose data is on disk; "+
				"restore the file, or remove the damaged line by hand if you know what it held",
				ErrCorruptMetadataLog, path, bad.offset, bad.line, bad.err, bad.intactAfter, bad.firstIntact))
		}
		logger.Warn("cutting a torn last write off the metadata log (a change that was never acknowledged)",
			"file", path, "offset", good, "bytes", int64(len(data))-good, "reason", bad.err)
		if err := f.Truncate(good); err != nil {
			return fail(fmt.Errorf("controller: truncating torn tail of %s: %w", path, err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("controller: %w", err))
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return fail(fmt.Errorf("controller: %w", err))
	}
	return &recordLog{fsys: fsys, f: f, size: good}, changes, nil
}

// badLine is the first line of a record log that does not decode.
type badLine struct {
	offset      int64 // of its first byte
	line        int   // 1-based
	err         error
	intactAfter int   // lines after it that decode
	firstIntact int64 // offset of the first of them
}

// scanRecordLog splits data into the changes before its first bad line, and
// the end of the last of them (good). bad is nil when every line decodes.
func scanRecordLog(data []byte) (changes []loggedChange, good int64, bad *badLine) {
	var off int64
	for n := 1; off < int64(len(data)); n++ {
		rest := data[off:]
		end := bytes.IndexByte(rest, '\n')
		var recs []metadata.Record
		var err error
		next := int64(len(data))
		if end < 0 {
			err = errors.New("no newline: the last write was cut short")
		} else {
			next = off + int64(end) + 1
			recs, err = decodeChange(rest[:end])
		}
		switch {
		case bad == nil && err == nil:
			changes = append(changes, loggedChange{offset: off, recs: recs})
			good = next
		case bad == nil:
			bad = &badLine{offset: off, line: n, err: err}
		case err == nil:
			if bad.intactAfter == 0 {
				bad.firstIntact = off
			}
			bad.intactAfter++
		}
		off = next
	}
	return changes, good, bad
}

// describe names a change for errors: the file and its offset.
func (l *recordLog) describe(c loggedChange) string {
	return l.f.Name() + " at byte offset " + strconv.FormatInt(c.offset, 10)
}

func (l *recordLog) append(recs []metadata.Record) error {
	line, err := encodeChange(recs)
	if err != nil {
		return fmt.Errorf("controller: encoding records: %w", err)
	}
	if _, err := l.f.WriteAt(line, l.size); err != nil {
		return fmt.Errorf("controller: writing metadata log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("controller: syncing metadata log: %w", err)
	}
	l.size += int64(len(line))
	return nil
}

func (l *recordLog) close() error { return l.f.Close() }
