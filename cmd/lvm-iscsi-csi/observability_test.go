package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// freeAddress returns a loopback address nothing listens on now.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrape returns the metrics text, or "" while the endpoint does not answer.
func scrape(address string) string {
	resp, err := http.Get("http://" + address + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue is the value of the series of metric whose labels include
// every one of labels ("" when absent).
func metricValue(text, metric string, labels ...string) float64 {
	for _, line := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok || name != metric {
			continue
		}
		set, value, _ := strings.Cut(rest, "} ")
		match := true
		for _, l := range labels {
			match = match && strings.Contains(set, l)
		}
		if match {
			v, _ := strconv.ParseFloat(value, 64)
			return v
		}
	}
	return -1
}

// A controller started with --metrics-address and --logging-format=json
// counts its calls and reconcile passes on /metrics and writes every log
// line as one JSON object.
func TestMetricsEndpointAndJSONLogs(t *testing.T) {
	dir := t.TempDir()
	address := freeAddress(t)
	p := startControllerWith(t, dir, "observed", "vg-a", filepath.Join(dir, "state"),
		"--metrics-address="+address, "--logging-format=json")
	// lvm cannot be found (PATH is empty): every pass fails, and counts.
	waitFor(t, "a failed reconcile pass is counted", func() bool {
		return metricValue(scrape(address), "lvm_iscsi_csi_reconcile_runs_total", `result="error"`) >= 1
	})
	_ = p.createVolume(t)
	text := scrape(address)
	if v := metricValue(text, "lvm_iscsi_csi_rpc_requests_total", `method="/csi.v1.Controller/CreateVolume"`, `code="Unavailable"`); v != 1 {
		t.Errorf("CreateVolume counted %v times as Unavailable, want 1:\n%s", v, text)
	}
	if !regexp.MustCompile(`(?m)^lvm_iscsi_csi_rpc_duration_seconds_count\{code="Unavailable",method="/csi.v1.Controller/CreateVolume"\} 1$`).MatchString(text) {
		t.Errorf("CreateVolume's duration not observed:\n%s", text)
	}

	lines := 0
	sc := bufio.NewScanner(strings.NewReader(p.logText(t)))
	for sc.Scan() {
		var entry map[string]any
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, sc.Text())
		}
		if _, ok := entry["msg"]; !ok {
			t.Fatalf("log line without msg: %s", sc.Text())
		}
		lines++
	}
	if lines == 0 {
		t.Fatal("nothing was logged")
	}
	if !strings.Contains(p.logText(t), `"msg":"Serving metrics"`) {
		t.Errorf("the metrics listener was not logged:\n%s", p.logText(t))
	}
}

func TestBadLoggingFormatIsACommandLineError(t *testing.T) {
	if got := run([]string{"--mode=node", "--node-id=n1", "--logging-format=xml"}); got != 2 {
		t.Fatalf("exit code %d, want 2", got)
	}
}
