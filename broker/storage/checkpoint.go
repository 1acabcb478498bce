package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ordo-broker/ordo/broker/fs"
)

// Checkpoint files of a partition folder. Each is replaced atomically.
const (
	leaderEpochCheckpointFile = "leader-epoch-checkpoint"
	logStartOffsetFile        = "log-start-offset"
	// recoveryPointFile holds the base offset of the first segment that is
	// not known to be fully fsynced (Kafka's recovery point). Recovery
	// trusts the segments below it and fully rescans the rest, so that a
	// torn write in any segment that was never synced is truncated rather
	// than reported as corruption.
	recoveryPointFile = "recovery-point-offset-checkpoint"
	tmpExt            = ".tmp"
)

// writeFileAtomic replaces dir/name with data so that a crash leaves either
// the old or the new contents: write a temporary file, fsync it, rename it
// over the old one, fsync the directory (which makes the rename durable).
func writeFileAtomic(fsys fs.FS, dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+tmpExt)
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}

// readCheckpointLines reads a checkpoint file as lines; ok is false when the
// file does not exist.
func readCheckpointLines(fsys fs.FS, dir, name string) (lines []string, ok bool, err error) {
	b, err := fs.ReadFile(fsys, filepath.Join(dir, name))
	if fs.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), true, nil
}

// encodeOffsetCheckpoint writes a single-offset checkpoint: a version line
// (0) and the offset.
func encodeOffsetCheckpoint(offset int64) []byte {
	return fmt.Appendf(nil, "0\n%d\n", offset)
}

// readOffsetCheckpoint reads a single-offset checkpoint; ok is false when the
// file does not exist.
func readOffsetCheckpoint(fsys fs.FS, dir, name string) (offset int64, ok bool, err error) {
	lines, ok, err := readCheckpointLines(fsys, dir, name)
	if err != nil || !ok {
		return 0, false, err
	}
	if len(lines) != 2 || lines[0] != "0" {
		return 0, false, fmt.Errorf("%w: %s: bad format", ErrCorruptLog, name)
	}
	offset, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || offset < 0 {
		return 0, false, fmt.Errorf("%w: %s: bad offset %q", ErrCorruptLog, name, lines[1])
	}
	return offset, true, nil
}
