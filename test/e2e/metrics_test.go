//go:build e2e

package e2e

import (
	"flag"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

var (
	controllerMetrics = flag.String("controller-metrics", "", "host:port of the controller's --metrics-address")
	nodeMetrics       = flag.String("node-metrics", "", "host:port of the node plugin's --metrics-address")
)

// scrapeMetrics returns the /metrics text of address.
func scrapeMetrics(t *testing.T, address string) string {
	t.Helper()
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + address + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", address, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %d %v\n%s", address, resp.StatusCode, err, b)
	}
	return string(b)
}

// sample is the value of the series of metric with every one of labels
// (name="value" pairs), and whether there is one.
func sample(text, metric string, labels ...string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + `(\{[^}]*\})? (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		match := true
		for _, l := range labels {
			match = match && strings.Contains(m[1], l)
		}
		if match {
			v, err := strconv.ParseFloat(m[2], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// lvmNumber runs an lvm report command printing one number.
func lvmNumber(t *testing.T, argv ...string) float64 {
	t.Helper()
	out := run(t, append(argv[:1:1], append([]string{"--config", lvmConfig, "--noheadings", "--units", "b", "--nosuffix"}, argv[1:]...)...)...)
	// The number is the last word (warnings on stderr come first).
	fields := strings.Fields(out)
	if len(fields) == 0 {
		t.Fatalf("%v printed nothing", argv)
	}
	v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
	if err != nil {
		t.Fatalf("%v printed %q", argv, out)
	}
	return v
}

// The controller's and the node's /metrics agree with vgs, lvs and
// iscsiadm on the real host.
func TestMetricsMatchTheHost(t *testing.T) {
	if *controllerMetrics == "" || *nodeMetrics == "" || *restartTgtd == "" {
		t.Fatal("-controller-metrics, -node-metrics and -restart-tgtd are required (test/e2e/guest.sh passes them)")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), nil)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}

	// A tgtd restart makes the controller reconcile within a second: the
	// figures are then those of a pass after the volume was made.
	before, _ := sample(scrapeMetrics(t, *controllerMetrics), "lvm_iscsi_csi_storage_host_read_timestamp_seconds")
	logOffset := iscsidLogSize()
	run(t, *restartTgtd)
	// The node's session must come back before its figures are compared
	// (stuck_session_test.go: open-iscsi < 2.1.9 may need an iscsid
	// restart; its stuck session reads FREE in sysfs, seen in this test).
	awaitSessionAfterTargetRestart(t, v.PublishContext[publish.KeyIQN], logOffset)
	var text string
	deadline := time.Now().Add(time.Minute)
	for {
		text = scrapeMetrics(t, *controllerMetrics)
		if at, ok := sample(text, "lvm_iscsi_csi_storage_host_read_timestamp_seconds"); ok && at > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconcile pass was recorded within a minute of a tgtd restart:\n%s", text)
		}
		time.Sleep(500 * time.Millisecond)
	}
	vgLabel := `volume_group="` + *volumeGroup + `"`
	for metric, field := range map[string]string{"lvm_iscsi_csi_volume_group_size_bytes": "vg_size", "lvm_iscsi_csi_volume_group_free_bytes": "vg_free"} {
		got, ok := sample(text, metric, vgLabel)
		want := lvmNumber(t, "vgs", "-o", field, *volumeGroup)
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), vgs %s = %v", metric, got, ok, field, want)
		}
	}
	if thin, ok := sample(text, "lvm_iscsi_csi_volumes", `provisioning="thin"`); !ok || thin < 1 {
		t.Errorf("thin volumes = %v (present %v), want at least the test's", thin, ok)
	}
	iqn := v.PublishContext[publish.KeyIQN]
	if _, ok := sample(text, "lvm_iscsi_csi_target_sessions", `target="`+iqn+`"`); !ok {
		t.Errorf("no target_sessions series for the published volume's target %s", iqn)
	}
	if n, ok := sample(text, "lvm_iscsi_csi_rpc_requests_total", `method="/csi.v1.Controller/CreateVolume"`, `code="OK"`); !ok || n < 1 {
		t.Errorf("CreateVolume OK counted %v times (present %v)", n, ok)
	}

	// The node: its sessions to our targets, as iscsiadm lists them, once
	// the session is back from the tgtd restart.
	deadline = time.Now().Add(3 * time.Minute)
	for {
		text = scrapeMetrics(t, *nodeMetrics)
		ours := 0
		for _, m := range sessionLine.FindAllStringSubmatch(run(t, "iscsiadm", "-m", "session"), -1) {
			if id, ok := publish.VolumeIDOf(m[2]); ok && strings.HasPrefix(id, "csi-") {
				ours++
			}
		}
		in, _ := sample(text, "lvm_iscsi_csi_node_iscsi_sessions", `state="LOGGED_IN"`)
		failed, _ := sample(text, "lvm_iscsi_csi_node_iscsi_sessions", `state="FAILED"`)
		if ours >= 1 && int(in) == ours && failed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node sessions LOGGED_IN %v, FAILED %v; iscsiadm lists %d of ours:\n%s", in, failed, ours, text)
		}
		time.Sleep(time.Second)
	}
	if staged, ok := sample(text, "lvm_iscsi_csi_node_staged_volumes"); !ok || staged < 1 {
		t.Errorf("staged volumes = %v (present %v), want at least the test's", staged, ok)
	}
	if n, ok := sample(text, "lvm_iscsi_csi_rpc_duration_seconds_count", `method="/csi.v1.Node/NodeStageVolume"`, `code="OK"`); !ok || n < 1 {
		t.Errorf("NodeStageVolume latency observed %v times (present %v)", n, ok)
	}
}
