// Command postrender is a helm post-renderer (helm install --post-renderer)
// that takes containers out of the chart's pods by name:
//
//	postrender [-liveness-timeout SECONDS] NAME...   < rendered manifests > manifests without those containers
//
// The k8s-e2e cluster cannot run the node-driver-registrar and livenessprobe
// sidecars (their images cannot be built here, see docs/testing.md) and the
// chart of today renders them unconditionally; the driver does both jobs
// itself when given --kubelet-registration-path and --health-address, so the
// cluster drops the sidecars with this and passes those flags through the
// chart's extraArgs. Everything else passes through unchanged (comments and
// key order included).
//
// -liveness-timeout sets timeoutSeconds of every liveness probe: under
// software emulation the driver's health check (lvm commands) takes longer
// than the chart's 5 s, and kubelet restarted the controller in a loop
// (docs/testing.md).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"go.yaml.in/yaml/v3"
)

func main() {
	livenessTimeout := flag.Int("liveness-timeout", 0, "timeoutSeconds of every liveness probe (0: as rendered)")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: postrender [-liveness-timeout SECONDS] CONTAINER-NAME... < manifests")
		os.Exit(2)
	}
	drop := map[string]bool{}
	for _, name := range flag.Args() {
		drop[name] = true
	}
	out, err := filter(os.Stdin, drop, *livenessTimeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "postrender:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// filter re-encodes every document of in, without the containers named in
// drop and, when livenessTimeout > 0, with that timeoutSeconds in every
// liveness probe. It fails when a name matches no container at all: a
// renamed sidecar must not slip through unnoticed.
func filter(in io.Reader, drop map[string]bool, livenessTimeout int) ([]byte, error) {
	dec := yaml.NewDecoder(in)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	seen := map[string]bool{}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		if containers := lookup(doc.Content[0], "spec", "template", "spec", "containers"); containers != nil {
			kept := containers.Content[:0]
			for _, c := range containers.Content {
				if name := lookup(c, "name"); name != nil && drop[name.Value] {
					seen[name.Value] = true
					continue
				}
				if probe := lookup(c, "livenessProbe"); probe != nil && livenessTimeout > 0 {
					set(probe, "timeoutSeconds", strconv.Itoa(livenessTimeout))
				}
				kept = append(kept, c)
			}
			containers.Content = kept
		}
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	for name := range drop {
		if !seen[name] {
			return nil, fmt.Errorf("no container named %q in the rendered chart", name)
		}
	}
	return buf.Bytes(), nil
}

// set gives the mapping n the integer key=value, replacing an existing one.
func set(n *yaml.Node, key, value string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: value}
			return
		}
	}
	n.Content = append(n.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: value})
}

// lookup follows mapping keys from n; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}
