{{/*
tickbridge chart helpers.

Every helper takes the chart's root context. From a parent chart that depends on
this one, pass the subchart's context: `.Subcharts.tickbridge` (Helm >= 3.13), e.g.
  initContainers:
    {{- include "tickbridge.sidecarContainer" .Subcharts.tickbridge | nindent 4 }}
*/}}

{{- define "tickbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tickbridge.fullname" -}}
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

{{- define "tickbridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tickbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tickbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tickbridge.labels" -}}
helm.sh/chart: {{ include "tickbridge.chart" . }}
{{ include "tickbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end }}

{{- define "tickbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tickbridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tickbridge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the ConfigMap holding config.toml. */}}
{{- define "tickbridge.configMapName" -}}
{{- printf "%s-config" (include "tickbridge.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the chart creates the credentials Secret. */}}
{{- define "tickbridge.createSecret" -}}
{{- $c := .Values.credentials }}
{{- if and (not $c.existingSecret) (or $c.kafkaSaslUsername $c.kafkaSaslPassword $c.natsToken $c.natsCreds) }}true{{ end }}
{{- end }}

{{/* Name of the credentials Secret, empty when there is none. */}}
{{- define "tickbridge.secretName" -}}
{{- if .Values.credentials.existingSecret }}
{{- .Values.credentials.existingSecret }}
{{- else if include "tickbridge.createSecret" . }}
{{- printf "%s-credentials" (include "tickbridge.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* "true" when the NATS sink authenticates with a token from the Secret. */}}
{{- define "tickbridge.natsToken" -}}
{{- $c := .Values.credentials }}
{{- if and (eq .Values.sink.kind "nats") (or (and (not $c.existingSecret) $c.natsToken) (and $c.existingSecret $c.existingSecretHasNatsToken)) }}true{{ end }}
{{- end }}

{{/* "true" when a NATS .creds file is mounted. */}}
{{- define "tickbridge.natsCreds" -}}
{{- $c := .Values.credentials }}
{{- if and (eq .Values.sink.kind "nats") (or (and (not $c.existingSecret) $c.natsCreds) (and $c.existingSecret $c.existingSecretHasNatsCreds)) }}true{{ end }}
{{- end }}

{{/*
Checks that make the chart refuse to render a configuration that cannot work.
Included by every template that is always rendered.
*/}}
{{- define "tickbridge.validate" -}}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- $drain := int .Values.config.shutdown.drainTimeoutSeconds }}
{{- if le $grace $drain }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than config.shutdown.drainTimeoutSeconds (%d): Kubernetes would SIGKILL tickbridge before its drain can finish and in-flight records would be lost" $grace $drain) }}
{{- end }}
{{- if not (has .Values.mode (list "standalone" "sidecar")) }}
{{- fail (printf "mode must be standalone or sidecar, got %q" .Values.mode) }}
{{- end }}
{{- if not (has .Values.sink.kind (list "stdout" "file" "kafka" "nats")) }}
{{- fail (printf "sink.kind must be one of stdout, file, kafka, nats, got %q" .Values.sink.kind) }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") .Values.metrics.serviceMonitor.enabled }}
{{- fail "metrics.serviceMonitor needs mode=standalone (a sidecar has no Service of its own); scrape the pod via metrics.podAnnotations or a PodMonitor in your chart" }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") .Values.podDisruptionBudget.enabled }}
{{- fail "podDisruptionBudget needs mode=standalone: in sidecar mode the pods are your workload's; give them your own PodDisruptionBudget" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: give minAvailable or maxUnavailable, not both (Kubernetes refuses a budget with both)" }}
{{- end }}
{{- if and (eq .Values.sink.kind "kafka") .Values.sink.kafka.sasl.enabled (not .Values.credentials.existingSecret) (not (and .Values.credentials.kafkaSaslUsername .Values.credentials.kafkaSaslPassword)) }}
{{- fail "sink.kafka.sasl.enabled needs credentials.kafkaSaslUsername and credentials.kafkaSaslPassword, or credentials.existingSecret" }}
{{- end }}
{{- if and (include "tickbridge.natsToken" .) (include "tickbridge.natsCreds" .) }}
{{- fail "NATS authentication: give a token or a .creds file, not both (credentials.natsToken / natsCreds, or existingSecretHasNatsToken / existingSecretHasNatsCreds)" }}
{{- end }}
{{- if and (eq .Values.sink.kind "kafka") (not .Values.sink.kafka.brokers) }}
{{- fail "sink.kind=kafka needs sink.kafka.brokers" }}
{{- end }}
{{- if and (eq .Values.sink.kind "nats") (not .Values.sink.nats.url) }}
{{- fail "sink.kind=nats needs sink.nats.url" }}
{{- end }}
{{- if and (not .Values.config.override) (not .Values.config.sources) }}
{{- fail "config.sources is empty: nothing to stream" }}
{{- end }}
{{- end }}

{{/*
config.toml. Strings go through toJson: a JSON string is a valid TOML basic string.
Only the selected sink's table is rendered.
*/}}
{{- define "tickbridge.configToml" -}}
{{- if .Values.config.override }}
{{- .Values.config.override }}
{{- else -}}
# Generated by the tickbridge Helm chart (mode: {{ .Values.mode }}). Do not edit: set chart values.
# ${VAR} / ${VAR:-default} are expanded by tickbridge from the container environment.
{{- range .Values.config.sources }}

[[source]]
exchange = {{ .exchange | toJson }}
market = {{ .market | toJson }}
channels = {{ .channels | toJson }}
symbols = {{ .symbols | toJson }}
{{- with .wsUrl }}
ws_url = {{ . | toJson }}
{{- end }}
{{- with .restUrl }}
rest_url = {{ . | toJson }}
{{- end }}
{{- end }}

[sink]
kind = {{ .Values.sink.kind | toJson }}
{{- if eq .Values.sink.kind "kafka" }}

[sink.kafka]
brokers = {{ .Values.sink.kafka.brokers | toJson }}
topic = {{ .Values.sink.kafka.topic | toJson }}
{{- $opts := dict }}
{{- with .Values.sink.kafka.sasl }}
{{- if .enabled }}
{{- $_ := set $opts "security.protocol" .securityProtocol }}
{{- $_ := set $opts "sasl.mechanism" .mechanism }}
{{- $_ := set $opts "sasl.username" "${KAFKA_SASL_USERNAME}" }}
{{- $_ := set $opts "sasl.password" "${KAFKA_SASL_PASSWORD}" }}
{{- end }}
{{- end }}
{{- $opts = merge (deepCopy (.Values.sink.kafka.options | default dict)) $opts }}
{{- with $opts }}

[sink.kafka.options]
{{- range $k, $v := . }}
{{ $k | toJson }} = {{ toString $v | toJson }}
{{- end }}
{{- end }}
{{- else if eq .Values.sink.kind "nats" }}

[sink.nats]
url = {{ .Values.sink.nats.url | toJson }}
subject = {{ .Values.sink.nats.subject | toJson }}
jetstream = {{ .Values.sink.nats.jetstream }}
{{- if include "tickbridge.natsToken" . }}
token = "${NATS_TOKEN}"
{{- end }}
{{- if include "tickbridge.natsCreds" . }}
credentials = "/etc/tickbridge/nats/nats.creds"
{{- end }}
{{- else if eq .Values.sink.kind "file" }}

[sink.file]
path = {{ .Values.sink.file.path | toJson }}
{{- end }}

[batch]
max_events = {{ int .Values.config.batch.maxEvents }}
linger = {{ .Values.config.batch.linger | toJson }}

[shutdown]
drain_timeout = "{{ int .Values.config.shutdown.drainTimeoutSeconds }}s"

[ops]
listen = "0.0.0.0:{{ int .Values.ops.port }}"
{{- with .Values.config.extraToml }}

{{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod annotations: Prometheus scrape hints and a config checksum (rolls pods on change). */}}
{{- define "tickbridge.podAnnotations" -}}
{{- if .Values.metrics.podAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.ops.port | quote }}
prometheus.io/path: /metrics
{{ end -}}
checksum/tickbridge-config: {{ include "tickbridge.configToml" . | sha256sum }}
{{- end }}

{{/*
The tickbridge container, without its name line and without restartPolicy: the body
shared by the standalone Deployment and the native sidecar.
*/}}
{{- define "tickbridge.containerBody" -}}
image: {{ include "tickbridge.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args: ["run"]
env:
  - name: TICKBRIDGE_CONFIG
    value: /etc/tickbridge/config.toml
{{- $secret := include "tickbridge.secretName" . }}
{{- if and $secret (eq .Values.sink.kind "kafka") .Values.sink.kafka.sasl.enabled }}
  - name: KAFKA_SASL_USERNAME
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: {{ .Values.credentials.keys.kafkaSaslUsername }}
  - name: KAFKA_SASL_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: {{ .Values.credentials.keys.kafkaSaslPassword }}
{{- end }}
{{- if include "tickbridge.natsToken" . }}
  - name: NATS_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: {{ .Values.credentials.keys.natsToken }}
{{- end }}
{{- with .Values.extraEnv }}
{{- toYaml . | nindent 2 }}
{{- end }}
ports:
  - name: ops
    containerPort: {{ .Values.ops.port }}
    protocol: TCP
{{- with .Values.probes.startup }}
{{- if .enabled }}
startupProbe:
  httpGet:
    path: {{ .path }}
    port: ops
  initialDelaySeconds: {{ .initialDelaySeconds }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- with .Values.probes.liveness }}
{{- if .enabled }}
livenessProbe:
  httpGet:
    path: {{ .path }}
    port: ops
  initialDelaySeconds: {{ .initialDelaySeconds }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- with .Values.probes.readiness }}
{{- if .enabled }}
readinessProbe:
  httpGet:
    path: {{ .path }}
    port: ops
  initialDelaySeconds: {{ .initialDelaySeconds }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- with .Values.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tickbridge-config
    mountPath: /etc/tickbridge/config.toml
    subPath: config.toml
    readOnly: true
  - name: tickbridge-tmp
    mountPath: /tmp
{{- if include "tickbridge.natsCreds" . }}
  - name: tickbridge-nats-creds
    mountPath: /etc/tickbridge/nats
    readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The standalone container: an item of a pod's `containers` list. */}}
{{- define "tickbridge.container" -}}
- name: tickbridge
  {{- include "tickbridge.containerBody" . | nindent 2 }}
{{- end }}

{{/*
The native sidecar: an item of a pod's `initContainers` list. `restartPolicy: Always`
makes it a sidecar (Kubernetes >= 1.29): it starts before the app containers (they
wait for its startup probe), keeps running beside them, restarts on its own, and is
stopped only after they have exited, so its drain still reaches the brokers.
*/}}
{{- define "tickbridge.sidecarContainer" -}}
- name: tickbridge
  restartPolicy: Always
  {{- include "tickbridge.containerBody" . | nindent 2 }}
{{- end }}

{{/* Volumes the tickbridge container mounts: items of a pod's `volumes` list. */}}
{{- define "tickbridge.volumes" -}}
- name: tickbridge-config
  configMap:
    name: {{ include "tickbridge.configMapName" . }}
- name: tickbridge-tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if include "tickbridge.natsCreds" . }}
- name: tickbridge-nats-creds
  secret:
    secretName: {{ include "tickbridge.secretName" . }}
    items:
      - key: {{ .Values.credentials.keys.natsCreds }}
        path: nats.creds
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Alias, for symmetry with tickbridge.sidecarContainer. */}}
{{- define "tickbridge.sidecarVolumes" -}}
{{- include "tickbridge.volumes" . }}
{{- end }}
