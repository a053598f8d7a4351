package report

import "fmt"

// The figures' groups.
const (
	GroupControl = "control"
	GroupBurst   = "burst"
	GroupNode    = "node"
	GroupData    = "data"
	GroupHealing = "healing"
	GroupList    = "list"
	GroupRecon   = "reconcile"
)

// ControlFigures are the control-path figures, in the order they are shown.
var ControlFigures = []string{
	"CreateVolume", "ControllerPublishVolume", "CreateVolume+ControllerPublishVolume",
	"ControllerUnpublishVolume", "ControllerExpandVolume", "CreateSnapshot",
	"CreateVolume from snapshot", "CreateVolume from volume", "DeleteVolume",
}

// NodeFigures are the node-path figures.
var NodeFigures = []string{"NodeStageVolume", "NodeUnstageVolume"}

// FioJobs are the data-path jobs, in the order they run (the first write
// fills the device, so every later read reads allocated blocks).
var FioJobs = []string{
	"1M seqwrite QD16", "1M seqread QD16",
	"4k randread QD1", "4k randread QD32",
	"4k randwrite QD1", "4k randwrite QD32",
}

// Provisionings are the kinds of volume the data path is measured on: the
// short run keeps to thin, the full run adds thick (whose create and wipe
// of the device cost the short run more than a minute).
func Provisionings(short bool) []string {
	if short {
		return []string{"thin"}
	}
	return []string{"thin", "thick"}
}

// Sizes of the runs: how many volumes a burst has and how many published
// volumes tgtd is rebuilt with.
func Bursts(short bool) []int {
	if short {
		return []int{1, 10}
	}
	return []int{1, 10, 50}
}

// Healings are the numbers of published volumes healing is measured at;
// ListVolumes is timed at the same counts.
func Healings(short bool) []int {
	if short {
		return []int{10}
	}
	return []int{10, 100}
}

// BurstName, DataName, HealName and ListName name the figures of those
// groups.
func BurstName(n int) string { return fmt.Sprintf("%d × CreateVolume+ControllerPublishVolume", n) }

// DataName is a data-path figure's name.
func DataName(prov, job string) string { return prov + ": " + job }

// HealName is a healing figure's name.
func HealName(n int) string { return fmt.Sprintf("tgtd killed, %d published volumes", n) }

// ListName is a ListVolumes figure's name.
func ListName(n int) string { return fmt.Sprintf("ListVolumes, %d volumes", n) }

// Expected lists the keys of every figure a run of that mode must report.
func Expected(short bool) []string {
	var out []string
	for _, n := range ControlFigures {
		out = append(out, GroupControl+"/"+n)
	}
	for _, n := range Bursts(short) {
		out = append(out, GroupBurst+"/"+BurstName(n))
	}
	for _, n := range NodeFigures {
		out = append(out, GroupNode+"/"+n)
	}
	for _, p := range Provisionings(short) {
		for _, j := range FioJobs {
			out = append(out, GroupData+"/"+DataName(p, j))
		}
	}
	for _, n := range Healings(short) {
		out = append(out, GroupHealing+"/"+HealName(n), GroupList+"/"+ListName(n))
	}
	for _, n := range SeededHealings(short) {
		out = append(out, GroupHealing+"/"+HealName(n))
	}
	for _, n := range SeededLists(short) {
		out = append(out, GroupList+"/"+ListName(n))
	}
	for _, n := range Reconciles(short) {
		out = append(out, GroupRecon+"/"+ReconcileName(n))
	}
	return out
}

// ReconcileName is a reconcile figure's name.
func ReconcileName(n int) string {
	return fmt.Sprintf("reconcile pass, %d volumes, nothing to repair", n)
}

// SeededHealings, SeededLists and Reconciles are the full run's counts
// reached with seeded volumes (LVs written as the driver would have made
// them, untimed: test/bench/seed.go) instead of a thousand RPCs.
func SeededHealings(short bool) []int {
	if short {
		return nil
	}
	return []int{500}
}

// SeededLists are the counts ListVolumes is timed at with seeded volumes.
func SeededLists(short bool) []int {
	if short {
		return nil
	}
	return []int{1000}
}

// Reconciles are the counts a reconcile pass with nothing to repair is
// timed at.
func Reconciles(short bool) []int {
	if short {
		return nil
	}
	return []int{1000}
}
