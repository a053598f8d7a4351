package events

import (
	"context"
	"time"

	"k8s.io/klog/v2"
)

// Watch reads src at start and every interval and has r tell what changed,
// until ctx is done. A reading that fails changes nothing: what was told
// stays told, so an lvm hiccup is no "healthy again" followed by another
// warning.
func Watch(ctx context.Context, src Source, r *Reporter, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s, err := src(ctx)
		if err != nil {
			klog.ErrorS(err, "Cannot read the storage host's health for events")
		} else {
			r.Observe(ctx, s)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
