// Package sanity runs the upstream csi-sanity suite (csi-test's pkg/sanity)
// against lvm-iscsi-csi processes that are already running.
//
// The real-kernel harness (test/e2e/guest.sh) compiles this package on the host
// with `go test -c -o bin/sanity.test ./test/sanity` and runs the binary next to
// the driver's controller and node processes. A plain `go test ./...` passes no
// endpoint, so the suite skips itself and unit test runs need no daemon.
package sanity

import (
	"flag"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
)

const (
	mebibyte = 1024 * 1024

	// The guest is software-emulated: mkfs of 1 GiB over iSCSI takes ~17 s, so
	// the default volume is small enough to keep the whole suite in minutes.
	defaultTestVolumeSize = 64 * mebibyte
	// Expansion is asked for in whole extents; the default extent is 4 MiB.
	defaultTestVolumeExpandSize = 128 * mebibyte
)

// config starts from csi-test's defaults; the flags below overwrite the
// fields they name. csi-test's own csi-sanity command uses the same flag names,
// so instructions written for it apply here too.
var config = newConfig()

func newConfig() *sanity.TestConfig {
	c := sanity.NewTestConfig()
	c.TestVolumeSize = defaultTestVolumeSize
	c.TestVolumeExpandSize = defaultTestVolumeExpandSize
	return &c
}

func init() {
	flag.StringVar(&config.Address, "csi.endpoint", "", "CSI endpoint of the node plugin, e.g. unix:///run/e2e/node.sock")
	flag.StringVar(&config.ControllerAddress, "csi.controllerendpoint", "", "CSI endpoint of the controller plugin (empty: csi.endpoint serves both)")
	flag.StringVar(&config.StagingPath, "csi.stagingdir", config.StagingPath, "staging_target_path for NodeStageVolume (created and removed by the suite)")
	flag.StringVar(&config.TargetPath, "csi.mountdir", config.TargetPath, "parent of target_path for NodePublishVolume (created and removed by the suite)")
	flag.Int64Var(&config.TestVolumeSize, "csi.testvolumesize", config.TestVolumeSize, "size in bytes of the volumes the suite creates")
	flag.Int64Var(&config.TestVolumeExpandSize, "csi.testvolumeexpandsize", config.TestVolumeExpandSize, "size in bytes the expansion tests grow volumes to")
	flag.IntVar(&config.IdempotentCount, "csi.idempotentcount", config.IdempotentCount, "how often idempotent calls are repeated (0 skips those tests)")
	flag.StringVar(&config.TestVolumeAccessType, "csi.testvolumeaccesstype", config.TestVolumeAccessType, "access type of test volumes: mount or block")
	flag.StringVar(&config.TestVolumeParametersFile, "csi.testvolumeparameters", "", "YAML file with the StorageClass parameters of test volumes")
	flag.StringVar(&config.TestSnapshotParametersFile, "csi.testsnapshotparameters", "", "YAML file with the VolumeSnapshotClass parameters of test snapshots")
	flag.StringVar(&config.SecretsFile, "csi.secrets", "", "YAML file with the CSI secrets passed to each call")
	flag.BoolVar(&config.TestNodeVolumeAttachLimit, "csi.testnodevolumeattachlimit", false, "also test the node's max_volumes_per_node")
	// Ginkgo registers its flags on the global flag set when it is imported;
	// -csi.junitfile is an alias of -ginkgo.junit-report, as in csi-sanity.
	flag.Var(flag.Lookup("ginkgo.junit-report").Value, "csi.junitfile", "JUnit XML file the results are written to (alias of -ginkgo.junit-report)")
}

func TestSanity(t *testing.T) {
	if config.Address == "" {
		t.Skip("no -csi.endpoint given: csi-sanity needs running driver processes; " +
			"run it through test/e2e/run.sh (make e2e)")
	}
	if config.TestVolumeAccessType != "mount" && config.TestVolumeAccessType != "block" {
		t.Fatalf("-csi.testvolumeaccesstype is %q, want mount or block", config.TestVolumeAccessType)
	}
	sanity.Test(t, *config)
}
