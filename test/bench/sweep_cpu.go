package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuTimes is one reading of where the machine's CPU time went so far, in
// clock ticks (USER_HZ): the whole machine from /proc/stat's "cpu" line,
// and tgtd's process (all its threads) from /proc/<pid>/stat.
type cpuTimes struct {
	at                                  time.Time
	user, system, softirq, iowait, idle uint64 // machine; user includes nice, system includes irq
	total                               uint64 // machine, every field but guest
	tgtdUser, tgtdSystem                uint64
}

// cpuShare is the CPU used between two readings, in percent of one CPU
// (so a 2-CPU machine has 200 %).
type cpuShare struct {
	Busy       float64 `json:"busy_pct"`
	User       float64 `json:"user_pct"`
	System     float64 `json:"system_pct"`
	Softirq    float64 `json:"softirq_pct"`
	IOWait     float64 `json:"iowait_pct"`
	Idle       float64 `json:"idle_pct"`
	TgtdUser   float64 `json:"tgtd_user_pct"`
	TgtdSystem float64 `json:"tgtd_system_pct"`
	FioUser    float64 `json:"fio_user_pct"`
	FioSystem  float64 `json:"fio_system_pct"`
}

// parseProcStat reads the machine's "cpu" line: user nice system idle
// iowait irq softirq steal guest guest_nice.
func parseProcStat(s string) (c cpuTimes, err error) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "cpu" {
			continue
		}
		v := make([]uint64, 0, len(f)-1)
		for _, x := range f[1:] {
			n, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return c, fmt.Errorf("/proc/stat: %q: %w", line, err)
			}
			v = append(v, n)
		}
		c.user = v[0] + v[1]
		c.idle = v[3]
		c.iowait = v[4]
		c.system = v[2] + v[5]
		c.softirq = v[6]
		for i := 0; i < len(v) && i < 8; i++ { // guest time is already in user
			c.total += v[i]
		}
		return c, nil
	}
	return c, fmt.Errorf("/proc/stat has no cpu line")
}

// parseProcPidStat returns utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseProcPidStat(s string) (utime, stime uint64, err error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("no command name in %q", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11].
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("too few fields in %q", s)
	}
	if utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return 0, 0, err
	}
	stime, err = strconv.ParseUint(f[12], 10, 64)
	return utime, stime, err
}

// readCPU reads the machine and, if pid > 0, tgtd.
func readCPU(pid int) (cpuTimes, error) {
	c, err := parseProcStat(readFile("/proc/stat"))
	if err != nil {
		return c, err
	}
	c.at = time.Now()
	if pid > 0 {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return c, err
		}
		if c.tgtdUser, c.tgtdSystem, err = parseProcPidStat(string(raw)); err != nil {
			return c, err
		}
	}
	return c, nil
}

// clockTick is USER_HZ, 100 on every Linux architecture Go runs on here.
const clockTick = 100

// shareBetween turns two readings into percentages of one CPU over the
// wall time between them.
func shareBetween(a, b cpuTimes, cpus int) cpuShare {
	total := float64(b.total - a.total)
	if total <= 0 {
		return cpuShare{}
	}
	// Machine fields are shares of all CPUs' ticks; scale to "percent of
	// one CPU" like top's per-process figures.
	pct := func(d uint64) float64 { return 100 * float64(cpus) * float64(d) / total }
	wall := b.at.Sub(a.at).Seconds()
	proc := func(d uint64) float64 {
		if wall <= 0 {
			return 0
		}
		return 100 * float64(d) / clockTick / wall
	}
	s := cpuShare{
		User:       pct(b.user - a.user),
		System:     pct(b.system - a.system),
		Softirq:    pct(b.softirq - a.softirq),
		IOWait:     pct(b.iowait - a.iowait),
		Idle:       pct(b.idle - a.idle),
		TgtdUser:   proc(b.tgtdUser - a.tgtdUser),
		TgtdSystem: proc(b.tgtdSystem - a.tgtdSystem),
	}
	s.Busy = float64(cpus)*100 - s.Idle - s.IOWait
	return s
}

// findTgtd returns the pid of the tgtd serving portal (its command line
// says --iscsi portal=<portal>), or 0.
func findTgtd(portal string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if strings.TrimSpace(readFile(d+"/comm")) != "tgtd" {
			continue
		}
		if strings.Contains(readFile(d+"/cmdline"), "portal="+portal) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}
