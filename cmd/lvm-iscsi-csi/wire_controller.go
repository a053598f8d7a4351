package main

import (
	"context"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
)

func wireController(_ context.Context, opts driver.Options, cfg *driver.Config) error {
	cfg.Controller = &csi.UnimplementedControllerServer{}
	cfg.Prerequisites = append(cfg.Prerequisites,
		driver.SocketPrerequisite("tgtd control socket", fmt.Sprintf("/var/run/tgtd/socket.%d", opts.TgtControlPort)))
	return nil
}
