package tgt

// FreeTID returns the smallest target id >= 1 that none of targets uses
// (tgt reserves 0).
func FreeTID(targets []Target) int {
	used := make(map[int]bool, len(targets))
	for _, t := range targets {
		used[t.TID] = true
	}
	tid := 1
	for used[tid] {
		tid++
	}
	return tid
}
