{{/*
Expand the name of the chart.
*/}}
{{- define "billing.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "billing.secretName" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else -}}
{{- printf "%s-auth" (include "billing.name" .) -}}
{{- end -}}
{{- end }}

{{- define "billing.databaseUrl" -}}
postgresql://{{ .Values.postgresql.auth.username }}:{{ .Values.postgresql.auth.password }}@{{ include "billing.name" . }}-postgresql:5432/{{ .Values.postgresql.auth.database }}
{{- end }}
