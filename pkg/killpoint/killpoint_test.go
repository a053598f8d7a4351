package killpoint

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	utilexec "k8s.io/utils/exec"
)

func TestParseSpec(t *testing.T) {
	for in, want := range map[string]Spec{"count": {Mode: Count}, "before:1": {Before, 1}, "after:12": {After, 12}} {
		got, err := ParseSpec(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseSpec(%q) = %v (%s), %v; want %v", in, got, got, err, want)
		}
	}
	for _, in := range []string{"", "before", "before:0", "after:-1", "during:2", "before:x", "count:1"} {
		if _, err := ParseSpec(in); err == nil {
			t.Errorf("ParseSpec(%q) accepted", in)
		}
	}
}

// recExec records the commands that really ran.
type recExec struct {
	mu  sync.Mutex
	ran []string
}

func (e *recExec) Command(name string, args ...string) utilexec.Cmd {
	return &recCmd{e: e, line: strings.Join(append([]string{name}, args...), " ")}
}

func (e *recExec) CommandContext(_ context.Context, name string, args ...string) utilexec.Cmd {
	return e.Command(name, args...)
}

func (e *recExec) LookPath(file string) (string, error) { return file, nil }

func (e *recExec) commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ran)
}

type recCmd struct {
	e    *recExec
	line string
}

func (c *recCmd) run() {
	c.e.mu.Lock()
	c.e.ran = append(c.e.ran, c.line)
	c.e.mu.Unlock()
}
func (c *recCmd) Run() error                         { c.run(); return nil }
func (c *recCmd) CombinedOutput() ([]byte, error)    { c.run(); return []byte("out"), nil }
func (c *recCmd) Output() ([]byte, error)            { c.run(); return []byte("out"), nil }
func (c *recCmd) SetDir(string)                      {}
func (c *recCmd) SetStdin(io.Reader)                 {}
func (c *recCmd) SetStdout(io.Writer)                {}
func (c *recCmd) SetStderr(io.Writer)                {}
func (c *recCmd) SetEnv([]string)                    {}
func (c *recCmd) StdoutPipe() (io.ReadCloser, error) { return nil, errors.New("no pipes") }
func (c *recCmd) StderrPipe() (io.ReadCloser, error) { return nil, errors.New("no pipes") }
func (c *recCmd) Start() error                       { c.run(); return nil }
func (c *recCmd) Wait() error                        { return nil }
func (c *recCmd) Stop()                              {}

// probeServer stands for a plugin: Probe runs what a handler of the
// driver would, through the wrapped exec.
type probeServer struct {
	csi.UnimplementedIdentityServer
	exec  utilexec.Interface
	block chan struct{} // when set, Probe waits for it first
}

const secret = "s3cr3tPassw0rd"

func (s *probeServer) Probe(ctx context.Context, _ *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	if s.block != nil {
		<-s.block
	}
	steps := []func() error{
		func() error { return s.exec.CommandContext(ctx, "lvs", "--reportformat", "json").Run() },
		func() error {
			return s.exec.CommandContext(ctx, "tgtadm", "--op", "new", "--mode", "account", "--user", "u", "--password", secret).Run()
		},
		func() error {
			// The reconciler's commands run under a context of their own.
			return s.exec.CommandContext(context.Background(), "lvs", "--background").Run()
		},
		func() error {
			_, err := s.exec.CommandContext(ctx, "iscsiadm", "-m", "node", "-o", "update", "-n", "node.session.auth.password", "-v", secret).CombinedOutput()
			return err
		},
		func() error { _, err := s.exec.Command("mkfs.ext4", "/dev/sdz").CombinedOutput(); return err },
		func() error {
			// boundexec.Mounter runs mount(8) this way, without a context.
			_, err := s.exec.Command("mount", "-t", "ext4", "-o", "defaults", "/dev/sdz", "/staging").CombinedOutput()
			return err
		},
		func() error {
			cmd := s.exec.CommandContext(ctx, "dd", "if=a", "of=b")
			if err := cmd.Start(); err != nil {
				return err
			}
			return cmd.Wait()
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	return &csi.ProbeResponse{}, nil
}

// everyCommand is what Probe runs, in order, as the real tools would see it.
var everyCommand = []string{
	"lvs --reportformat json",
	"tgtadm --op new --mode account --user u --password " + secret,
	"lvs --background",
	"iscsiadm -m node -o update -n node.session.auth.password -v " + secret,
	"mkfs.ext4 /dev/sdz",
	"mount -t ext4 -o defaults /dev/sdz /staging",
	"dd if=a of=b",
}

// armedCommands is the trailer of an armed Probe: the background lvs is
// not the call's.
var armedCommands = []string{
	"1 lvs --reportformat json",
	"2 tgtadm --op new --mode account --user u --password <masked>",
	"3 iscsiadm -m node -o update -n node.session.auth.password -v <masked>",
	"4 mkfs.ext4 /dev/sdz",
	"5 mount -t ext4 -o defaults /dev/sdz /staging",
	"6 dd if=a of=b",
}

type fixture struct {
	client csi.IdentityClient
	exec   *recExec
	server *probeServer
	in     *Injector
	mu     sync.Mutex
	kills  int
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{exec: &recExec{}}
	in := &Injector{kill: func() { f.mu.Lock(); f.kills++; f.mu.Unlock() }}
	f.in = in
	f.server = &probeServer{exec: in.Exec(f.exec)}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(in.Interceptor))
	csi.RegisterIdentityServer(srv, f.server)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.client = csi.NewIdentityClient(conn)
	return f
}

// probe calls Probe armed with spec ("" for unarmed) and returns the
// trailer's command list.
func (f *fixture) probe(t *testing.T, spec string) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	if spec != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, MetadataKey, spec)
	}
	var trailer metadata.MD
	_, err := f.client.Probe(ctx, &csi.ProbeRequest{}, grpc.Trailer(&trailer))
	return trailer.Get(CommandsKey), err
}

func (f *fixture) killed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kills
}

func TestUnarmedCallsAreUntouched(t *testing.T) {
	f := newFixture(t)
	listed, err := f.probe(t, "")
	if err != nil || listed != nil || f.killed() != 0 {
		t.Fatalf("unarmed Probe = %v, trailer %q, %d kills", err, listed, f.killed())
	}
	if got := f.exec.commands(); !slices.Equal(got, everyCommand) {
		t.Errorf("ran %q", got)
	}
}

func TestCountListsTheCallsCommandsWithSecretsMasked(t *testing.T) {
	f := newFixture(t)
	listed, err := f.probe(t, "count")
	if err != nil || f.killed() != 0 {
		t.Fatalf("Probe(count) = %v, %d kills", err, f.killed())
	}
	if !slices.Equal(listed, armedCommands) {
		t.Errorf("trailer\n%q\nwant\n%q", listed, armedCommands)
	}
	for _, l := range listed {
		if strings.Contains(l, secret) {
			t.Errorf("secret in %q", l)
		}
	}
}

func TestKillPoints(t *testing.T) {
	for _, tc := range []struct {
		spec string
		ran  int // how many of everyCommand really ran
	}{
		{"before:1", 0},
		{"after:1", 1},
		{"before:2", 1},
		{"after:2", 2},
		{"before:4", 4}, // the background lvs (not counted) ran before it
		{"after:4", 5},
		{"before:5", 5}, // the mount never happens
		{"after:5", 6},
		{"before:6", 6}, // Start never started dd
		{"after:6", 7},  // dd ran; killed when Wait returned
	} {
		t.Run(tc.spec, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.probe(t, tc.spec)
			if err == nil {
				t.Fatal("Probe succeeded through its kill point")
			}
			if f.killed() != 1 {
				t.Errorf("%d kills, want 1", f.killed())
			}
			ran := f.exec.commands()
			if !slices.Equal(ran, everyCommand[:tc.ran]) {
				t.Errorf("ran %q\nwant %q", ran, everyCommand[:tc.ran])
			}
		})
	}
}

func TestKillPointBeyondTheLastCommandIsNotReached(t *testing.T) {
	f := newFixture(t)
	listed, err := f.probe(t, "after:7")
	if err != nil || f.killed() != 0 || len(listed) != 6 {
		t.Fatalf("Probe(after:7) = %v, %d kills, %d commands", err, f.killed(), len(listed))
	}
}

func TestOneArmedCallAtATime(t *testing.T) {
	f := newFixture(t)
	f.server.block = make(chan struct{})
	first := make(chan error, 1)
	go func() { _, err := f.probe(t, "count"); first <- err }()
	for f.in.callOf(nil) == nil { // until the first call is armed
		time.Sleep(time.Millisecond)
	}
	_, err := f.probe(t, "count")
	close(f.server.block)
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second armed call = %v, want FailedPrecondition", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first call: %v", err)
	}
}

func TestBadSpecIsRefused(t *testing.T) {
	f := newFixture(t)
	if _, err := f.probe(t, "during:3"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Probe(during:3) = %v, want InvalidArgument", err)
	}
	if got := f.exec.commands(); len(got) != 0 {
		t.Errorf("ran %q", got)
	}
}
