//go:build k8s

package k8s

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestOperability checks what an administrator of the cluster has besides
// the driver's verbose log (issue 14): its /metrics and a sidecar's, its
// JSON log, doctor in its pods, and its Events. make k8s-e2e installs the
// chart with metrics.enabled=true and logFormat=json. One claim of the thin
// class, used by a running pod, is what the four look at: one volume
// attached and staged, in use.
func TestOperability(t *testing.T) {
	dumpEvents(t)
	const claim, pod = "ops", "ops"
	createClaim(t, claim, "thin", "64Mi", corev1.PersistentVolumeFilesystem)
	startPod(t, pod, claim, false, "echo ok > /data/f && sync && exec sleep 3600")
	waitRunning(t, pod)
	pv := boundVolume(t, claim)
	volumeID := pv.Spec.CSI.VolumeHandle
	ctrl, node := livePod(t, "controller"), livePod(t, "node")
	iqn := argOf(containerOf(t, ctrl, driverContainer), "iqn-prefix") + ":" + volumeID
	t.Logf("volume %s (PV %s), target %s; controller pod %s, node pod %s", volumeID, pv.Name, iqn, ctrl.Name, node.Name)

	t.Run("metrics", func(t *testing.T) { checkMetrics(t, ctrl, node, iqn) })
	t.Run("json-logs", func(t *testing.T) { checkJSONLogs(t, ctrl, node, pv, iqn) })
	t.Run("doctor", func(t *testing.T) { checkDoctor(t, ctrl) })
	t.Run("events", func(t *testing.T) { checkThinPoolEvents(t, ctrl, pv) })

	deletePod(t, pod)
	waitDetached(t, pv.Name)
	deleteClaim(t, claim)
}

// livePod is the component's one running pod.
func livePod(t *testing.T, component string) *corev1.Pod {
	t.Helper()
	p, err := driverPod(context.Background(), component)
	if err != nil || p == nil {
		t.Fatalf("the %s pod: %v (found %v)", component, err, p != nil)
	}
	return p
}

// checkMetrics scrapes the controller's, the node plugin's and
// csi-provisioner's /metrics and checks that they tell what happened: the
// claim was created, published, staged and is in use.
func checkMetrics(t *testing.T, ctrl, node *corev1.Pod, iqn string) {
	ctx := context.Background()
	cc := containerOf(t, ctrl, driverContainer)
	ctrlPort, nodePort := portOf(cc, "metrics"), portOf(containerOf(t, node, driverContainer), "metrics")
	if ctrlPort == 0 || nodePort == 0 || argOf(cc, "metrics-address") == "" {
		t.Fatalf("metrics are not on (controller port %d, node port %d, --metrics-address=%q): make k8s-e2e installs the chart with metrics.enabled=true",
			ctrlPort, nodePort, argOf(cc, "metrics-address"))
	}
	// The storage host's figures are those of the last reconcile pass
	// (every --reconcile-interval): the publication shows after the next.
	var c []sample
	waitFor(t, "the controller's /metrics show the published volume and its session", func(ctx context.Context) (bool, error) {
		var err error
		if c, err = scrape(ctx, ctrl, ctrlPort); err != nil {
			return false, err
		}
		published, _ := sumSamples(c, "lvm_iscsi_csi_published_volumes", nil)
		sessions, _ := sumSamples(c, "lvm_iscsi_csi_target_sessions", map[string]string{"target": iqn})
		return published >= 1 && sessions == 1, nil
	})
	vg, thinPool := argOf(cc, "volume-group"), argOf(cc, "thin-pool")
	atLeast(t, "controller", c, "lvm_iscsi_csi_rpc_requests_total", map[string]string{"method": "/csi.v1.Controller/CreateVolume", "code": "OK"}, 1)
	atLeast(t, "controller", c, "lvm_iscsi_csi_rpc_requests_total", map[string]string{"method": "/csi.v1.Controller/ControllerPublishVolume", "code": "OK"}, 1)
	atLeast(t, "controller", c, "lvm_iscsi_csi_rpc_duration_seconds_count", map[string]string{"method": "/csi.v1.Controller/CreateVolume", "code": "OK"}, 1)
	atLeast(t, "controller", c, "lvm_iscsi_csi_volumes", map[string]string{"provisioning": "thin", "volume_group": vg}, 1)
	atLeast(t, "controller", c, "lvm_iscsi_csi_targets", nil, 1)
	atLeast(t, "controller", c, "lvm_iscsi_csi_reconcile_runs_total", map[string]string{"result": "ok"}, 1)
	atLeast(t, "controller", c, "lvm_iscsi_csi_volume_group_size_bytes", map[string]string{"volume_group": vg}, 1)
	for _, name := range []string{"lvm_iscsi_csi_thin_pool_data_percent", "lvm_iscsi_csi_thin_pool_metadata_percent"} {
		v, ok := sumSamples(c, name, map[string]string{"thin_pool": thinPool})
		if !ok || v < 0 || v > 100 {
			t.Errorf("controller: %s{thin_pool=%q} = %v (present %v), want a percentage", name, thinPool, v, ok)
		}
	}
	size, _ := sumSamples(c, "lvm_iscsi_csi_volume_group_size_bytes", nil)
	free, _ := sumSamples(c, "lvm_iscsi_csi_volume_group_free_bytes", nil)
	if free < 0 || free >= size {
		t.Errorf("controller: volume group free %v of %v bytes: the thin pool alone takes some", free, size)
	}

	// The node's figures are read at each scrape.
	n, err := scrape(ctx, node, nodePort)
	if err != nil {
		t.Fatalf("node /metrics: %v", err)
	}
	atLeast(t, "node", n, "lvm_iscsi_csi_rpc_requests_total", map[string]string{"method": "/csi.v1.Node/NodeStageVolume", "code": "OK"}, 1)
	atLeast(t, "node", n, "lvm_iscsi_csi_rpc_requests_total", map[string]string{"method": "/csi.v1.Node/NodePublishVolume", "code": "OK"}, 1)
	atLeast(t, "node", n, "lvm_iscsi_csi_node_staged_volumes", nil, 1)
	atLeast(t, "node", n, "lvm_iscsi_csi_node_iscsi_sessions", map[string]string{"state": "LOGGED_IN"}, 1)

	// A sidecar's own metrics (--http-endpoint): csi-provisioner saw the
	// CreateVolume it made, and csi-attacher its ControllerPublishVolume.
	for _, sc := range []struct{ container, port, method string }{
		{"csi-provisioner", "m-provisioner", "/csi.v1.Controller/CreateVolume"},
		{"csi-attacher", "m-attacher", "/csi.v1.Controller/ControllerPublishVolume"},
	} {
		port := portOf(containerOf(t, ctrl, sc.container), sc.port)
		if port == 0 {
			t.Errorf("%s has no port %s", sc.container, sc.port)
			continue
		}
		s, err := scrape(ctx, ctrl, port)
		if err != nil {
			t.Errorf("%s /metrics: %v", sc.container, err)
			continue
		}
		atLeast(t, sc.container, s, "csi_sidecar_operations_seconds_count",
			map[string]string{"driver_name": driverName, "method_name": sc.method, "grpc_status_code": "OK"}, 1)
	}
}

// atLeast checks that the series matching labels add up to at least min.
func atLeast(t *testing.T, who string, samples []sample, name string, labels map[string]string, min float64) {
	t.Helper()
	v, ok := sumSamples(samples, name, labels)
	if !ok || v < min {
		t.Errorf("%s: %s%v = %v (present %v), want >= %v", who, name, labels, v, ok, min)
		return
	}
	t.Logf("%s: %s%v = %v", who, name, labels, v)
}

// checkJSONLogs reads the driver's log through the API (pods/log): every
// line a JSON object with the keys docs/logging.md promises, the claim's
// calls in it, and the volume's CHAP secret nowhere a user can read.
func checkJSONLogs(t *testing.T, ctrl, node *corev1.Pod, pv *corev1.PersistentVolume, iqn string) {
	if f := argOf(containerOf(t, ctrl, driverContainer), "logging-format"); f != "json" {
		t.Fatalf("the controller runs with --logging-format=%q: make k8s-e2e installs the chart with logFormat=json", f)
	}
	ctrlLog, ctrlLines := jsonLog(t, ctrl)
	nodeLog, nodeLines := jsonLog(t, node)
	hasLine(t, "controller", ctrlLines, map[string]string{"msg": "GRPC call", "method": "/csi.v1.Controller/CreateVolume", "code": "OK"})
	hasLine(t, "controller", ctrlLines, map[string]string{"msg": "Created target", "iqn": iqn})
	hasLine(t, "node", nodeLines, map[string]string{"msg": "GRPC call", "method": "/csi.v1.Node/NodeStageVolume", "code": "OK"})
	hasLine(t, "node", nodeLines, map[string]string{"msg": "Logged in to iSCSI target", "iqn": iqn, "chap": "true"})

	// The CHAP secret the node logged in with, from its iscsiadm node record
	// (-S shows hidden values): CHAP is on by the chart's default.
	if argOf(containerOf(t, ctrl, driverContainer), "chap") != "true" {
		t.Fatal("the controller runs without --chap=true; the chart's default is CHAP on")
	}
	portal := argOf(containerOf(t, ctrl, driverContainer), "portal")
	record := runOnNode(t, "iscsiadm", "-m", "node", "-T", iqn, "-p", portal, "-S")
	var secret string
	for _, line := range strings.Split(record, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "node.session.auth.password = "); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if secret == "" || secret == "<empty>" || len(secret) < 12 {
		t.Fatalf("no CHAP password in the node record of %s at %s:\n%s", iqn, portal, record)
	}
	places := map[string]string{"the controller's log": ctrlLog, "the node plugin's log": nodeLog}
	for _, c := range []string{"csi-provisioner", "csi-attacher"} {
		b, err := client.CoreV1().Pods(ctrl.Namespace).GetLogs(ctrl.Name, &corev1.PodLogOptions{Container: c}).DoRaw(context.Background())
		if err != nil {
			t.Fatalf("%s's log: %v", c, err)
		}
		places[c+"'s log"] = string(b)
	}
	pvJSON, _ := json.Marshal(pv.Spec.CSI)
	places["the PersistentVolume's csi source (volume_context)"] = string(pvJSON)
	vas, err := client.StorageV1().VolumeAttachments().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vaJSON, _ := json.Marshal(vas.Items)
	places["the VolumeAttachments (publish_context)"] = string(vaJSON)
	evs, err := client.CoreV1().Events("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evJSON, _ := json.Marshal(evs.Items)
	places["the cluster's events"] = string(evJSON)
	places["the LV tags"] = runOnNode(t, "lvs", "--noheadings", "-o", "lv_name,lv_tags", *volumeGroup)
	for where, text := range places {
		if strings.Contains(text, secret) {
			t.Errorf("the volume's CHAP secret appears in %s", where)
		}
	}
	t.Logf("the CHAP secret of %s (%d characters) is in none of: %v", iqn, len(secret), keys(places))
}

// jsonLog reads the pod's driver container log and parses each line as a
// JSON object with ts, caller and msg, as --logging-format=json writes it.
func jsonLog(t *testing.T, p *corev1.Pod) (string, []map[string]any) {
	t.Helper()
	b, err := client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: driverContainer}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("log of %s: %v", p.Name, err)
	}
	var lines []map[string]any
	bad := 0
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			if bad++; bad <= 3 {
				t.Errorf("%s line %d is not a JSON object (%v): %q", p.Name, i+1, err, line)
			}
			continue
		}
		for _, k := range []string{"ts", "caller", "msg"} {
			if _, ok := obj[k]; !ok {
				if bad++; bad <= 3 {
					t.Errorf("%s line %d has no %q: %q", p.Name, i+1, k, line)
				}
			}
		}
		lines = append(lines, obj)
	}
	if bad > 0 {
		t.Errorf("%s: %d bad line(s) of %d", p.Name, bad, len(lines))
	}
	if len(lines) == 0 {
		t.Fatalf("%s logged nothing", p.Name)
	}
	t.Logf("%s: %d JSON lines", p.Name, len(lines))
	return string(b), lines
}

// hasLine checks that one line carries every key with that value (JSON
// values compared as text: true, numbers).
func hasLine(t *testing.T, who string, lines []map[string]any, want map[string]string) {
	t.Helper()
next:
	for _, l := range lines {
		for k, v := range want {
			if fmt.Sprint(l[k]) != v {
				continue next
			}
		}
		return
	}
	t.Errorf("%s: no log line with %v", who, want)
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkDoctor runs doctor in both pods, as docs/troubleshooting.md says
// (kubectl exec ... lvm-iscsi-csi doctor --args-from=/proc/1/cmdline): on
// this healthy cluster no error and the prerequisites ok; then a stray
// node record of one of this driver's IQNs is made by hand on the node,
// doctor names it, --fix removes it, and doctor is clean again.
func checkDoctor(t *testing.T, ctrl *corev1.Pod) {
	for _, c := range []struct {
		component string
		mustBeOK  []string
	}{
		{"controller", []string{"vg", "thin-pool", "thin-pool-data", "thin-pool-metadata", "thin-pool-zeroing", "tgtd-socket", "tgtd", "portal",
			"lvm-filter", "stray-target", "target-missing", "target-lun", "target-acl", "target-chap"}},
		{"node", []string{"initiator-name", "iscsid", "stray-session", "stray-record", "stuck-session", "stale-mount"}},
	} {
		r := runDoctor(t, c.component)
		worst := 0
		for _, f := range r.Findings {
			if f.Severity == "error" {
				t.Errorf("doctor %s on a healthy cluster: error %s: %s (fix: %s)", c.component, f.ID, f.What, f.Fix)
				worst = 2
			} else if f.Severity == "warning" && worst < 1 {
				worst = 1
			}
		}
		if r.exitCode != worst {
			t.Errorf("doctor %s exited %d, its worst finding says %d", c.component, r.exitCode, worst)
		}
		for _, id := range c.mustBeOK {
			if w := r.worst(id); w != "ok" {
				t.Errorf("doctor %s: %s is %q, want ok: %+v", c.component, id, w, r.of(id))
			}
		}
	}

	// Break: a node record of this driver's form for a volume that is not
	// staged here (FAQ 3.6: sessions managed by hand).
	sum := sha256.Sum256([]byte("k8s-e2e doctor stray record"))
	id := "csi-" + hex.EncodeToString(sum[:])[:28]
	cc := containerOf(t, ctrl, driverContainer)
	iqn, portal := argOf(cc, "iqn-prefix")+":"+id, argOf(cc, "portal")
	t.Cleanup(func() { _ = exec.Command("iscsiadm", "-m", "node", "-T", iqn, "-p", portal, "-o", "delete").Run() })
	runOnNode(t, "iscsiadm", "-m", "node", "-o", "new", "-T", iqn, "-p", portal)
	r := runDoctor(t, "node")
	f := r.naming("stray-record", id)
	if f == nil {
		t.Fatalf("doctor node does not name the stray record of %s: %+v", id, r.of("stray-record"))
	}
	if f.Severity != "warning" || !f.AutoFix || r.exitCode < 1 || !strings.Contains(strings.Join(f.Command, " "), iqn) {
		t.Errorf("stray record finding %+v, exit %d: want a warning --fix applies, with the delete command, exit >= 1", *f, r.exitCode)
	}
	// Fix: doctor's own --fix, in the pod.
	r = runDoctor(t, "node", "--fix")
	if f := r.naming("stray-record", id); f == nil || !f.Fixed {
		t.Fatalf("doctor node --fix did not fix the stray record: %+v", r.of("stray-record"))
	}
	out, _ := exec.Command("iscsiadm", "-m", "node").CombinedOutput()
	if strings.Contains(string(out), id) {
		t.Errorf("after --fix the node still has the record:\n%s", out)
	}
	if r = runDoctor(t, "node"); r.worst("stray-record") != "ok" {
		t.Errorf("after --fix: stray-record %q: %+v", r.worst("stray-record"), r.of("stray-record"))
	}
}

// checkThinPoolEvents fills the thin pool past the controller's
// --thin-pool-warn-percent (halfway to --thin-pool-full-percent, so thin
// creations are not refused) with a thin LV made by hand on the storage
// host, and checks the Events the controller posts (the pool's on its
// pod, the claim's thin volume's on its PV), the metric and doctor; then
// removes the LV and checks the events saying so.
func checkThinPoolEvents(t *testing.T, ctrl *corev1.Pod, pv *corev1.PersistentVolume) {
	cc := containerOf(t, ctrl, driverContainer)
	if argOf(cc, "kube-events") != "true" {
		t.Fatal("the controller runs without --kube-events=true; the chart's default is on")
	}
	vg, thinPool := argOf(cc, "volume-group"), argOf(cc, "thin-pool")
	warn, err1 := strconv.ParseFloat(argOf(cc, "thin-pool-warn-percent"), 64)
	full, err2 := strconv.ParseFloat(argOf(cc, "thin-pool-full-percent"), 64)
	if err1 != nil || err2 != nil || warn <= 0 || full <= warn {
		t.Fatalf("thresholds --thin-pool-warn-percent=%q --thin-pool-full-percent=%q", argOf(cc, "thin-pool-warn-percent"), argOf(cc, "thin-pool-full-percent"))
	}
	size, used := thinPoolUse(t, vg, thinPool)
	if used >= warn {
		t.Fatalf("the thin pool is %.1f%% used before the test, past the %.0f%% warning already", used, warn)
	}
	target := (warn + full) / 2
	mib := int(math.Ceil((target-used)/100*size/(1<<20))) + 1
	start := metav1.NewTime(time.Now().Add(-time.Second))

	const fill = "k8s-e2e-fill"
	lv := vg + "/" + fill
	removed := false
	remove := func() {
		// Discarded first: the loop file under the volume group lives in
		// the guest's memory, and a discard through the pool gives it back.
		_ = exec.Command("blkdiscard", "/dev/"+lv).Run()
		runOnNode(t, "lvremove", "-q", "-y", lv)
		removed = true
	}
	t.Cleanup(func() {
		if !removed {
			remove()
		}
	})
	runOnNode(t, "lvcreate", "-q", "-T", vg+"/"+thinPool, "-V", fmt.Sprintf("%dm", mib), "-n", fill)
	began := time.Now()
	runOnNode(t, "dd", "if=/dev/zero", "of=/dev/"+lv, "bs=1M", fmt.Sprintf("count=%d", mib), "oflag=direct", "conv=fsync", "status=none")
	_, now := thinPoolUse(t, vg, thinPool)
	t.Logf("wrote %d MiB into %s in %.0fs: the pool went from %.1f%% to %.1f%% (warning %.0f%%, full %.0f%%)", mib, lv, time.Since(began).Seconds(), used, now, warn, full)
	if now < warn || now >= full {
		t.Fatalf("the pool is %.1f%% used, not between %.0f%% and %.0f%%", now, warn, full)
	}

	waitEvent(t, ctrl.Namespace, ctrl.Name, "ThinPoolDataNearlyFull", corev1.EventTypeWarning, start)
	waitEvent(t, "", pv.Name, "VolumeAbnormal", corev1.EventTypeWarning, start)
	waitFor(t, "lvm_iscsi_csi_thin_pool_data_percent past the warning", func(ctx context.Context) (bool, error) {
		s, err := scrape(ctx, ctrl, portOf(cc, "metrics"))
		if err != nil {
			return false, err
		}
		v, _ := sumSamples(s, "lvm_iscsi_csi_thin_pool_data_percent", map[string]string{"thin_pool": thinPool})
		return v >= warn, nil
	})
	if r := runDoctor(t, "controller"); r.worst("thin-pool-data") == "ok" {
		t.Errorf("doctor controller: thin-pool-data ok at %.1f%%: %+v", now, r.of("thin-pool-data"))
	}

	back := metav1.NewTime(time.Now().Add(-time.Second))
	remove()
	_, after := thinPoolUse(t, vg, thinPool)
	t.Logf("removed %s: the pool is %.1f%% used", lv, after)
	waitEvent(t, ctrl.Namespace, ctrl.Name, "ThinPoolDataBelowWarning", corev1.EventTypeNormal, back)
	waitEvent(t, "", pv.Name, "VolumeHealthy", corev1.EventTypeNormal, back)
}

// thinPoolUse is the thin pool's data size in bytes and use in percent,
// as lvs reads them on the storage host.
func thinPoolUse(t *testing.T, vg, pool string) (size, percent float64) {
	t.Helper()
	out := runOnNode(t, "lvs", "--noheadings", "--nosuffix", "--units", "b", "-o", "lv_size,data_percent", vg+"/"+pool)
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("lvs %s/%s: %q", vg, pool, out)
	}
	var err1, err2 error
	size, err1 = strconv.ParseFloat(f[0], 64)
	percent, err2 = strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("lvs %s/%s: %q", vg, pool, out)
	}
	return size, percent
}

// waitEvent waits for an event of that reason and type about the object of
// that name (namespace "" searches every namespace: a PersistentVolume's
// events land in "default"), posted since since.
func waitEvent(t *testing.T, namespace, object, reason, typ string, since metav1.Time) {
	t.Helper()
	waitFor(t, fmt.Sprintf("event %s on %s", reason, object), func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + object + ",reason=" + reason,
		})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			last := e.LastTimestamp
			if last.IsZero() {
				last = metav1.NewTime(e.EventTime.Time)
			}
			if e.Type == typ && !last.Before(&since) {
				t.Logf("event %s %s on %s/%s from %s: %s", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Source.Component, e.Message)
				return true, nil
			}
		}
		return false, nil
	})
}
