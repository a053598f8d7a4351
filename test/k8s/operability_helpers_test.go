//go:build k8s

package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// driverContainer is the name of the driver's container in both pods.
const driverContainer = "lvm-iscsi-csi"

// containerOf returns the pod's container of that name.
func containerOf(t *testing.T, p *corev1.Pod, name string) corev1.Container {
	t.Helper()
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("pod %s has no container %s", p.Name, name)
	return corev1.Container{}
}

// argOf is the value of --flag=value in the container's arguments, as the
// chart rendered them ("" when absent).
func argOf(c corev1.Container, flag string) string {
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--"+flag+"="); ok {
			return v
		}
	}
	return ""
}

// portOf is the container's port of that name (0 when absent).
func portOf(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// sample is one line of Prometheus' text format: a series and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape GETs http://<pod's host IP>:<port>/metrics (the driver's pods use
// the host network; the tests run on the node) and parses the samples.
func scrape(ctx context.Context, p *corev1.Pod, port int32) ([]sample, error) {
	url := "http://" + net.JoinHostPort(p.Status.HostIP, strconv.Itoa(int(port))) + "/metrics"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return parseSamples(string(body))
}

// parseSamples reads Prometheus' text exposition format: comments skipped,
// each other line `name{label="value",...} value [timestamp]`.
func parseSamples(text string) ([]sample, error) {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(line, "{ "); i > 0 && line[i] == '{' {
			s.name = line[:i]
			var err error
			if rest, err = parseLabels(line[i+1:], s.labels); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
		} else if i > 0 {
			s.name, rest = line[:i], line[i:]
		} else {
			return nil, fmt.Errorf("%q: no value", line)
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("%q: no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out, nil
}

// parseLabels reads `a="x",b="y"}` into labels and returns what follows
// the closing brace.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.Index(s, "=\"")
		if eq <= 0 {
			return "", errors.New("bad label")
		}
		name := s[:eq]
		s = s[eq+2:]
		var v strings.Builder
		closed := false
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '\\' && i+1 < len(s):
				i++
				if s[i] == 'n' {
					v.WriteByte('\n')
				} else {
					v.WriteByte(s[i])
				}
			case s[i] == '"':
				s, closed = s[i+1:], true
			default:
				v.WriteByte(s[i])
			}
			if closed {
				break
			}
		}
		if !closed {
			return "", errors.New("unterminated label value")
		}
		labels[name] = v.String()
	}
}

// findSamples returns the samples of that name whose labels include want.
func findSamples(samples []sample, name string, want map[string]string) []sample {
	var out []sample
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// sumSamples adds the values of findSamples' samples; ok is false when there is none.
func sumSamples(samples []sample, name string, want map[string]string) (total float64, ok bool) {
	found := findSamples(samples, name, want)
	for _, s := range found {
		total += s.value
	}
	return total, len(found) > 0
}

// execInPod runs cmd in the pod's container through the API server
// (pods/exec, as kubectl exec does: WebSocket, SPDY where that is refused)
// and returns its output and exit code.
func execInPod(t *testing.T, p *corev1.Pod, container string, cmd ...string) (stdout, stderr string, code int) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, req.URL())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, req.URL().String())
	if err != nil {
		t.Fatal(err)
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	var exitErr utilexec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitStatus()
	default:
		t.Fatalf("exec %q in %s/%s: %v\n%s%s", cmd, p.Name, container, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), code
}

// doctorFinding is one finding of `lvm-iscsi-csi doctor --output=json`
// (docs/troubleshooting.md).
type doctorFinding struct {
	ID, Severity, What, Fix string
	Command                 []string
	AutoFix, Fixed          bool
	FixError                string
}

type doctorReport struct {
	Mode     string
	Findings []doctorFinding
	exitCode int
}

// runDoctor runs doctor in the component's driver container the way
// docs/troubleshooting.md tells an administrator to: the driver's own
// command line (--args-from=/proc/1/cmdline), JSON out.
func runDoctor(t *testing.T, component string, extra ...string) doctorReport {
	t.Helper()
	p, err := driverPod(context.Background(), component)
	if err != nil || p == nil {
		t.Fatalf("the %s pod: %v (found %v)", component, err, p != nil)
	}
	cmd := append([]string{"lvm-iscsi-csi", "doctor", "--args-from=/proc/1/cmdline", "--output=json", "--settle=1s"}, extra...)
	stdout, stderr, code := execInPod(t, p, driverContainer, cmd...)
	var r doctorReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("doctor in %s: exit %d, not JSON (%v):\n%s\n%s", p.Name, code, err, stdout, stderr)
	}
	r.exitCode = code
	var notOK []string
	for _, f := range r.Findings {
		if f.Severity != "ok" || f.Fixed {
			notOK = append(notOK, fmt.Sprintf("%s %s fixed=%v: %s", f.Severity, f.ID, f.Fixed, f.What))
		}
	}
	t.Logf("doctor %s %s in %s: exit %d, %d findings\n  %s", component, strings.Join(extra, " "), p.Name, code, len(r.Findings), strings.Join(notOK, "\n  "))
	return r
}

// of returns the findings with that id.
func (r doctorReport) of(id string) []doctorFinding {
	var out []doctorFinding
	for _, f := range r.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

// worst is the severity of the worst finding with that id ("" if none).
func (r doctorReport) worst(id string) string {
	rank := map[string]int{"ok": 1, "warning": 2, "error": 3}
	w := ""
	for _, f := range r.of(id) {
		if rank[f.Severity] > rank[w] {
			w = f.Severity
		}
	}
	return w
}

// naming returns the finding with that id whose text contains s, or nil.
func (r doctorReport) naming(id, s string) *doctorFinding {
	for _, f := range r.of(id) {
		if strings.Contains(f.What, s) {
			return &f
		}
	}
	return nil
}

// runOnNode runs a command on the node (the tests run there as root) and fails
// the test if it fails.
func runOnNode(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
