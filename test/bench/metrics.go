package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The controller's Prometheus endpoint (docs/metrics.md) is where a
// reconcile pass's duration is read: the pass runs inside the driver, on
// its own trigger, so no call of the bench can time it.

// metricValue returns the value of the sample of metric name (exactly that
// name) whose labels contain label ("" for any: the first sample) from a
// Prometheus text exposition.
func metricValue(text, name, label string) (float64, error) {
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels := ""
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		}
		if label != "" && !slices.Contains(strings.Split(labels, ","), label) {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		return strconv.ParseFloat(fields[0], 64)
	}
	return 0, fmt.Errorf("metric %s{%s} not exposed", name, label)
}

// metrics reads the controller's metrics endpoint.
func (b *bench) metrics(ctx context.Context) (string, error) {
	if b.controllerMetrics == "" {
		return "", fmt.Errorf("-controller-metrics is not set")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.controllerMetrics, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", b.controllerMetrics, resp.Status)
	}
	return string(body), nil
}
