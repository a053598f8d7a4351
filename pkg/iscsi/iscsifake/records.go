package iscsifake

import (
	"context"
	"sort"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

// Records lists the node records, as (*iscsi.Iscsiadm).Records does, in
// portal and IQN order.
func (f *Initiator) Records(ctx context.Context) ([]iscsi.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list := make([]iscsi.Record, 0, len(f.records))
	for n := range f.records {
		list = append(list, iscsi.Record{Portal: n.Portal, IQN: n.IQN})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Portal != list[j].Portal {
			return list[i].Portal < list[j].Portal
		}
		return list[i].IQN < list[j].IQN
	})
	return list, nil
}

// AddRecord writes a node record without a session, as a logout that was
// not followed by a delete leaves it.
func (f *Initiator) AddRecord(portal, iqn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := Node{portal, iqn}
	if _, ok := f.records[n]; !ok {
		f.records[n] = iscsi.Target{Portal: portal, IQN: iqn}
	}
}
