package pool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileSecretsEnsureIsStableAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chap")
	s, err := NewFileSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := VolumeID("v")
	first, err := s.Ensure(id)
	if err != nil {
		t.Fatal(err)
	}
	if first.User != id || len(first.Password) != 16 {
		t.Fatalf("credentials = %+v", first)
	}
	for _, c := range first.Password {
		if !strings.ContainsRune(secretAlphabet, c) {
			t.Fatalf("password has %q, outside the alphabet", c)
		}
	}
	second, _ := s.Ensure(id)
	if second != first {
		t.Fatal("Ensure generated new credentials for a volume that had some")
	}
	info, _ := os.Stat(filepath.Join(dir, id+".json"))
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v", info.Mode().Perm())
	}
	dinfo, _ := os.Stat(dir)
	if dinfo.Mode().Perm() != 0o700 {
		t.Fatalf("secret dir mode %v", dinfo.Mode().Perm())
	}
	if other, _ := s.Ensure(VolumeID("w")); other.Password == first.Password {
		t.Fatal("two volumes got the same password")
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.Ensure("../../etc/passwd"); err == nil {
		t.Fatal("a path-like id was accepted")
	}
}

func TestFileSecretsReplacesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, _ := NewFileSecrets(dir)
	id := VolumeID("v")
	os.WriteFile(filepath.Join(dir, id+".json"), []byte("{not json"), 0o600)
	c, err := s.Ensure(id)
	if err != nil || c.Password == "" {
		t.Fatalf("Ensure over a corrupt file = %+v, %v", c, err)
	}
}
