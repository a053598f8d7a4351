package iscsi

import (
	"context"
	"fmt"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Record is one node record of iscsiadm's database (/etc/iscsi/nodes): a
// target at a portal that iscsiadm knows how to log in to, with or without
// a session. Records of CHAP-protected targets hold the CHAP secret.
type Record struct {
	Portal string // "10.0.0.5:3260" or "[fd00::5]:3260", without the ",TPGT"
	IQN    string
}

// Records lists the host's node records; none is an empty list. It is not
// part of Initiator: only the doctor looks for records left behind.
func (a *Iscsiadm) Records(ctx context.Context) ([]Record, error) {
	var out []byte
	err := a.locked(ctx, func() error {
		var err error
		out, err = a.run.Run(ctx, "iscsiadm", "-m", "node")
		return err
	})
	if runner.ExitCode(err) == exitNoObjectsFound {
		return []Record{}, nil
	}
	if err != nil {
		return nil, classify("listing iSCSI node records", err)
	}
	return parseRecords(string(out))
}

// parseRecords reads iscsiadm -m node's default listing, one record a line:
//
//	10.0.0.5:3260,1 iqn.2026-11.io.csi.lvm-iscsi:csi-0123
//
// As with sessions, a line that does not fit is an error, not skipped.
func parseRecords(out string) ([]Record, error) {
	records := []Record{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		comma := -1
		if len(fields) == 2 {
			comma = strings.LastIndex(fields[0], ",")
		}
		if comma <= 0 {
			return nil, fmt.Errorf("unexpected line in iscsiadm -m node output: %q", line)
		}
		records = append(records, Record{Portal: fields[0][:comma], IQN: fields[1]})
	}
	return records, nil
}
