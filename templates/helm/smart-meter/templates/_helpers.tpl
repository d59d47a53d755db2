{{/* Names, labels and small computations shared by the templates. */}}

{{- define "sm.name" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<component>, e.g. smartmeter-nats */}}
{{- define "sm.fullname" -}}
{{- printf "%s-%s" (include "sm.name" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sm.labels" -}}
app.kubernetes.io/name: smart-meter
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "sm.selector" -}}
app.kubernetes.io/name: smart-meter
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sm.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{- define "sm.cluster" -}}
{{- if eq .Values.clusterMode "cluster" }}true{{ end -}}
{{- end -}}

{{- define "sm.natsReplicas" -}}
{{- if gt (int .Values.nats.replicas) 0 }}{{ .Values.nats.replicas }}{{ else if include "sm.cluster" . }}3{{ else }}1{{ end -}}
{{- end -}}

{{- define "sm.cassandraReplicas" -}}
{{- if gt (int .Values.cassandra.replicas) 0 }}{{ .Values.cassandra.replicas }}{{ else if include "sm.cluster" . }}3{{ else }}1{{ end -}}
{{- end -}}

{{- define "sm.natsSecret" -}}
{{- .Values.nats.auth.existingSecret | default (include "sm.fullname" (dict "root" . "component" "nats-auth")) -}}
{{- end -}}

{{- define "sm.natsUrl" -}}
nats://{{ include "sm.fullname" (dict "root" . "component" "nats") }}:4222
{{- end -}}

{{- define "sm.cassandraHost" -}}
{{ include "sm.fullname" (dict "root" . "component" "cassandra") }}
{{- end -}}

{{- define "sm.graphiteHost" -}}
{{ include "sm.fullname" (dict "root" . "component" "graphite") }}
{{- end -}}

{{/* The NATS credentials as environment variables, from the Secret. */}}
{{- define "sm.natsCredentialsEnv" -}}
- name: NATS_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ include "sm.natsSecret" . }}, key: username }
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "sm.natsSecret" . }}, key: password }
{{- end -}}

{{- define "sm.scrape" -}}
{{- if .root.Values.metrics.prometheusAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* The release's Service of a component, for tpl'd app values: include "sm.host" (list . "nats") */}}
{{- define "sm.host" -}}
{{- include "sm.fullname" (dict "root" (index . 0) "component" (index . 1)) -}}
{{- end -}}

{{/*
A pod template's metadata. dict: root, component, clients (servers the pod talks to: nats,
cassandra, graphite, spark, hadoop; they become labels the NetworkPolicies select), metricsPort
(optional: scrape annotations), labels and annotations (optional dicts).
*/}}
{{- define "sm.podMetadata" -}}
labels:
  {{- include "sm.selector" . | nindent 2 }}
  {{- range .clients }}
  smartmeter.io/{{ . }}-client: "true"
  {{- end }}
  {{- range $k, $v := .labels }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
  {{- if .root.Values.istio.enabled }}
  sidecar.istio.io/inject: "true"
  {{- end }}
{{- $annotations := dict }}
{{- if .metricsPort }}{{ $annotations = include "sm.scrape" (dict "root" .root "port" .metricsPort) | fromYaml | default dict }}{{ end }}
{{- if .root.Values.istio.enabled }}
{{- /* The proxy as a native sidecar: it starts before the app and stops after it, so Jobs finish. */}}
{{- $_ := set $annotations "sidecar.istio.io/nativeSidecar" "true" }}
{{- end }}
{{- range $k, $v := .annotations }}{{ $_ := set $annotations $k $v }}{{ end }}
{{- with $annotations }}
annotations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
What every pod spec starts with. dict: root, component, values (the component's values:
podSecurityContext merged over security.podSecurityContext), account (optional: the
ServiceAccount's component, when it is not the pod's own).
*/}}
{{- define "sm.podSpec" -}}
{{- if .root.Values.serviceAccounts.create }}
serviceAccountName: {{ include "sm.fullname" (dict "root" .root "component" (.account | default .component)) }}
{{- end }}
automountServiceAccountToken: false
securityContext: {{- mergeOverwrite (deepCopy .root.Values.security.podSecurityContext) (deepCopy (.values.podSecurityContext | default dict)) | toYaml | nindent 2 }}
{{- end -}}

{{/* A container's securityContext. dict: root, values (readOnlyRootFilesystem). */}}
{{- define "sm.containerSecurity" -}}
{{- $context := deepCopy .root.Values.security.containerSecurityContext }}
{{- $_ := set $context "readOnlyRootFilesystem" (ne .values.readOnlyRootFilesystem false) }}
{{- toYaml $context }}
{{- end -}}

{{/* A container's resources, from the component's values. */}}
{{- define "sm.resources" -}}
{{- toYaml (.resources | default dict) }}
{{- end -}}

{{/* The emptyDir mounts of a component's writableDirs (volume names writable-0, writable-1, …). */}}
{{- define "sm.writableMounts" -}}
{{- range $i, $dir := .writableDirs }}
- { name: writable-{{ $i }}, mountPath: {{ $dir | quote }} }
{{- end }}
{{- end -}}

{{- define "sm.writableVolumes" -}}
{{- range $i, $dir := .writableDirs }}
- { name: writable-{{ $i }}, emptyDir: {} }
{{- end }}
{{- end -}}

{{/*
Replicas spread over nodes. dict: root, component, required (true: never two on one node).
*/}}
{{- define "sm.antiAffinity" -}}
podAntiAffinity:
  {{- if .required }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels: {{- include "sm.selector" . | nindent 10 }}
  {{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels: {{- include "sm.selector" . | nindent 12 }}
  {{- end }}
{{- end -}}

{{/* NATS and Cassandra: hard or soft spreading in cluster mode, as antiAffinity says. */}}
{{- define "sm.serverAffinity" -}}
{{- include "sm.antiAffinity" (dict "root" .root "component" .component "required" (and (include "sm.cluster" .root) (eq .root.Values.antiAffinity "hard"))) }}
{{- end -}}

{{/* "true" when the API server serves group/version (kind optional), or when value is true; "" otherwise. */}}
{{- define "sm.apiEnabled" -}}
{{- if eq (toString .value) "true" }}true
{{- else if and (eq (toString .value) "auto") (.root.Capabilities.APIVersions.Has .api) }}true
{{- end }}
{{- end -}}

{{- define "sm.monitors" -}}
{{- include "sm.apiEnabled" (dict "root" . "value" .Values.metrics.monitors.enabled "api" "monitoring.coreos.com/v1") -}}
{{- end -}}

{{/* hpa, keda or "" (autoscaling off). */}}
{{- define "sm.ingestScaler" -}}
{{- $a := .Values.ingest.autoscaling }}
{{- if $a.enabled }}
{{- if eq $a.mode "auto" }}
{{- if and .Values.ingest.jetstream (.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject") }}keda{{ else }}hpa{{ end }}
{{- else }}{{ $a.mode }}{{ end }}
{{- end }}
{{- end -}}

{{/*
The files the ConfigMaps are made of (files/cql, files/config): copies of smartmeter's
templates/cql and templates/config, made by its build. Without them the ConfigMaps would render
empty (no schema, no dashboards, no Telegraf or Graphite configuration) and the stack would fail
later and far from the cause: the chart refuses to render instead. Checked whatever is enabled:
a chart without them is a broken copy. Included by required-files.yaml.
*/}}
{{- define "sm.requiredFiles" -}}
{{- $globs := list
  "files/cql/*.cql"
  "files/config/graphite/storage-schemas.conf"
  "files/config/graphite/storage-aggregation.conf"
  "files/config/telegraf/max_voltage.conf"
  "files/config/telegraf/temperature.conf"
  "files/config/telegraf/prediction.conf"
  "files/config/telegraf/nats.conf"
  "files/config/grafana/provisioning/datasources/smartmeter.yml"
  "files/config/grafana/provisioning/dashboards/smartmeter.yml"
  "files/config/grafana/provisioning/dashboards/json/*.json" }}
{{- $missing := list }}
{{- range $glob := $globs }}
{{- $found := false }}
{{- range $path, $content := $.Files.Glob $glob }}
{{- if $content }}{{ $found = true }}{{ end }}
{{- end }}
{{- if not $found }}{{ $missing = append $missing $glob }}{{ end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "smart-meter chart: required files missing or empty: %s. The chart's files/cql and files/config are copies of smartmeter's templates/cql and templates/config made by its build (npm run build, scripts/chart-files.mjs): build the checkout, or use the chart of an installed smartmeter package" (join ", " $missing)) }}
{{- end }}
{{- end -}}

{{/*
A credential as given, but for the line ending a --set-file of a secret file brings (a file
usually ends with one); spaces and every other character are kept: they are the password's.
*/}}
{{- define "sm.secretValue" -}}
{{- regexReplaceAll "[\r\n]+$" (toString .) "" -}}
{{- end -}}

{{/*
Every component the release runs, as a JSON list (the ServiceAccounts, one per component, follow it).
*/}}
{{- define "sm.components" -}}
{{- $v := .Values }}
{{- $c := list }}
{{- if $v.nats.enabled }}{{ $c = append $c "nats" }}{{ end }}
{{- if $v.cassandra.enabled }}{{ $c = append $c "cassandra" }}{{ if $v.cassandra.init.enabled }}{{ $c = append $c "cassandra-init" }}{{ end }}{{ end }}
{{- if $v.ingest.enabled }}{{ $c = append $c "ingest" }}{{ end }}
{{- if $v.inject.enabled }}{{ $c = append $c "inject" }}{{ end }}
{{- if $v.metrics.enabled }}
{{- $c = append $c "graphite" }}
{{- if $v.metrics.grafana.enabled }}{{ $c = append $c "grafana" }}{{ end }}
{{- if and $v.metrics.cassandraStats.enabled $v.cassandra.enabled }}{{ $c = append $c "cassandra-stats" }}{{ end }}
{{- $c = concat $c (keys (include "sm.telegrafAgents" . | fromJson) | sortAlpha) }}
{{- if $v.metrics.prometheus.enabled }}{{ $c = append $c "prometheus" }}{{ end }}
{{- end }}
{{- if $v.spark.enabled }}{{ $c = append $c "spark-master" }}{{ if gt (int (include "sm.sparkWorkers" .)) 0 }}{{ $c = append $c "spark-worker" }}{{ end }}{{ end }}
{{- if $v.hadoop.enabled }}{{ $c = append $c "hadoop" }}{{ end }}
{{- range $name, $app := $v.apps }}{{ if ne $app.enabled false }}{{ $c = append $c $name }}{{ end }}{{ end }}
{{- toJson $c }}
{{- end -}}

{{- define "sm.sparkWorkers" -}}
{{- if gt (int .Values.spark.workers) 0 }}{{ .Values.spark.workers }}{{ else if include "sm.cluster" . }}2{{ else }}0{{ end -}}
{{- end -}}

{{/* Seconds a finished Job stays (for its logs and `smartmeter status`) before Kubernetes removes it. */}}
{{- define "sm.jobTTL" -}}
ttlSecondsAfterFinished: 86400
{{- end -}}

{{/* A console's path prefix behind the Ingress ("" at the root, else e.g. /grafana). dict: root, console. */}}
{{- define "sm.consolePrefix" -}}
{{- $console := index .root.Values.ingress .console }}
{{- if and .root.Values.ingress.enabled $console.host (ne (trimSuffix "/" $console.path) "") }}{{ trimSuffix "/" $console.path }}{{ end }}
{{- end -}}

{{/*
The Telegraf agents metrics.telegraf turns on (not the NATS sidecars), as a JSON object:
component (telegraf-max-voltage, …) → its configuration file in files/config/telegraf.
*/}}
{{- define "sm.telegrafAgents" -}}
{{- $files := dict "maxVoltage" "max_voltage.conf" "temperature" "temperature.conf" "prediction" "prediction.conf" }}
{{- $agents := dict }}
{{- range $key, $file := $files }}{{ if index $.Values.metrics.telegraf $key }}{{ $_ := set $agents (printf "telegraf-%s" (kebabcase $key)) $file }}{{ end }}{{ end }}
{{- toJson $agents }}
{{- end -}}
