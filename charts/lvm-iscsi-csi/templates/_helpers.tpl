{{/* The CSI driver name: fixed in the binary, so not a value. */}}
{{- define "lvm-iscsi-csi.driverName" -}}lvm-iscsi.csi.io{{- end }}

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
(sidecars.<name>), args (the chart's own arguments), env and mounts (optional).
*/}}
{{- define "lvm-iscsi-csi.sidecar" -}}
- name: {{ .name }}
  image: {{ .values.image }}
  imagePullPolicy: IfNotPresent
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
{{- $names := dict }}
{{- range .Values.storageClasses }}
{{- if hasKey $names .name }}{{ fail (printf "storageClasses: %s appears twice" .name) }}{{ end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- end }}
