package fs

import "path/filepath"

// MkdirAllDurable creates dir and its missing parents, and makes each one
// it creates durable in its parent (SyncDir), so the folder survives a
// crash even before anything inside it is synced.
func MkdirAllDurable(fsys FS, dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := fsys.Stat(d); err == nil {
			break
		} else if !IsNotExist(err) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Deepest first is fine: each SyncDir records one child's entry.
	for _, d := range missing {
		if err := fsys.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
