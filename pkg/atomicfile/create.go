package atomicfile

import (
	"os"
	"path/filepath"
)

// Create writes a new file at path with data, complete and synced before
// it appears under its name, and fails with an error matching fs.ErrExist
// when path exists: of two processes creating the same file at once, the
// first one's content stays (a key must never be replaced by a second,
// different one that someone may already have handed out).
func Create(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
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
	// link(2), unlike rename(2), refuses an existing name.
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
