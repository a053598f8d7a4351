package iscsi

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The file Debian's open-iscsi generated on the machine that recorded
// testdata (copied by testdata/record.sh).
func TestReadInitiatorNameDebianFile(t *testing.T) {
	path := filepath.Join("testdata", "recorded", "initiatorname.iscsi")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "InitiatorName="); ok {
			want = v
		}
	}
	got, err := ReadInitiatorName(path)
	if err != nil {
		t.Fatalf("ReadInitiatorName: %v", err)
	}
	if got != want || !strings.HasPrefix(got, "iqn.") {
		t.Fatalf("ReadInitiatorName = %q, want %q", got, want)
	}
}

func TestReadInitiatorName(t *testing.T) {
	for name, tc := range map[string]struct {
		content string
		want    string
		wantErr error
	}{
		"spaces around":     {content: "# comment\n  InitiatorName = iqn.2026-11.io.example:node-1  \n", want: "iqn.2026-11.io.example:node-1"},
		"commented out":     {content: "#InitiatorName=iqn.2026-11.io.example:old\nInitiatorName=iqn.2026-11.io.example:new\n", want: "iqn.2026-11.io.example:new"},
		"alias line too":    {content: "InitiatorAlias=node-1\nInitiatorName=iqn.2026-11.io.example:node-1\n", want: "iqn.2026-11.io.example:node-1"},
		"empty value":       {content: "InitiatorName=\n", wantErr: ErrInvalidArgument},
		"no name line":      {content: "## DO NOT EDIT OR REMOVE THIS FILE!\n", wantErr: ErrNotFound},
		"empty file":        {content: "", wantErr: ErrNotFound},
		"upper case":        {content: "InitiatorName=iqn.2026-11.io.example:Node-1\n", wantErr: ErrInvalidArgument},
		"generator pending": {content: "GenerateName=yes\n", wantErr: ErrNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "initiatorname.iscsi")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadInitiatorName(path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("ReadInitiatorName = %q, %v; want %v naming %s", got, err, tc.wantErr, path)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ReadInitiatorName = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestReadInitiatorNameMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "initiatorname.iscsi")
	_, err := ReadInitiatorName(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReadInitiatorName of a missing file: %v, want a not-exist error naming the file", err)
	}
}
