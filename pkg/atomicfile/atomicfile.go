// Package atomicfile writes small state files so that a crash leaves either
// the old content or the new, never a mix: temp file in the same
// directory, fsync, rename, fsync of the directory.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, readable only as perm allows from the
// first byte on.
func Write(path string, data []byte, perm os.FileMode) error {
	return publish(path, data, perm, os.Rename)
}

// publish writes data to a synced temp file beside path, puts it under
// path's name with place (rename replaces, link refuses an existing name),
// and syncs the directory so the name survives a crash.
func publish(path string, data []byte, perm os.FileMode, place func(tmp, path string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a rename: no-op; after a link: drops the temp name
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
	if err := place(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
