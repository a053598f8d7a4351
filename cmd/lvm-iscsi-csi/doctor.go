package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"
	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/doctor"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// exitUsage is doctor's exit code for a bad command line: 0, 1 and 2 are
// the worst severity found (docs/troubleshooting.md).
const exitUsage = 3

// doctorFlags are doctor's own flags; the driver's flags (same names, same
// defaults) say what to check.
type doctorFlags struct {
	fix          bool
	output       string
	argsFrom     string
	settle       time.Duration
	lvmSystemDir string
	timeout      time.Duration
}

// runDoctor is `lvm-iscsi-csi doctor`: check the storage host
// (--mode=controller), the node (--mode=node) or both (--mode=all), print
// the findings and exit with the worst severity.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lvm-iscsi-csi doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	klog.InitFlags(fs)
	addDriverLoggingFlags(fs)
	opts := driver.DefaultOptions()
	opts.AddFlags(fs)
	var df doctorFlags
	fs.BoolVar(&df.fix, "fix", false, "apply the fixes that are safe while the driver runs (log out of sessions and delete node records of volumes not staged here)")
	fs.StringVar(&df.output, "output", "text", "text or json")
	fs.StringVar(&df.argsFrom, "args-from", "", "read the driver's flags from this NUL-separated command line, e.g. /proc/1/cmdline in the driver's container; flags given here win")
	fs.DurationVar(&df.settle, "settle", 2*time.Second, "a drift, stray session or record must still be there after this long to be reported (the driver may be half-way through a call)")
	fs.StringVar(&df.lvmSystemDir, "lvm-system-dir", "/etc/lvm", "lvm's configuration directory on the storage host, for its devices file")
	fs.DurationVar(&df.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: lvm-iscsi-csi doctor --mode=controller|node|all [driver flags] [--fix] [--output=text|json]\n\n"+
			"Checks the storage host (controller) or node for every prerequisite and known failure, and says how to fix each.\n"+
			"Exit code: 0 all ok, 1 warnings, 2 errors, 3 bad command line. See docs/troubleshooting.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseDoctorFlags(fs, args, &df); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "lvm-iscsi-csi doctor:", err)
		return exitUsage
	}
	if df.output != "text" && df.output != "json" {
		fmt.Fprintf(stderr, "lvm-iscsi-csi doctor: --output must be text or json, not %q\n", df.output)
		return exitUsage
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "lvm-iscsi-csi doctor: invalid command line (the driver's flags, or --args-from):\n%v\n", err)
		return exitUsage
	}
	defer klog.Flush()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, df.timeout)
	defer cancel()

	var checks []doctor.Check
	exec := utilexec.New()
	if opts.Mode == driver.ModeController || opts.Mode == driver.ModeAll {
		checks = append(checks, doctor.HostChecks(hostConfig(opts, df), hostDeps(opts, exec))...)
	}
	if opts.Mode == driver.ModeNode || opts.Mode == driver.ModeAll {
		checks = append(checks, doctor.NodeChecks(nodeConfig(opts, df), doctor.NodeDeps{
			Initiator: iscsi.New(runner.New(exec, iscsiadmTimeout), opts.ISCSILockFile),
			Dial:      doctor.NetDial,
		})...)
	}
	report := doctor.Run(ctx, string(opts.Mode), checks, df.fix)
	var err error
	if df.output == "json" {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "lvm-iscsi-csi doctor:", err)
	}
	return report.ExitCode()
}

// parseDoctorFlags parses args, and with --args-from the driver's command
// line first, args again on top. Logging stays quiet unless args ask.
func parseDoctorFlags(fs *flag.FlagSet, args []string, df *doctorFlags) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if df.argsFrom == "" {
		return nil
	}
	data, err := os.ReadFile(df.argsFrom)
	if err != nil {
		return fmt.Errorf("--args-from: %w", err)
	}
	driverArgs := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
	if len(driverArgs) > 0 {
		driverArgs = driverArgs[1:] // the program
	}
	if err := fs.Parse(driverArgs); err != nil {
		return fmt.Errorf("--args-from %s: %w", df.argsFrom, err)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !explicit["v"] {
		// The driver's verbosity would log every command doctor runs.
		return fs.Set("v", "0")
	}
	return nil
}

func hostConfig(opts driver.Options, df doctorFlags) doctor.HostConfig {
	return doctor.HostConfig{
		VolumeGroup: opts.VolumeGroup, ThinPool: opts.ThinPool, Portal: opts.Portal, IQNPrefix: opts.IQNPrefix,
		CHAP: opts.CHAP, AllowThinPoolWithoutZeroing: opts.AllowThinPoolWithoutZeroing,
		TgtControlPort: opts.TgtControlPort, TgtSocket: tgt.SocketPath(opts.TgtControlPort),
		LVMSystemDir: df.lvmSystemDir, SysRoot: "/sys", ProcRoot: "/proc", Settle: df.settle,
	}
}

func hostDeps(opts driver.Options, exec utilexec.Interface) doctor.HostDeps {
	var lvmOpts []lvm.Option
	if opts.LVMGlobalFilter != "" {
		lvmOpts = append(lvmOpts, lvm.WithGlobalFilter(opts.LVMGlobalFilter))
	}
	driverLVM := lvm.New(runner.New(exec, lvmTimeout), 1, lvmOpts...)
	return doctor.HostDeps{
		LVM:          driverLVM,
		Tgt:          tgt.New(runner.New(exec, tgtTimeout), opts.TgtControlPort),
		DriverFilter: driverLVM,
		HostFilter:   lvm.New(runner.New(exec, lvmTimeout), 1),
		Dial:         doctor.NetDial,
	}
}

func nodeConfig(opts driver.Options, df doctorFlags) doctor.NodeConfig {
	return doctor.NodeConfig{
		InitiatorNameFile: opts.InitiatorNameFile, StateDir: opts.StateDir, KubeletDir: opts.KubeletDir, IQNPrefix: opts.IQNPrefix,
		SysRoot: "/sys", ProcRoot: "/proc", ISCSIDSocket: iscsidSocket, MultipathdSocket: doctor.DefaultMultipathdSocket,
		Settle: df.settle,
	}
}
