// Command demo walks one volume through the whole story the driver exists
// for, against running controller and node plugins, printing each step:
// create → publish → stage → publish → write → read back → teardown →
// restage → read back → teardown → delete. `make demo` starts it inside the
// real-kernel guest (or natively) after setting up a loop-file volume group,
// tgtd, iscsid and the driver.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

func main() {
	controller := flag.String("controller-endpoint", "", "controller plugin endpoint, unix:///path")
	node := flag.String("node-endpoint", "", "node plugin endpoint, unix:///path")
	root := flag.String("root", "", "directory below the node plugin's --kubelet-dir for staging and target paths")
	vg := flag.String("volume-group", "", "the controller's volume group, to show the LV")
	flag.Parse()
	if err := run(*controller, *node, *root, *vg); err != nil {
		fmt.Fprintf(os.Stderr, "demo: FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("demo: OK")
}

func say(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// show prints what an administrator would look at (argv lists, no shell).
func show(title string, argv ...string) {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	fmt.Printf("    --- %s (%s)\n", title, argv[0])
	for _, line := range bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n")) {
		fmt.Printf("    %s\n", line)
	}
	if err != nil {
		fmt.Printf("    (%v)\n", err)
	}
}

func run(controllerEP, nodeEP, root, vg string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	d, err := lifecycle.Connect(ctx, controllerEP, nodeEP, root)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Step = say
	say("node id: %s", d.NodeID)

	v, err := d.Create(ctx, "demo-volume", 256<<20, map[string]string{"provisioning": "thin"}, lifecycle.MountCapability("ext4"))
	if err != nil {
		return err
	}
	say("created volume %s of %d MiB", v.ID, v.Size>>20)
	show("the LV and its tags", "lvs", "-o", "lv_name,lv_size,pool_lv,lv_tags", vg)
	if err := d.Up(ctx, v); err != nil {
		return err
	}
	// What Kubernetes would store in the VolumeAttachment: the CHAP
	// credentials only sealed to this node's key.
	say("publish_context: portal=%s iqn=%s lun=%s chap=<%d bytes sealed to the node's key>",
		v.PublishContext["portal"], v.PublishContext["iqn"], v.PublishContext["lun"], len(v.PublishContext["chap"]))
	show("the target, fenced to this node's initiator", "tgtadm", "--lld", "iscsi", "--op", "show", "--mode", "target")
	show("the iSCSI session", "iscsiadm", "-m", "session")
	show("the filesystem", "findmnt", "-T", v.TargetPath)

	data := make([]byte, 4<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	say("writing 4 MiB of random data to %s (sha256 %x)", v.DataPath(), want[:8])
	if err := os.WriteFile(v.DataPath(), data, 0o600); err != nil {
		return err
	}
	if err := readBack(v.DataPath(), want); err != nil {
		return err
	}
	if err := d.Down(ctx, v); err != nil {
		return err
	}
	show("no session left", "iscsiadm", "-m", "session")
	say("staging the volume again: the data must have survived")
	if err := d.Up(ctx, v); err != nil {
		return err
	}
	if err := readBack(v.DataPath(), want); err != nil {
		return err
	}
	if err := d.Down(ctx, v); err != nil {
		return err
	}
	if err := d.Delete(ctx, v); err != nil {
		return err
	}
	show("no target left", "tgtadm", "--lld", "iscsi", "--op", "show", "--mode", "target")
	show("no volume left, only the LV holding the CHAP key", "lvs", "-o", "lv_name,lv_size,lv_tags", vg)
	return nil
}

func readBack(path string, want [32]byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(got)
	if sum != want {
		return fmt.Errorf("read back sha256 %x, wrote %x", sum[:8], want[:8])
	}
	say("read back %d bytes from %s: sha256 matches", len(got), path)
	return nil
}
