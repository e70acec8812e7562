{{/* The chart's name, app.kubernetes.io/name of the agent's Pods. */}}
{{- define "kgctl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Every object's name: the release name when it holds the chart's name (a
release named kgctl gives the manifests' names), else RELEASE-kgctl.
*/}}
{{- define "kgctl.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "kgctl.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The labels Helm's objects carry beyond the manifests' (hack/helm's
comparison sets exactly these aside).
*/}}
{{- define "kgctl.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The image, pinned: image.tag or the chart's appVersion, never latest. */}}
{{- define "kgctl.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag: \"latest\" is refused: pin a release tag (empty: the chart's appVersion)" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* The agent's ServiceAccount user, as the admission policy matches it. */}}
{{- define "kgctl.serviceAccountUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "kgctl.fullname" .) -}}
{{- end -}}
