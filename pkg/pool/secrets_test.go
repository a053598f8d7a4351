package pool

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// 0.1 kept random credentials in <state-dir>/chap/<id>.json; they are
// read back for volumes published back then, and forgotten on request.
func TestFileSecretsReadsAndForgetsLegacyCredentials(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFileSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := VolumeID("v")
	if _, ok, err := s.Legacy(id); ok || err != nil {
		t.Fatalf("Legacy without a file = %v, %v", ok, err)
	}
	want := CHAP{User: id, Password: "Abcdefgh23456789"}
	b, _ := json.Marshal(want)
	if err := os.WriteFile(filepath.Join(dir, id+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Legacy(id)
	if err != nil || !ok || got != want {
		t.Fatalf("Legacy = %+v, %v, %v", got, ok, err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, ok, _ := s.Legacy(id); ok {
		t.Fatal("credentials still there after Delete")
	}
	if _, _, err := s.Legacy("../../etc/passwd"); err == nil {
		t.Fatal("a path-like id was accepted")
	}
	// A corrupt file names no credentials anyone can hold.
	os.WriteFile(filepath.Join(dir, id+".json"), []byte("{not json"), 0o600)
	if _, ok, err := s.Legacy(id); ok || err != nil {
		t.Fatalf("Legacy of a corrupt file = %v, %v", ok, err)
	}
	// The directory may be gone altogether (the state dir was lost).
	gone, _ := NewFileSecrets(filepath.Join(dir, "missing"))
	if _, ok, err := gone.Legacy(id); ok || err != nil {
		t.Fatalf("Legacy in a missing directory = %v, %v", ok, err)
	}
}

// The key is read from and written to block devices only: never a regular
// file, and a missing device node is never created.
func TestBlockKeyDeviceRefusesAnythingButABlockDevice(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "lic-chap-key")
	if err := (BlockKeyDevice{}).WriteKey(missing, make([]byte, KeyBlockSize)); err == nil {
		t.Fatal("writing to a missing device succeeded")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a missing device node was created as a file")
	}
	regular := filepath.Join(dir, "regular")
	os.WriteFile(regular, make([]byte, KeyBlockSize), 0o600)
	if _, err := (BlockKeyDevice{}).ReadKey(regular); err == nil {
		t.Fatal("read a key from a regular file")
	}
	if err := (BlockKeyDevice{}).WriteKey(regular, make([]byte, KeyBlockSize)); err == nil {
		t.Fatal("wrote a key to a regular file")
	}
}

func TestMemoryKeyDevice(t *testing.T) {
	m := NewMemoryKeyDevice()
	b, err := m.ReadKey("/dev/vg/x")
	if err != nil || !bytes.Equal(b, make([]byte, KeyBlockSize)) {
		t.Fatalf("a device never written reads %v, %v; want zeros", b, err)
	}
	block := keyBlock(bytes.Repeat([]byte{7}, keyBytes))
	m.WriteKey("/dev/vg/x", block)
	if b, _ := m.ReadKey("/dev/vg/x"); !bytes.Equal(b, block) {
		t.Fatal("read back something else")
	}
}
