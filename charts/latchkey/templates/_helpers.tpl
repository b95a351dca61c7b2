{{/* Names: the same scheme `helm create` uses, so names fit in 63 characters. */}}
{{- define "latchkey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "latchkey.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "latchkey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "latchkey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "latchkey.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "latchkey.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: latchkey
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "latchkey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "latchkey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "latchkey.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "latchkey.hmacSecretName" -}}
{{- default (printf "%s-hmac" (include "latchkey.fullname" .)) .Values.hmacKey.existingSecret }}
{{- end }}

{{/* latchkey.namespaced is "true" in namespaced scope. */}}
{{- define "latchkey.namespaced" -}}
{{- if eq .Values.rbac.scope "namespaced" }}true{{ end }}
{{- end }}

{{/* latchkey.vaultKubernetesAuth is "true" when the controller logs in to Vault with its ServiceAccount. */}}
{{- define "latchkey.vaultKubernetesAuth" -}}
{{- if and .Values.vault.address (eq .Values.vault.auth.method "kubernetes") }}true{{ end }}
{{- end }}

{{/* latchkey.args are the `latchkey controller` arguments the values imply. */}}
{{- define "latchkey.args" -}}
- controller
- --metrics-bind-address=:{{ .Values.service.metricsPort }}
- --webhook-bind-address=:{{ .Values.service.webhookPort }}
- --health-probe-bind-address=:8081
- --concurrency={{ .Values.controller.concurrency }}
- --log-level={{ .Values.controller.logLevel }}
- --log-format={{ .Values.controller.logFormat }}
- --hmac-key-file=/etc/latchkey/hmac/key
{{- if .Values.controller.leaderElection.enabled }}
- --leader-elect
- --leader-election-id={{ include "latchkey.fullname" . }}
- --leader-election-namespace={{ .Release.Namespace }}
{{- end }}
{{- with .Values.controller.shard }}
- --shard={{ . }}
{{- end }}
{{- if include "latchkey.namespaced" . }}
- --watch-namespaces={{ join "," .Values.rbac.namespaces }}
{{- end }}
{{- with .Values.controller.sealedSecrets.keysNamespace }}
- --sealed-secrets-keys-namespace={{ . }}
{{- end }}
{{- with .Values.controller.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* latchkey.topologySpreadConstraints adds the pods' labelSelector to each constraint without one. */}}
{{- define "latchkey.topologySpreadConstraints" -}}
{{- $out := list }}
{{- range .Values.topologySpreadConstraints }}
{{- $c := deepCopy . }}
{{- if not $c.labelSelector }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (fromYaml (include "latchkey.selectorLabels" $))) }}
{{- end }}
{{- $out = append $out $c }}
{{- end }}
{{- with $out }}
topologySpreadConstraints:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
latchkey.rules are what reconciling Syncs takes, in the ClusterRole (cluster
scope) or in a Role per namespace (namespaced scope). charts/rbac_test.go
removes each rule in turn and shows the end-to-end reconcile fails without it.
*/}}
{{- define "latchkey.rules" -}}
- apiGroups: [gitops.latchkey.dev]
  resources: [syncs]
  verbs: [get, list, watch, patch, update]
- apiGroups: [gitops.latchkey.dev]
  resources: [syncs/status]
  verbs: [get, patch, update]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# Secrets are always managed (resolved values go into them) and read for Git
# and Vault credentials a Sync names.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
{{- range .Values.rbac.managedResources }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: [get, list, watch, create, patch, delete]
{{- end }}
{{- end }}
