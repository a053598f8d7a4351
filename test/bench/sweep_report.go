package main

import (
	"fmt"
	"sort"
	"strings"
)

// floorMean is the floor's figure for job: the mean of its samples.
func (r *sweepReport) floorMean(job string) float64 {
	s := r.Floor[job]
	if len(s) == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s))
}

// ratios fills every configuration's Ratios: its figure over the floor's.
func (r *sweepReport) ratios() {
	for i := range r.Configs {
		c := &r.Configs[i]
		c.Ratios = map[string]float64{}
		for job, v := range c.Values {
			if f := r.floorMean(job); f > 0 {
				c.Ratios[job] = v / f
			}
		}
	}
}

// render is the sweep as markdown: the figures with their ratios, then
// where the CPU went in each job, then what each session negotiated.
func (r *sweepReport) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **date**: %s; **driver**: %s; the sweep took %.0f s\n", r.Meta.Date, orDashStr(r.Meta.Version), r.Meta.WallSeconds)
	fmt.Fprintf(&b, "- **where it ran**: %s; kernel %s; %d CPUs (%s), %d MiB memory\n", r.Meta.Virtualised, r.Meta.Kernel, r.Meta.CPUs, r.Meta.CPU, r.Meta.MemoryMiB)
	keys := make([]string, 0, len(r.Meta.Settings))
	for k := range r.Meta.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- **%s**: %s\n", k, orDashStr(r.Meta.Settings[k]))
	}

	b.WriteString("\nFigure (MiB/s for 1M jobs, IOPS for 4k jobs) and, in bold, its ratio to the local LV (1.00 = local; higher is better).\n\n")
	b.WriteString("| configuration |")
	for _, j := range r.Jobs {
		b.WriteString(" " + j + " |")
	}
	b.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(r.Jobs)) + "\n")
	b.WriteString("| local LV (floor, mean of " + fmt.Sprint(len(r.Floor[firstOr(r.Jobs)])) + ") |")
	for _, j := range r.Jobs {
		fmt.Fprintf(&b, " %s |", fig(r.floorMean(j)))
	}
	b.WriteString("\n")
	for _, c := range r.Configs {
		fmt.Fprintf(&b, "| %s |", c.Name)
		for _, j := range r.Jobs {
			v, ok := c.Values[j]
			if !ok {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %s **%.2f×** |", fig(v), c.Ratios[j])
		}
		b.WriteString("\n")
	}
	var failed []string
	for _, c := range r.Configs {
		if c.Error != "" {
			failed = append(failed, fmt.Sprintf("- %s: %s", c.Name, c.Error))
		}
	}
	if len(failed) > 0 {
		b.WriteString("\nNot measured:\n\n" + strings.Join(failed, "\n") + "\n")
	}

	b.WriteString("\nCPU per job, percent of one CPU over the job (the machine has " + fmt.Sprint(r.Meta.CPUs) +
		"): busy = the whole machine (not idle, not iowait); tgtd = its user+system time; fio = its own usr+sys; softirq = the machine's (network and block completions).\n\n")
	b.WriteString("| configuration | job | busy | tgtd user | tgtd sys | fio usr | fio sys | machine user | machine sys | softirq | iowait |\n")
	b.WriteString("| --- | --- |" + strings.Repeat(" ---: |", 9) + "\n")
	row := func(name, job string, s cpuShare) {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", name, job,
			s.Busy, s.TgtdUser, s.TgtdSystem, s.FioUser, s.FioSystem, s.User, s.System, s.Softirq, s.IOWait)
	}
	for _, j := range r.Jobs {
		if s, ok := r.FloorCPU[j]; ok {
			row("local LV", j, s)
		}
	}
	for _, c := range r.Configs {
		for _, j := range r.Jobs {
			if s, ok := c.CPU[j]; ok {
				row(c.Name, j, s)
			}
		}
	}

	b.WriteString("\nWhat each session ended up with (sysfs: negotiated keys, the disk as the SCSI disk driver sees it).\n\n")
	cols := []string{"max_recv_dlength", "max_xmit_dlength", "first_burst_len", "max_burst_len", "immediate_data", "initial_r2t", "can_queue", "queue_depth", "cache_type", "fua", "max_sectors_kb"}
	b.WriteString("| configuration | " + strings.Join(cols, " | ") + " |\n")
	b.WriteString("| --- |" + strings.Repeat(" --- |", len(cols)) + "\n")
	for _, c := range r.Configs {
		fmt.Fprintf(&b, "| %s |", c.Name)
		for _, k := range cols {
			fmt.Fprintf(&b, " %s |", orDashStr(c.Observed[k]))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// fig prints a figure with three significant digits or as a whole number.
func fig(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func orDashStr(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
