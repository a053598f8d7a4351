package doctor

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// dialer is the fake HostDeps/NodeDeps.Dial: the addresses listed answer.
type dialer struct {
	mu   sync.Mutex
	open map[string]bool
}

func newDialer(addrs ...string) *dialer {
	d := &dialer{open: map[string]bool{}}
	for _, a := range addrs {
		d.open[a] = true
	}
	return d
}

func (d *dialer) set(addr string, open bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.open[addr] = open
}

func (d *dialer) dial(_ context.Context, network, address string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open[address] {
		return nil
	}
	return errors.New("connect: connection refused")
}

// write creates path below root with content, and its directories.
func write(t *testing.T, root, path, content string) {
	t.Helper()
	full := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs checks and returns the findings of one id.
func findingsOf(t *testing.T, checks []Check, id string, fix bool) []Finding {
	t.Helper()
	r := Run(context.Background(), "test", checks, fix)
	var out []Finding
	for _, f := range r.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no finding %s in %+v", id, r.Findings)
	}
	return out
}

// worst is the highest severity among fs.
func worst(fs []Finding) Severity {
	w := OK
	for _, f := range fs {
		if f.Severity > w {
			w = f.Severity
		}
	}
	return w
}

// expect checks that finding id has severity want and, for a problem, that
// its text names every one of names and that it carries why and a fix.
func expect(t *testing.T, checks []Check, id string, want Severity, names ...string) []Finding {
	t.Helper()
	if _, ok := catalog[id]; !ok {
		t.Errorf("finding id %s is not in the catalogue", id)
	}
	fs := findingsOf(t, checks, id, false)
	if got := worst(fs); got != want {
		t.Fatalf("%s: severity %s, want %s: %+v", id, got, want, fs)
	}
	text := ""
	for _, f := range fs {
		text += f.What + " " + f.Fix + " " + strings.Join(f.Command, " ") + "\n"
		if f.Severity != OK && (f.Why == "" || (f.Fix == "" && len(f.Command) == 0)) {
			t.Errorf("%s: finding without why or fix: %+v", id, f)
		}
	}
	for _, n := range names {
		if !strings.Contains(text, n) {
			t.Errorf("%s: findings do not name %q:\n%s", id, n, text)
		}
	}
	return fs
}

// listenUnix makes a real unix socket at path for the test's life.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}
