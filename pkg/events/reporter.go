package events

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// level is how full one part of the thin pool is.
type level int

const (
	levelOK   level = iota // below the warning threshold
	levelWarn              // at or past the warning threshold
	levelFull              // at or past the full threshold (creations refused)
)

func (l level) String() string {
	switch l {
	case levelWarn:
		return "NearlyFull"
	case levelFull:
		return "Full"
	}
	return "BelowWarning"
}

// Reporter turns Snapshots into events, one per transition. What it last
// told is in memory only: after a restart an abnormal volume or a full pool
// is told once more, which is what an administrator who missed the first
// event wants anyway.
type Reporter struct {
	rec     record.EventRecorder
	objects Objects
	// warn and full are the thresholds in percent (0: off), the
	// controller's --thin-pool-warn-percent and --thin-pool-full-percent.
	warn, full float64

	mu sync.Mutex
	// pool is the level last told of "Data" and "Metadata" (absent: OK).
	pool map[string]level
	// volumes is the sorted reasons last told of each abnormal volume.
	volumes map[string]string
}

// NewReporter reports to rec, about the objects objects names.
func NewReporter(rec record.EventRecorder, objects Objects, warnPercent, fullPercent float64) *Reporter {
	return &Reporter{rec: rec, objects: objects, warn: warnPercent, full: fullPercent,
		pool: map[string]level{}, volumes: map[string]string{}}
}

// Observe compares s with what was last reported and tells the changes.
func (r *Reporter) Observe(ctx context.Context, s Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.ThinPool != "" {
		r.observePart(s.ThinPool, "Data", "data", s.Data)
		r.observePart(s.ThinPool, "Metadata", "metadata", s.Metadata)
	}
	r.observeVolumes(ctx, s.Volumes)
}

func (r *Reporter) levelOf(percent float64) level {
	switch {
	case r.full > 0 && percent >= r.full:
		return levelFull
	case r.warn > 0 && percent >= r.warn:
		return levelWarn
	}
	return levelOK
}

func (r *Reporter) observePart(pool, part, word string, percent float64) {
	l := r.levelOf(percent)
	if l == r.pool[part] {
		return
	}
	r.pool[part] = l
	var msg string
	switch l {
	case levelFull:
		msg = fmt.Sprintf("thin pool %s %s is %.1f%% full, at or past the %.0f%% full threshold: new thin volumes, snapshots and clones are refused; extend it (lvextend) before thin volumes stop accepting writes", pool, word, percent, r.full)
	case levelWarn:
		msg = fmt.Sprintf("thin pool %s %s is %.1f%% full, past the %.0f%% warning threshold: extend it (lvextend) before thin volumes stop accepting writes", pool, word, percent, r.warn)
	default:
		msg = fmt.Sprintf("thin pool %s %s is %.1f%% full, below the %.0f%% warning threshold again", pool, word, percent, r.warn)
	}
	kind := corev1.EventTypeWarning
	if l == levelOK {
		kind = corev1.EventTypeNormal
	}
	r.emit(r.objects.Controller(), kind, thinPoolReason(part, l), msg)
}

func (r *Reporter) observeVolumes(ctx context.Context, vols []Volume) {
	seen := make(map[string]bool, len(vols))
	for _, v := range vols {
		seen[v.ID] = true
		reasons := make([]string, 0, len(v.Problems))
		for _, p := range v.Problems {
			reasons = append(reasons, p.Reason)
		}
		slices.Sort(reasons)
		sig := strings.Join(slices.Compact(reasons), ",")
		if sig == r.volumes[v.ID] {
			continue
		}
		was := r.volumes[v.ID]
		if sig == "" {
			delete(r.volumes, v.ID)
		} else {
			r.volumes[v.ID] = sig
		}
		who := fmt.Sprintf("volume %s (%s)", v.ID, v.Name)
		if sig == "" {
			r.emit(r.objects.Volume(ctx, v.ID, v.Name), corev1.EventTypeNormal, ReasonVolumeHealthy,
				fmt.Sprintf("%s is healthy again (was: %s)", who, was))
			continue
		}
		var parts []string
		for _, p := range v.Problems {
			parts = append(parts, p.Reason+": "+p.Message)
		}
		r.emit(r.objects.Volume(ctx, v.ID, v.Name), corev1.EventTypeWarning, ReasonVolumeAbnormal,
			who+" is abnormal: "+strings.Join(parts, "; "))
	}
	// A volume no longer listed was deleted: nothing to tell.
	for id := range r.volumes {
		if !seen[id] {
			delete(r.volumes, id)
		}
	}
}

// emit records the event on obj, and logs it either way (an event with
// no object to attach to is only logged).
func (r *Reporter) emit(obj *corev1.ObjectReference, kind, reason, msg string) {
	if kind == corev1.EventTypeWarning {
		klog.InfoS("WARNING: "+msg, "reason", reason)
	} else {
		klog.InfoS(msg, "reason", reason)
	}
	if obj != nil {
		r.rec.Event(obj, kind, reason, msg)
	}
}
