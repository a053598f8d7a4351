package main

import (
	"flag"
)

// addDriverLoggingFlags defines on doctor's flag set every logging flag of
// the driver's own command line (addLoggingFlags: --logging-format,
// --log-flush-frequency, the --log-json-*/--log-text-* options) that klog's
// flags, already on fs, do not have. `doctor --args-from=/proc/1/cmdline`
// reads the driver's whole command line, and the chart always passes
// --logging-format: without these, doctor stopped there with "flag
// provided but not defined" in every pod the chart makes. Their values are
// ignored: doctor's output is its report on stdout, not a log stream, and
// --v/--vmodule (klog's, kept) still set its verbosity.
func addDriverLoggingFlags(fs *flag.FlagSet) {
	driver := flag.NewFlagSet("driver logging", flag.ContinueOnError)
	addLoggingFlags(driver)
	driver.VisitAll(func(f *flag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.Var(f.Value, f.Name, f.Usage+" (read from the driver's command line; ignored by doctor)")
		}
	})
}
