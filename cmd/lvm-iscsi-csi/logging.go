package main

import (
	"flag"
	"sync"

	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/logs/json"
)

var registerJSON sync.Once

// addLoggingFlags registers Kubernetes' logging flags on fs, as
// aws-ebs-csi-driver and the Kubernetes components do: --logging-format
// (text, the default, or json), --v, --vmodule, --log-flush-frequency and
// the alpha --log-json-*/--log-text-* options.
func addLoggingFlags(fs *flag.FlagSet) *logsapi.LoggingConfiguration {
	registerJSON.Do(func() {
		if err := logsapi.RegisterLogFormat(logsapi.JSONLogFormat, json.Factory{}, logsapi.LoggingBetaOptions); err != nil {
			panic(err) // registered once, before any flag set is made
		}
	})
	c := logsapi.NewLoggingConfiguration()
	logsapi.AddGoFlags(c, fs)
	return c
}

// applyLogging validates the logging configuration and makes klog use it.
// Applying the same configuration again is accepted (tests run the driver
// several times in one process); another one is an error.
func applyLogging(c *logsapi.LoggingConfiguration) error {
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	return logsapi.ValidateAndApply(c, nil)
}
