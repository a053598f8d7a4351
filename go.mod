module github.com/lvm-iscsi-csi/lvm-iscsi-csi

go 1.26.8

require (
	k8s.io/klog/v2 v2.140.0
	k8s.io/utils v0.0.0-20261023123148-ca04ba58ecab
)

require github.com/go-logr/logr v1.4.4 // indirect
