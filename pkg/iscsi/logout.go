package iscsi

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Logout implements Initiator. iscsiadm says "No matching sessions found"
// (exit 21) both when the session is gone and when there is no record;
// either way there is nothing to log out of.
func (a *Iscsiadm) Logout(ctx context.Context, portal, iqn string) error {
	if err := checkNode(portal, iqn); err != nil {
		return err
	}
	return a.locked(ctx, func() error {
		_, err := a.run.Run(ctx, "iscsiadm", nodeArgs(portal, iqn, "--logout")...)
		if err == nil || runner.ExitCode(err) == exitNoObjectsFound {
			return nil
		}
		return classify(fmt.Sprintf("logging out of %s at %s", iqn, portal), err)
	})
}

// DeleteRecord implements Initiator. "No records found" (exit 21) is
// success. Delete the record after Logout: a record without a session is
// harmless, but a session without a record cannot be logged out by name.
func (a *Iscsiadm) DeleteRecord(ctx context.Context, portal, iqn string) error {
	if err := checkNode(portal, iqn); err != nil {
		return err
	}
	return a.locked(ctx, func() error {
		_, err := a.run.Run(ctx, "iscsiadm", nodeArgs(portal, iqn, "-o", "delete")...)
		if err == nil || runner.ExitCode(err) == exitNoObjectsFound {
			return nil
		}
		return classify(fmt.Sprintf("deleting the node record of %s at %s", iqn, portal), err)
	})
}
