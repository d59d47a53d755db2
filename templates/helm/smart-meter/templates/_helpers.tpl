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
