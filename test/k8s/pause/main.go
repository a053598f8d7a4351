// Command pause is the pod sandbox image's only program (containerd's
// sandbox_image in the k8s-e2e cluster): it holds the pod's namespaces open
// until it is told to stop. No registry is reachable where the cluster runs,
// so the upstream pause image cannot be pulled; this is built from source and
// wrapped into an image by test/k8s/images.sh.
//
// As PID 1 of a pod that shares its process namespace it also reaps the
// zombies other containers leave behind, like the upstream pause does.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
