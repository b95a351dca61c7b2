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

{{/*
latchkey.args are the `latchkey controller` flags the values imply. Paths
are where the Deployment mounts the files.
*/}}
{{- define "latchkey.args" -}}
- controller
- --namespace={{ .Release.Namespace }}
- --metrics-addr=:{{ .Values.service.metricsPort }}
- --health-addr=:{{ .Values.controller.healthPort }}
{{- if .Values.webhook.enabled }}
- --webhook-addr=:{{ .Values.service.webhookPort }}
- --webhook-secret-file=/etc/latchkey/webhook/{{ .Values.webhook.key }}
{{- else }}
- --webhook-addr=
{{- end }}
- --concurrency={{ .Values.controller.concurrency }}
- --leader-elect={{ .Values.controller.leaderElection.enabled }}
{{- with .Values.controller.leaderElection }}
{{- if .enabled }}
- --leader-elect-lease-duration={{ .leaseDuration }}
- --leader-elect-renew-deadline={{ .renewDeadline }}
- --leader-elect-retry-period={{ .retryPeriod }}
{{- end }}
{{- end }}
{{- with .Values.controller.shard }}
- --shard={{ . }}
{{- end }}
{{- if include "latchkey.namespaced" . }}
- --watch-namespaces={{ join "," .Values.rbac.namespaces }}
{{- end }}
- --hmac-key-file=/etc/latchkey/hmac/key
- --sealed-secrets-namespace={{ .Values.controller.sealedSecrets.keysNamespace }}
- --vault-cache-ttl={{ .Values.controller.vaultCacheTTL }}
- --git-timeout={{ .Values.controller.gitTimeout }}
- --git-max-fetch-bytes={{ .Values.controller.git.maxFetchBytes }}
- --git-max-file-bytes={{ .Values.controller.git.maxFileBytes }}
- --git-max-revision-bytes={{ .Values.controller.git.maxRevisionBytes }}
- --git-cache-bytes={{ .Values.controller.git.cacheBytes }}
- --render-workers={{ .Values.controller.render.workers }}
- --render-memory-limit={{ .Values.controller.render.memoryLimit }}
- --render-cpu-limit={{ .Values.controller.render.cpuLimit }}
- --render-timeout={{ .Values.controller.render.timeout }}
- --log-level={{ .Values.controller.logLevel }}
- --log-format={{ .Values.controller.logFormat }}
{{- with .Values.tenancy }}
- --tenancy={{ .enabled }}
{{- if .enabled }}
- --default-service-account={{ .defaultServiceAccount }}
- --allow-cross-namespace={{ .allowCrossNamespace }}
- --allowed-cluster-kinds={{ join "," .allowedClusterKinds }}
- --allowed-source-hosts={{ join "," .allowedSourceHosts }}
- --vault-allowed-addresses={{ join "," .vault.allowedAddresses }}
- --vault-default-namespaces={{ join "," .vault.defaultNamespaces }}
- --vault-token-audience={{ $.Values.vault.auth.kubernetes.audience }}
- --allowed-keys-namespaces={{ join "," .sealedSecrets.allowedKeysNamespaces }}
{{- end }}
{{- end }}
{{- with .Values.controller.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
latchkey.deliveryLedgerName is the ConfigMap the controller records webhook
deliveries in: reconcile.DeliveryLedgerName, <lease name>-webhook-deliveries.
*/}}
{{- define "latchkey.deliveryLedgerName" -}}
{{- if .Values.controller.shard }}latchkey-controller-{{ .Values.controller.shard }}-webhook-deliveries{{ else }}latchkey-controller-webhook-deliveries{{ end }}
{{- end }}

{{/*
latchkey.managesReleaseConfigMaps is "true" when the controller's main rules
(latchkey.rules: its ClusterRole, or its Role where the release namespace is
one of rbac.namespaces) already let it get and create ConfigMaps in the
release namespace: tenancy is off (with it on the controller only lists and
watches the managed kinds) and rbac.managedResources holds configmaps. A
second grant would be one more rule for nothing.
*/}}
{{- define "latchkey.managesReleaseConfigMaps" -}}
{{- $here := and (not .Values.tenancy.enabled) (or (not (include "latchkey.namespaced" .)) (has .Release.Namespace .Values.rbac.namespaces)) }}
{{- range .Values.rbac.managedResources }}
{{- if and $here (has "" .apiGroups) (has "configmaps" .resources) }}true{{ end }}
{{- end }}
{{- end }}

{{- define "latchkey.webhookSecretName" -}}
{{- default (printf "%s-webhook" (include "latchkey.fullname" .)) .Values.webhook.existingSecret }}
{{- end }}

{{/*
latchkey.generatedSecret renders a Secret holding one random value that is
made once: an upgrade finds the Secret with lookup and keeps its value.
Without cluster access (helm template, Argo CD) lookup finds nothing and
every render makes a new value; the values offer an existing Secret instead.
Takes (dict "ctx" $ "name" NAME "key" KEY "comment" TEXT).
*/}}
{{- define "latchkey.generatedSecret" -}}
{{- $value := "" }}
{{- with lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- $value = index (.data | default dict) $.key | default "" }}
{{- end }}
{{- if not $value }}
{{- $value = randAlphaNum 64 | b64enc }}
{{- end }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "latchkey.labels" .ctx | nindent 4 }}
  annotations:
    # {{ .comment }}
    helm.sh/resource-policy: keep
type: Opaque
data:
  {{ .key }}: {{ $value }}
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
{{- /* With tenancy on, every read and write of a rendered object is the
Sync's ServiceAccount's: the controller only watches the managed kinds
(drift) and gets the Secrets a Sync names (Git and Vault credentials). */}}
{{- $secrets := ternary "get, list, watch" "get, list, watch, create, patch, delete" .Values.tenancy.enabled }}
{{- $managed := ternary "list, watch" "get, list, watch, create, patch, delete" .Values.tenancy.enabled }}
# Syncs are read through an informer (list, watch); get reads the inventory
# uncached right before a prune (the informer may be behind); patch adds and
# removes the finalizer.
- apiGroups: [gitops.latchkey.dev]
  resources: [syncs]
  verbs: [get, list, watch, patch]
- apiGroups: [gitops.latchkey.dev]
  resources: [syncs/status]
  verbs: [patch]
# Events about Syncs; patch aggregates a repeated one into a series.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# Secrets are always managed (resolved values go into them) and read for Git
# and Vault credentials a Sync names. With tenancy on, the Syncs'
# ServiceAccounts write them; the controller only reads and watches.
- apiGroups: [""]
  resources: [secrets]
  verbs: [{{ $secrets }}]
{{- range .Values.rbac.managedResources }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: [{{ $managed }}]
{{- end }}
{{- if .Values.tenancy.enabled }}
# Every request for a Sync's objects impersonates the Sync's ServiceAccount.
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [impersonate]
# Vault's Kubernetes auth logs in with a short-lived token of the Sync's
# ServiceAccount (TokenRequest), never with the controller's own.
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [create]
# Before writing anything of a revision, the controller asks whether the
# ServiceAccount may (LocalSubjectAccessReview, namespaced).
- apiGroups: [authorization.k8s.io]
  resources: [localsubjectaccessreviews]
  verbs: [create]
{{- if and .Values.tenancy.allowedClusterKinds (not (include "latchkey.namespaced" .)) }}
# The same question for the cluster-scoped kinds an admin allows.
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end }}
{{- end }}
{{- end }}

{{/*
latchkey.env is the controller's environment: the Vault configuration in the
variables Vault's CLI and argocd-vault-plugin read.
*/}}
{{- define "latchkey.env" -}}
{{- $vault := .Values.vault }}
{{- if $vault.address }}
- name: VAULT_ADDR
  value: {{ $vault.address | quote }}
{{- with $vault.namespace }}
- name: VAULT_NAMESPACE
  value: {{ . | quote }}
{{- end }}
{{- with $vault.tlsServerName }}
- name: VAULT_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if or $vault.ca.secretName $vault.ca.configMapName }}
- name: VAULT_CACERT
  value: /etc/latchkey/vault-ca/{{ $vault.ca.key }}
{{- end }}
{{- if eq $vault.auth.method "kubernetes" }}
- name: AVP_AUTH_TYPE
  value: k8s
- name: AVP_K8S_ROLE
  value: {{ $vault.auth.kubernetes.role | quote }}
- name: AVP_K8S_MOUNT_PATH
  value: {{ $vault.auth.kubernetes.mount | quote }}
- name: AVP_K8S_TOKEN_PATH
  value: /var/run/secrets/latchkey/vault/token
{{- else if eq $vault.auth.method "approle" }}
- name: AVP_AUTH_TYPE
  value: approle
- name: AVP_MOUNT_PATH
  value: {{ $vault.auth.appRole.mount | quote }}
- name: AVP_ROLE_ID
  valueFrom:
    secretKeyRef:
      name: {{ $vault.auth.appRole.secretName }}
      key: {{ $vault.auth.appRole.roleIdKey }}
- name: AVP_SECRET_ID
  valueFrom:
    secretKeyRef:
      name: {{ $vault.auth.appRole.secretName }}
      key: {{ $vault.auth.appRole.secretIdKey }}
{{- else if eq $vault.auth.method "token" }}
- name: AVP_AUTH_TYPE
  value: token
- name: VAULT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $vault.auth.token.secretName }}
      key: {{ $vault.auth.token.key }}
{{- end }}
{{- end }}
# The container's memory limit, in bytes: the controller keeps Go's heap
# under 90% of what the render workers leave of it (a soft limit,
# GOMEMLIMIT's), so it collects harder before the kernel would kill it.
- name: LATCHKEY_MEMORY_LIMIT
  valueFrom:
    resourceFieldRef:
      containerName: controller
      resource: limits.memory
{{- with .Values.controller.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* latchkey.validate fails the render on what values.schema.json cannot express. */}}
{{- define "latchkey.validate" -}}
{{- $ports := list (int .Values.service.metricsPort) (int .Values.controller.healthPort) }}
{{- if .Values.webhook.enabled }}{{ $ports = append $ports (int .Values.service.webhookPort) }}{{ end }}
{{- if ne (len $ports) (len (uniq $ports)) }}
{{- fail (printf "service.metricsPort, service.webhookPort and controller.healthPort must differ, got %v" $ports) }}
{{- end }}
{{- end }}
