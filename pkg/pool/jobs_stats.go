package pool

// countFinished counts a finished job by kind and result. The caller holds
// j.mu.
func (j *jobs) countFinished(key string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	if j.finished == nil {
		j.finished = map[[2]string]uint64{}
	}
	j.finished[[2]string{jobKind(key), result}]++
}

// counts returns the running jobs by kind and the finished ones by kind
// and result.
func (j *jobs) counts() (running map[string]int, finished map[[2]string]uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	running = map[string]int{}
	for key := range j.running {
		running[jobKind(key)]++
	}
	finished = make(map[[2]string]uint64, len(j.finished))
	for k, n := range j.finished {
		finished[k] = n
	}
	return running, finished
}
