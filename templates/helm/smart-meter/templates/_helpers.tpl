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

{{- define "sm.podSecurity" -}}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Pods of smartmeter's own image (inject, ingest, cassandra init and stats): its unprivileged user
(the Dockerfile's USER 10001:10001), required: the kubelet refuses to start the container as root.
*/}}
{{- define "sm.smartmeterPodSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
{{ include "sm.podSecurity" . }}
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
