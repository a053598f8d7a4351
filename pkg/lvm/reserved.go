package lvm

// Reserved returns an LVM that runs the same commands the same way as l
// but has n slots of its own (at least one) instead of sharing l's
// --max-concurrent-lvm slots. The controller's health check (Probe and the
// liveness probe's /healthz) reads the volume group through one: a burst of
// provisioning that takes every shared slot would otherwise queue the check
// behind it until the liveness probe times out and kubelet restarts the
// driver in the middle of that burst. It is meant for cheap reads; every
// command still takes lvm's own locks, which bound it.
func (l *LVM) Reserved(n int) *LVM {
	if n < 1 {
		n = 1
	}
	r := *l
	r.slots = make(chan struct{}, n)
	return &r
}
