// Package inprocess runs the identity and controller halves of the upstream
// csi-sanity suite (csi-test's pkg/sanity) inside `go test`: the driver's
// production gRPC servers (pkg/driver: same services, same interceptor) on
// unix sockets in a temporary directory, with the controller's pool over
// the in-memory LVM and tgtd fakes (pkg/lvm/lvmfake, pkg/tgt/tgtfake). It
// needs no root, no daemon and no flag, and takes seconds.
//
// It checks CSI conformance of the controller and identity services and of
// the pool's logic as the fakes model lvm and tgtd. What only the
// real-kernel run (../sanity_test.go through test/e2e) proves is listed in
// test/e2e/README.md: the node service, and the real commands' behaviour.
//
// It is a package of its own because ginkgo runs one suite per process:
// ../sanity_test.go's TestSanity calls RunSpecs too, with flags of its own.
package inprocess

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
)

// Volumes the suite creates: the size of the real-kernel run
// (../sanity_test.go), grown by whole 4 MiB extents.
const (
	testVolumeSize       = 64 * mib
	testVolumeExpandSize = 128 * mib
)

// variants are the sanity runs made against the one plugin: each
// provisioning type once, and each access type once, since the controller
// treats block and mount capabilities differently (multi-node access is
// block only; fs_type sets a minimum size).
var variants = []struct {
	name       string
	params     map[string]string // StorageClass parameters
	accessType string
}{
	{"thin volumes, mount access", map[string]string{"provisioning": "thin"}, "mount"},
	{"thick volumes, block access", map[string]string{"provisioning": "thick"}, "block"},
}

// skippedSections are removed from the run with ginkgo's skip filter
// (matched against each spec's full text).
//
//   - "Node Service": NodeStageVolume, NodePublishVolume and the rest log
//     in over iSCSI, find the SCSI disk, run mkfs/fsck and mount. Over the
//     node's fakes they would test the fakes; they run against the real
//     kernel in test/e2e. The node plugin still serves here: the
//     controller specs ask it for its node id (NodeGetInfo) and clean up
//     through it (NodeUnpublishVolume, NodeUnstageVolume).
var skippedSections = []string{`Node Service`}

// expectedSkips are the specs csi-sanity itself skips (Skip, XIt), each
// with why; any other spec that does not run fails the test, so a
// capability dropped by mistake, or a skip filter that matches too much,
// cannot go unnoticed.
var expectedSkips = []struct{ spec, why string }{
	{`Node Service`, "skippedSections: iSCSI login, disks and mounts; run against the real kernel in test/e2e"},
	{`ControllerPublishVolume should fail when the volume is already published but is incompatible`,
		"PUBLISH_READONLY is not advertised: the target is exported read-write; read-only is a mount option of NodePublishVolume"},
	{`ControllerPublishVolume should fail when publishing more volumes than the node max attach limit`,
		"only with -csi.testnodevolumeattachlimit; the node here reports no limit"},
	{`ListVolumes pagination should detect volumes added between pages`,
		"XIt upstream: disabled as fragile (kubernetes-csi/csi-test#223)"},
	{`CreateVolume should (create volume with|not create volume with an invalid) .*volume attribute class`,
		"MODIFY_VOLUME is not advertised"},
	{`ModifyVolume \[Controller Server\]`, "MODIFY_VOLUME is not advertised"},
	{`CreateSnapshot \[Controller Server\] should succeed when creating a snapshot with accessibility requirements`,
		"SNAPSHOT_ACCESSIBILITY_CONSTRAINTS is not advertised: the driver has no topology (every node reaches the portal)"},
	{`GroupController Service`, "GROUP_CONTROLLER_SERVICE is not advertised"},
}

func TestSanityInProcess(t *testing.T) {
	quietKlog()
	p := startPlugin(t)

	var contexts []*sanity.TestContext
	for i, v := range variants {
		config := sanity.NewTestConfig()
		config.Address = p.nodeEndpoint
		config.ControllerAddress = p.controllerEndpoint
		config.StagingPath = fmt.Sprintf("%s/plugins/kubernetes.io/csi/sanity-%d/globalmount", p.kubeletDir, i)
		config.TargetPath = fmt.Sprintf("%s/pods/sanity-%d/volumes", p.kubeletDir, i)
		// csi-sanity makes and removes the paths themselves, not their parents.
		for _, dir := range []string{config.StagingPath, config.TargetPath} {
			if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
				t.Fatal(err)
			}
		}
		config.TestVolumeSize = testVolumeSize
		config.TestVolumeExpandSize = testVolumeExpandSize
		config.TestVolumeParameters = v.params
		config.TestVolumeAccessType = v.accessType
		Describe(v.name, func() {
			contexts = append(contexts, sanity.GinkgoTest(&config))
		})
	}
	var report Report
	ReportAfterSuite("collect", func(r Report) { report = r })

	suiteConfig, reporterConfig := GinkgoConfiguration()
	suiteConfig.SkipStrings = append(suiteConfig.SkipStrings, skippedSections...)
	RegisterFailHandler(Fail)
	RunSpecs(t, "lvm-iscsi-csi in-process sanity", suiteConfig, reporterConfig)
	for _, sc := range contexts {
		sc.Finalize()
	}
	checkSkips(t, report)
	// The thick variant must have reached the thick code: volumes zeroed
	// before removal, clones filled by copying.
	zeroes, copies := p.blocks.zeroes.Load(), p.blocks.copies.Load()
	t.Logf("thick data paths: %d wipes, %d copies", zeroes, copies)
	if !filtered(report) && (zeroes == 0 || copies == 0) {
		t.Error("the thick variant did not reach the thick data paths")
	}
}

// filtered reports a run narrowed by -ginkgo.focus, -ginkgo.skip or
// -ginkgo.label-filter, which may leave out any spec.
func filtered(report Report) bool {
	c := report.SuiteConfig
	return c.LabelFilter != "" || len(c.FocusStrings) > 0 || len(c.SkipStrings) > len(skippedSections)
}

// checkSkips logs the counts and fails on a spec that did not run for a
// reason not in expectedSkips.
func checkSkips(t *testing.T, report Report) {
	t.Helper()
	patterns := make([]*regexp.Regexp, len(expectedSkips))
	for i, s := range expectedSkips {
		patterns[i] = regexp.MustCompile(s.spec)
	}
	counts := map[types.SpecState]int{}
	perReason := make([]int, len(expectedSkips))
	narrowed := filtered(report)
	for _, s := range report.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		counts[s.State]++
		if s.State != types.SpecStateSkipped && s.State != types.SpecStatePending {
			continue
		}
		known := false
		for i, p := range patterns {
			if !known && p.MatchString(s.FullText()) {
				known = true
				perReason[i]++
			}
		}
		if !known && !narrowed {
			t.Errorf("spec did not run, and is not an expected skip: %q (%s)", s.FullText(), strings.TrimSpace(s.Failure.Message))
		}
	}
	t.Logf("csi-sanity specs: %d passed, %d failed, %d skipped, %d pending",
		counts[types.SpecStatePassed], counts[types.SpecStateFailed]+counts[types.SpecStatePanicked]+counts[types.SpecStateTimedout],
		counts[types.SpecStateSkipped], counts[types.SpecStatePending])
	for i, s := range expectedSkips {
		t.Logf("  not run: %3d × %s: %s", perReason[i], s.spec, s.why)
	}
}
