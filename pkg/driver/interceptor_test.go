package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	logsapi "k8s.io/component-base/logs/api/v1"
	logsjson "k8s.io/component-base/logs/json"
	"k8s.io/klog/v2"
)

// captureLogs sends klog output at verbosity v to a buffer for one test.
func captureLogs(t *testing.T, v string) *bytes.Buffer {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if err := fs.Set("v", v); err != nil {
		t.Fatal(err)
	}
	fs.Set("logtostderr", "false")
	var buf bytes.Buffer
	klog.SetOutput(&buf)
	t.Cleanup(func() {
		fs.Set("v", "0")
		fs.Set("logtostderr", "true")
		klog.SetOutput(nil)
	})
	return &buf
}

func TestInterceptorTurnsPanicIntoInternal(t *testing.T) {
	logs := captureLogs(t, "0")
	info := &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Controller/CreateVolume"}
	resp, err := logAndRecover(context.Background(), &csi.CreateVolumeRequest{Name: "x"}, info,
		func(context.Context, any) (any, error) { panic("boom") })
	if resp != nil || status.Code(err) != codes.Internal {
		t.Fatalf("got %v, %v; want nil, Internal", resp, err)
	}
	klog.Flush()
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("the panic was not logged: %s", logs)
	}
}

func TestInterceptorLogsMethodAndCode(t *testing.T) {
	logs := captureLogs(t, "0")
	info := &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Node/NodeStageVolume"}
	_, err := logAndRecover(context.Background(), &csi.NodeStageVolumeRequest{}, info,
		func(context.Context, any) (any, error) { return nil, status.Error(codes.NotFound, "no such volume") })
	if status.Code(err) != codes.NotFound {
		t.Fatalf("code = %v, want the handler's NotFound", status.Code(err))
	}
	klog.Flush()
	for _, want := range []string{"NodeStageVolume", "NotFound"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs)
		}
	}
}

func TestInterceptorKeepsSecretsOutOfLogs(t *testing.T) {
	logs := captureLogs(t, "5")
	const chapSecret = "chap-password-123456"
	const csiSecret = "mutual-secret-abcdef"
	req := &csi.NodeStageVolumeRequest{
		VolumeId:          "csi-0123",
		StagingTargetPath: "/var/lib/kubelet/plugins/x",
		PublishContext:    map[string]string{"chapPassword": chapSecret, "portal": "192.0.2.1:3260"},
		Secrets:           map[string]string{"node.session.auth.password_in": csiSecret},
	}
	info := &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Node/NodeStageVolume"}
	resp := &csi.ControllerPublishVolumeResponse{PublishContext: map[string]string{"chapPassword": chapSecret}}
	if _, err := logAndRecover(context.Background(), req, info, func(context.Context, any) (any, error) { return resp, nil }); err != nil {
		t.Fatal(err)
	}
	klog.Flush()
	out := logs.String()
	if strings.Contains(out, chapSecret) || strings.Contains(out, csiSecret) {
		t.Fatalf("a secret reached the log: %s", out)
	}
	if !strings.Contains(out, "192.0.2.1:3260") || !strings.Contains(out, "csi-0123") {
		t.Fatalf("non-secret fields missing from the payload log: %s", out)
	}
	// The request itself must not be modified by sanitizing.
	if req.PublishContext["chapPassword"] != chapSecret {
		t.Fatal("sanitizing modified the live request")
	}
}

// With --logging-format=json the payloads are logged as JSON strings of
// the sanitized messages: the secrets stay out there too.
func TestInterceptorKeepsSecretsOutOfJSONLogs(t *testing.T) {
	captureLogs(t, "5")
	var buf bytes.Buffer
	c := logsapi.NewLoggingConfiguration()
	c.Format, c.Verbosity = logsapi.JSONLogFormat, 5
	logger, control := logsjson.Factory{}.Create(*c, logsapi.LoggingOptions{ErrorStream: &buf, InfoStream: &buf})
	klog.SetLogger(logger)
	t.Cleanup(klog.ClearLogger)

	const chapSecret = "chap-password-123456"
	const csiSecret = "mutual-secret-abcdef"
	req := &csi.NodeStageVolumeRequest{
		VolumeId:       "csi-0123",
		PublishContext: map[string]string{"chap": chapSecret, "portal": "192.0.2.1:3260"},
		Secrets:        map[string]string{"password": csiSecret},
	}
	resp := &csi.ControllerPublishVolumeResponse{PublishContext: map[string]string{"chap": chapSecret}}
	info := &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Node/NodeStageVolume"}
	if _, err := logAndRecover(context.Background(), req, info, func(context.Context, any) (any, error) { return resp, nil }); err != nil {
		t.Fatal(err)
	}
	// A failure too: its error is logged in full.
	if _, err := logAndRecover(context.Background(), req, info, func(context.Context, any) (any, error) {
		return nil, status.Error(codes.Internal, "login failed")
	}); err == nil {
		t.Fatal("the failure was lost")
	}
	klog.Flush()
	if control.Flush != nil {
		control.Flush()
	}
	out := buf.String()
	if strings.Contains(out, chapSecret) || strings.Contains(out, csiSecret) {
		t.Fatalf("a secret reached the JSON log: %s", out)
	}
	var sawRequest, sawFailure bool
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("not a JSON log line (%v): %s", err, line)
		}
		if r, ok := entry["request"].(string); ok && strings.Contains(r, "csi-0123") && strings.Contains(r, "192.0.2.1:3260") {
			sawRequest = true
		}
		if entry["msg"] == "GRPC call failed" && entry["code"] == "Internal" {
			sawFailure = true
		}
	}
	if !sawRequest || !sawFailure {
		t.Fatalf("the JSON log lacks the sanitized request or the failure:\n%s", out)
	}
}
