package pool

import "github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"

// ReadFromForReadiness makes Ready read the volume group through l instead
// of the pool's own LVM: the controller passes one with its own command
// slot (lvm.LVM.Reserved), so Probe and the liveness probe never queue
// behind provisioning for --max-concurrent-lvm slots. Call it before
// serving.
func (p *Pool) ReadFromForReadiness(l lvm.Interface) { p.readiness = l }

// readinessLVM is what Ready reads through.
func (p *Pool) readinessLVM() lvm.Interface {
	if p.readiness != nil {
		return p.readiness
	}
	return p.lvm
}
