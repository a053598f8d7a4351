package main

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
)

func wireNode(_ context.Context, opts driver.Options, cfg *driver.Config) error {
	cfg.Node = &csi.UnimplementedNodeServer{}
	cfg.Prerequisites = append(cfg.Prerequisites,
		driver.SocketPrerequisite("iscsid", "@ISCSIADM_ABSTRACT_NAMESPACE"))
	return nil
}
