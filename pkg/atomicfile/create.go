package atomicfile

import "os"

// Create writes a new file at path with data, complete and synced before
// it appears under its name, and fails with an error matching fs.ErrExist
// when path exists: of two processes creating the same file at once, the
// first one's content stays (a key must never be replaced by a second,
// different one that someone may already have handed out).
func Create(path string, data []byte, perm os.FileMode) error {
	// link(2), unlike rename(2), refuses an existing name.
	return publish(path, data, perm, os.Link)
}
