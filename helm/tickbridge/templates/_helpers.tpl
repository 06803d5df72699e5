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
{{- if and (not $c.existingSecret) (or $c.kafkaSaslUsername $c.kafkaSaslPassword $c.kafkaOidcClientSecret $c.natsToken $c.natsCreds) }}true{{ end }}
{{- end }}

{{/*
The data of the Secret the chart creates (secret.yaml), also hashed into the
checksum/tickbridge-secret pod annotation so that a credentials change rolls the pods.
*/}}
{{- define "tickbridge.secretData" -}}
{{- $c := .Values.credentials }}
{{- with $c.kafkaSaslUsername }}
{{ $c.keys.kafkaSaslUsername }}: {{ . | b64enc | quote }}
{{- end }}
{{- with $c.kafkaSaslPassword }}
{{ $c.keys.kafkaSaslPassword }}: {{ . | b64enc | quote }}
{{- end }}
{{- with $c.kafkaOidcClientSecret }}
{{ $c.keys.kafkaOidcClientSecret }}: {{ . | b64enc | quote }}
{{- end }}
{{- with $c.natsToken }}
{{ $c.keys.natsToken }}: {{ . | b64enc | quote }}
{{- end }}
{{- with $c.natsCreds }}
{{ $c.keys.natsCreds }}: {{ . | b64enc | quote }}
{{- end }}
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

{{/* "true" when the Kafka sink authenticates with SASL. */}}
{{- define "tickbridge.kafkaSasl" -}}
{{- if and (eq .Values.sink.kind "kafka") .Values.sink.kafka.sasl.enabled }}true{{ end }}
{{- end }}

{{/* "true" when the Kafka sink uses SASL OAUTHBEARER (OIDC). */}}
{{- define "tickbridge.kafkaOidc" -}}
{{- if and (include "tickbridge.kafkaSasl" .) (eq .Values.sink.kafka.sasl.mechanism "OAUTHBEARER") }}true{{ end }}
{{- end }}

{{/* "true" when the Kafka sink has a [sink.kafka.tls] table. */}}
{{- define "tickbridge.kafkaTls" -}}
{{- if and (eq .Values.sink.kind "kafka") .Values.sink.kafka.tls.enabled }}true{{ end }}
{{- end }}

{{/* "true" when a Kafka CA Secret is mounted. */}}
{{- define "tickbridge.kafkaTlsCa" -}}
{{- if and (include "tickbridge.kafkaTls" .) .Values.sink.kafka.tls.caSecret.name }}true{{ end }}
{{- end }}

{{/* "true" when a Kafka client certificate Secret (kubernetes.io/tls) is mounted. */}}
{{- define "tickbridge.kafkaTlsClient" -}}
{{- if and (include "tickbridge.kafkaTls" .) .Values.sink.kafka.tls.clientCertSecret.name }}true{{ end }}
{{- end }}

{{/* Kafka security_protocol, lowercase as the binary wants it. */}}
{{- define "tickbridge.kafkaSecurityProtocol" -}}
{{- if include "tickbridge.kafkaSasl" . }}
{{- .Values.sink.kafka.sasl.securityProtocol | lower }}
{{- else if include "tickbridge.kafkaTls" . }}ssl
{{- else }}plaintext
{{- end }}
{{- end }}

{{/* librdkafka properties the binary refuses in [sink.kafka.options], and the value to use instead. */}}
{{- define "tickbridge.kafkaReservedOptions" -}}
security.protocol: sink.kafka.sasl.securityProtocol (or sink.kafka.tls.enabled)
sasl.mechanism: sink.kafka.sasl.mechanism
sasl.mechanisms: sink.kafka.sasl.mechanism
sasl.username: credentials.kafkaSaslUsername
sasl.password: credentials.kafkaSaslPassword
ssl.key.password: an unencrypted key in sink.kafka.tls.clientCertSecret
sasl.oauthbearer.client.secret: credentials.kafkaOidcClientSecret
sasl.oauthbearer.method: sink.kafka.sasl.oidc
compression.type: sink.kafka.compression
enable.idempotence: nothing (always true)
acks: nothing (always all)
bootstrap.servers: sink.kafka.brokers
message.timeout.ms: config.extraToml [sink] delivery_timeout
delivery.timeout.ms: config.extraToml [sink] delivery_timeout
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
{{- if and .Values.standby.enabled (ne .Values.sink.kind "kafka") }}
{{- fail "standby.enabled needs sink.kind=kafka: leadership is held in a Kafka consumer group" }}
{{- end }}
{{- if and .Values.sharding.enabled (ne .Values.mode "standalone") }}
{{- fail "sharding.enabled needs mode=standalone: the shards are a StatefulSet of this chart's own" }}
{{- end }}
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
{{- $kafka := .Values.sink.kafka }}
{{- if and (include "tickbridge.kafkaSasl" .) (not (include "tickbridge.kafkaOidc" .)) (not .Values.credentials.existingSecret) (not (and .Values.credentials.kafkaSaslUsername .Values.credentials.kafkaSaslPassword)) }}
{{- fail "sink.kafka.sasl.enabled needs credentials.kafkaSaslUsername and credentials.kafkaSaslPassword, or credentials.existingSecret" }}
{{- end }}
{{- if include "tickbridge.kafkaOidc" . }}
{{- if not (and $kafka.sasl.oidc.tokenEndpoint $kafka.sasl.oidc.clientId) }}
{{- fail "sink.kafka.sasl.mechanism=OAUTHBEARER needs sink.kafka.sasl.oidc.tokenEndpoint and sink.kafka.sasl.oidc.clientId" }}
{{- end }}
{{- if and (not .Values.credentials.existingSecret) (not .Values.credentials.kafkaOidcClientSecret) }}
{{- fail "sink.kafka.sasl.mechanism=OAUTHBEARER needs credentials.kafkaOidcClientSecret, or credentials.existingSecret (key credentials.keys.kafkaOidcClientSecret)" }}
{{- end }}
{{- end }}
{{- if and (include "tickbridge.kafkaSasl" .) (include "tickbridge.kafkaTls" .) (ne $kafka.sasl.securityProtocol "SASL_SSL") }}
{{- fail (printf "sink.kafka.tls.enabled needs sink.kafka.sasl.securityProtocol=SASL_SSL with SASL (got %s, which does not use TLS)" $kafka.sasl.securityProtocol) }}
{{- end }}
{{- if eq .Values.sink.kind "kafka" }}
{{- $reserved := include "tickbridge.kafkaReservedOptions" . | fromYaml }}
{{- range $k, $_ := ($kafka.options | default dict) }}
{{- if hasKey $reserved $k }}
{{- fail (printf "sink.kafka.options.%s is refused (tickbridge owns it); use %s" $k (get $reserved $k)) }}
{{- end }}
{{- end }}
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
compression = {{ .Values.sink.kafka.compression | default "lz4" | toJson }}
security_protocol = {{ include "tickbridge.kafkaSecurityProtocol" . | toJson }}
{{- if include "tickbridge.kafkaTls" . }}
{{- with .Values.sink.kafka.tls }}

[sink.kafka.tls]
{{- if include "tickbridge.kafkaTlsCa" $ }}
ca_file = {{ printf "/etc/tickbridge/kafka-tls/ca/%s" (.caSecret.key | default "ca.crt") | toJson }}
{{- end }}
{{- if include "tickbridge.kafkaTlsClient" $ }}
cert_file = "/etc/tickbridge/kafka-tls/client/tls.crt"
key_file = "/etc/tickbridge/kafka-tls/client/tls.key"
{{- end }}
verify_hostname = {{ ternary "true" "false" (ne .verifyHostname false) }}
{{- end }}
{{- end }}
{{- if include "tickbridge.kafkaSasl" . }}
{{- with .Values.sink.kafka.sasl }}

[sink.kafka.sasl]
mechanism = {{ .mechanism | lower | toJson }}
{{- if eq .mechanism "OAUTHBEARER" }}

[sink.kafka.sasl.oidc]
token_endpoint = {{ .oidc.tokenEndpoint | toJson }}
client_id = {{ .oidc.clientId | toJson }}
client_secret = "${KAFKA_OIDC_CLIENT_SECRET}"
{{- with .oidc.scope }}
scope = {{ . | toJson }}
{{- end }}
{{- with .oidc.extensions }}
extensions = {{ . | toJson }}
{{- end }}
{{- else }}
username = "${KAFKA_SASL_USERNAME}"
password = "${KAFKA_SASL_PASSWORD}"
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.sink.kafka.options }}

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
{{- if or .Values.sharding.enabled .Values.standby.enabled }}

[cluster]
{{- if .Values.sharding.enabled }}
replicas = {{ int .Values.sharding.shards }}
shard_from_hostname = true
{{- end }}
{{- if .Values.standby.enabled }}
standby = true
group = {{ .Values.standby.group | default (include "tickbridge.fullname" .) | toJson }}
{{- end }}
{{- end }}
{{- with .Values.config.extraToml }}

{{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Pod annotations: Prometheus scrape hints, a config checksum and a checksum of the
chart-created Secret's data (either change rolls the pods). An existingSecret is not
read by the chart: its changes need a manual rollout (or a reloader).
*/}}
{{- define "tickbridge.podAnnotations" -}}
{{- if .Values.metrics.podAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.ops.port | quote }}
prometheus.io/path: /metrics
{{ end -}}
checksum/tickbridge-config: {{ include "tickbridge.configToml" . | sha256sum }}
{{- if include "tickbridge.createSecret" . }}
checksum/tickbridge-secret: {{ include "tickbridge.secretData" . | sha256sum }}
{{- end }}
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
{{- if and $secret (include "tickbridge.kafkaOidc" .) }}
  - name: KAFKA_OIDC_CLIENT_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: {{ .Values.credentials.keys.kafkaOidcClientSecret }}
{{- else if and $secret (include "tickbridge.kafkaSasl" .) }}
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
{{- if include "tickbridge.kafkaTlsCa" . }}
  - name: tickbridge-kafka-ca
    mountPath: /etc/tickbridge/kafka-tls/ca
    readOnly: true
{{- end }}
{{- if include "tickbridge.kafkaTlsClient" . }}
  - name: tickbridge-kafka-client-cert
    mountPath: /etc/tickbridge/kafka-tls/client
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
{{- if include "tickbridge.kafkaTlsCa" . }}
{{- $key := .Values.sink.kafka.tls.caSecret.key | default "ca.crt" }}
- name: tickbridge-kafka-ca
  secret:
    secretName: {{ .Values.sink.kafka.tls.caSecret.name }}
    items:
      - key: {{ $key }}
        path: {{ $key }}
{{- end }}
{{- if include "tickbridge.kafkaTlsClient" . }}
- name: tickbridge-kafka-client-cert
  secret:
    secretName: {{ .Values.sink.kafka.tls.clientCertSecret.name }}
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Alias, for symmetry with tickbridge.sidecarContainer. */}}
{{- define "tickbridge.sidecarVolumes" -}}
{{- include "tickbridge.volumes" . }}
{{- end }}
