{{/* The CSI driver name, passed to the driver as --driver-name. */}}
{{- define "lvm-iscsi-csi.driverName" -}}{{ .Values.driverName }}{{- end }}

{{/*
A host state directory: the value when set, else one below
/var/lib/lvm-iscsi-csi that follows the driver name, so that a second
release (another driverName) never shares the first one's state. The
default name keeps the paths of installations made before driverName
existed. Arguments: root, component (controller or node), dir (the value).
*/}}
{{- define "lvm-iscsi-csi.stateDir" -}}
{{- if .dir }}{{ .dir }}
{{- else if eq .root.Values.driverName "lvm-iscsi.csi.io" }}/var/lib/lvm-iscsi-csi/{{ .component }}
{{- else }}/var/lib/lvm-iscsi-csi/{{ .root.Values.driverName }}/{{ .component }}
{{- end }}
{{- end }}

{{/*
"true" when the snapshot parts (csi-snapshotter, its RBAC, the
VolumeSnapshotClass) may be rendered: the user forces it, or the API
server has the snapshot.storage.k8s.io/v1 CRDs the snapshotter watches.
Without them the VolumeSnapshotClass fails the whole install and
csi-snapshotter only logs errors.
*/}}
{{- define "lvm-iscsi-csi.snapshotCRDs" -}}
{{- if eq (toString .Values.snapshotCRDs) "installed" }}true
{{- else if and (.Capabilities.APIVersions.Has "snapshot.storage.k8s.io/v1/VolumeSnapshotClass") (.Capabilities.APIVersions.Has "snapshot.storage.k8s.io/v1/VolumeSnapshotContent") }}true
{{- end }}
{{- end }}

{{/* "true" when csi-snapshotter runs. */}}
{{- define "lvm-iscsi-csi.snapshotter" -}}
{{- if and .Values.sidecars.snapshotter.enabled (include "lvm-iscsi-csi.snapshotCRDs" .) }}true{{ end }}
{{- end }}

{{- define "lvm-iscsi-csi.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "lvm-iscsi-csi.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Selector labels of one component (controller or node). */}}
{{- define "lvm-iscsi-csi.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "lvm-iscsi-csi.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The directory under the kubelet root holding the node plugin's socket. */}}
{{- define "lvm-iscsi-csi.pluginDir" -}}
{{ trimSuffix "/" .Values.node.kubeletDir }}/plugins/{{ include "lvm-iscsi-csi.driverName" . }}
{{- end }}

{{/*
A CSI sidecar container talking to the driver's socket in /csi.
Arguments: root (the chart's context), name (container name), values
(sidecars.<name>), args (the chart's own arguments), env, mounts and ports
(optional).
*/}}
{{- define "lvm-iscsi-csi.sidecar" -}}
- name: {{ .name }}
  image: {{ .values.image }}
  {{- /* The driver image's policy unless this sidecar sets its own: an
  air-gapped cluster says Never once for every image. */}}
  imagePullPolicy: {{ .values.pullPolicy | default .root.Values.image.pullPolicy }}
  args:
    - --csi-address=/csi/csi.sock
    - --v={{ .values.logLevel }}
    {{- range .args }}
    - {{ . | quote }}
    {{- end }}
    {{- range .values.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  {{- with .env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .ports }}
  ports:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
The driver's StorageClass parameters of one storageClasses[] entry, as YAML
(read it with fromYaml): .parameters without its empty values (an empty value
asks for the default, which is the key left out), plus the older spelling
.provisioning. Setting both spellings of provisioning is refused.
*/}}
{{- define "lvm-iscsi-csi.storageClassParameters" -}}
{{- $p := dict }}
{{- range $k, $v := .parameters }}
{{- if ne (toString $v) "" }}{{ $_ := set $p $k (toString $v) }}{{ end }}
{{- end }}
{{- with .provisioning }}
{{- if hasKey $p "provisioning" }}{{ fail (printf "storageClasses: %s sets provisioning and parameters.provisioning: keep parameters.provisioning only" $.name) }}{{ end }}
{{- $_ := set $p "provisioning" . }}
{{- end }}
{{- toYaml $p }}
{{- end }}

{{/* Checks on values the schema cannot express. */}}
{{- define "lvm-iscsi-csi.validate" -}}
{{- if eq (int .Values.controller.healthPort) (int .Values.node.healthPort) }}
{{- fail "controller.healthPort and node.healthPort must differ: both pods use the storage host's network" }}
{{- end }}
{{- if .Values.metrics.enabled }}
{{- $ports := list (int .Values.controller.healthPort) (int .Values.node.healthPort) (int .Values.metrics.controllerPort) (int .Values.metrics.nodePort) }}
{{- range $_, $port := .Values.metrics.sidecarPorts }}{{ $ports = append $ports (int $port) }}{{ end }}
{{- if ne (len (uniq $ports)) (len $ports) }}
{{- fail "metrics.controllerPort, metrics.nodePort, metrics.sidecarPorts, controller.healthPort and node.healthPort must all differ: both pods use the storage host's network" }}
{{- end }}
{{- end }}
{{- $warn := float64 .Values.controller.thinPoolWarnPercent }}
{{- $full := float64 .Values.controller.thinPoolFullPercent }}
{{- if and (gt $warn 0.0) (gt $full 0.0) (ge $warn $full) }}
{{- fail "controller.thinPoolWarnPercent must be below controller.thinPoolFullPercent (or either 0): the warning comes before creations are refused" }}
{{- end }}
{{- $names := dict }}
{{- range .Values.storageClasses }}
{{- if hasKey $names .name }}{{ fail (printf "storageClasses: %s appears twice" .name) }}{{ end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- end }}

{{/*
The controller's sidecars that serve /metrics on --http-endpoint, as a dict
of container name -> {key (in sidecars and metrics.sidecarPorts), port name
(at most 15 characters, unique in the pod), port}: the ones rendered, when
metrics are enabled; empty otherwise. Read it with fromYaml.
*/}}
{{- define "lvm-iscsi-csi.sidecarMetrics" -}}
{{- $out := dict }}
{{- if .Values.metrics.enabled }}
{{- $ports := .Values.metrics.sidecarPorts }}
{{- $_ := set $out "csi-provisioner" (dict "port" $ports.provisioner "name" "m-provisioner") }}
{{- $_ := set $out "csi-attacher" (dict "port" $ports.attacher "name" "m-attacher") }}
{{- if .Values.sidecars.resizer.enabled }}
{{- $_ := set $out "csi-resizer" (dict "port" $ports.resizer "name" "m-resizer") }}
{{- end }}
{{- if include "lvm-iscsi-csi.snapshotter" . }}
{{- $_ := set $out "csi-snapshotter" (dict "port" $ports.snapshotter "name" "m-snapshotter") }}
{{- end }}
{{- if .Values.sidecars.healthMonitor.enabled }}
{{- $_ := set $out "csi-external-health-monitor-controller" (dict "port" $ports.healthMonitor "name" "m-healthmon") }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}
