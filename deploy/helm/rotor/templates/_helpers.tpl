{{/* Name of every object of the release. */}}
{{- define "rotor.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rotor.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "rotor.labels" -}}
{{ include "rotor.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rotor.serviceAccountName" -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}

{{/*
  repository@digest when a digest is given, else repository:tag (the chart's appVersion when empty).
  Called with (dict "image" <image values> "root" $).
*/}}
{{- define "rotor.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes Deployment's name of a build: its own with an explicit build id, else the release's. */}}
{{- define "rotor.deploymentName" -}}
{{- if and .root.Values.versioning.enabled .buildId -}}
{{- printf "%s-%s" (include "rotor.fullname" .root) (.buildId | lower | replace "_" "-") | trunc 63 | trimSuffix "-" | trimSuffix "." -}}
{{- else -}}
{{- include "rotor.fullname" .root -}}
{{- end -}}
{{- end -}}

{{/*
  Labels of the RBAC objects: managed-by rotor, as `rotor rbac` labels them, so `rotor doctor` and
  the plan's who-can-read know the binding is rotor's own and do not report it as a finding.
*/}}
{{- define "rotor.rbacLabels" -}}
{{ include "rotor.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: rotor
{{- end -}}
