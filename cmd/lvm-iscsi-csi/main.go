// Command lvm-iscsi-csi is the CSI plugin: the controller (LVM + tgt on the
// storage host), the node plugin (iscsiadm + mount on every node), or both.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

// run returns the process exit code: 0 on a clean stop, 1 on a runtime
// failure, 2 for a command line that is missing or contradicts something.
// "doctor" as the first argument runs the doctor instead (doctor.go), with
// its own flags and exit codes.
func run(args []string) int {
	if len(args) > 0 && args[0] == "doctor" {
		return runDoctor(args[1:], os.Stdout, os.Stderr)
	}
	fs := flag.NewFlagSet("lvm-iscsi-csi", flag.ContinueOnError)
	logging := addLoggingFlags(fs)
	opts := driver.DefaultOptions()
	opts.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: lvm-iscsi-csi --mode=controller|node|all [flags]\n       lvm-iscsi-csi doctor --help\n\nCSI driver %s: LVM volumes exported over iSCSI by tgt.\n\nFlags:\n", driver.DefaultDriverName)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if opts.ShowVersion {
		fmt.Println(opts.DriverName, version)
		return 0
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "lvm-iscsi-csi: invalid command line:\n%v\n", err)
		return 2
	}
	if err := applyLogging(logging); err != nil {
		fmt.Fprintf(os.Stderr, "lvm-iscsi-csi: invalid logging options:\n%v\n", err)
		return 2
	}
	defer klog.Flush()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cfg, err := wire(ctx, opts)
	if err != nil {
		klog.ErrorS(err, "Cannot start")
		return 1
	}
	cfg.Version = version
	d, err := driver.New(cfg)
	if err != nil {
		klog.ErrorS(err, "Cannot start")
		return 1
	}
	if err := d.Run(ctx); err != nil {
		klog.ErrorS(err, "Stopped with an error")
		return 1
	}
	klog.InfoS("Stopped")
	return 0
}
