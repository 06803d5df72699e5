#!/usr/bin/env python3
"""Mutation test for scripts/check-deploy.sh: every assertion must be able to fail.

For each mutation below, the deployment files (docker/, helm/, .dockerignore and the
check script) are copied to a scratch directory, one file is broken on purpose, and
check-deploy.sh is run there. The run must fail, and the assertions it names as
failed are collected. At the end, every assertion of the clean run must have been
failed by at least one mutation; the ones that never failed are listed.

    python3 helm/tools/check-deploy-mutations.py            # ~10 min on 2 cores
    python3 helm/tools/check-deploy-mutations.py -k docker  # only mutations whose id contains "docker"

Uses the helm that scripts/install-helm.sh provides (HELM=... to override).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COPY = ["docker", "helm", ".dockerignore", "scripts/check-deploy.sh", "scripts/install-helm.sh",
        "scripts/check-alerts.sh", "docs/alerts"]
# (the Go tools are built once into the cache; copies with the same source reuse them)

V = "helm/tickbridge/values.yaml"
H = "helm/tickbridge/templates/_helpers.tpl"
S = "helm/tickbridge/values.schema.json"
D = "docker/Dockerfile"
C = "docker/compose.yaml"
T = "docker/tickbridge.toml"
PDB = "helm/tickbridge/templates/poddisruptionbudget.yaml"
PM = "helm/tickbridge/templates/podmonitor.yaml"
PR = "helm/tickbridge/templates/prometheusrule.yaml"
DC = "helm/tickbridge/templates/dashboard-configmap.yaml"
RF = "helm/tickbridge/files/tickbridge-rules.yaml"
DF = "helm/tickbridge/files/tickbridge-dashboard.json"

# (id, file, old, new): `old` must occur in the file; every occurrence is replaced.
# A `new` of None deletes the lines containing `old`.
MUTATIONS = [
    # probes
    ("probe-liveness-path", V, "    path: /healthz\n    initialDelaySeconds: 0\n    periodSeconds: 10", "    path: /live\n    initialDelaySeconds: 0\n    periodSeconds: 10"),
    ("probe-readiness-path", V, "path: /readyz", "path: /healthz"),
    ("probe-startup-off", V, "  startup:\n    enabled: true", "  startup:\n    enabled: false"),
    ("probe-port", H, "    port: ops\n  initialDelaySeconds", "    port: 9100\n  initialDelaySeconds"),
    ("ops-port", V, "ops:\n  port: 9000", "ops:\n  port: 9001"),
    ("container-port-missing", H, "  - name: ops\n    containerPort: {{ .Values.ops.port }}\n    protocol: TCP\n", ""),
    # config wiring
    ("env-config", H, "    value: /etc/tickbridge/config.toml", "    value: /etc/tickbridge/other.toml"),
    ("mount-config", H, "    mountPath: /etc/tickbridge/config.toml", "    mountPath: /etc/tb/config.toml"),
    ("config-volume-name", H, "  configMap:\n    name: {{ include \"tickbridge.configMapName\" . }}", "  configMap:\n    name: wrong-config"),
    ("config-not-toml", H, "kind = {{ .Values.sink.kind | toJson }}", "kind = {{ .Values.sink.kind }}"),
    ("config-listen", H, 'listen = "0.0.0.0:{{ int .Values.ops.port }}"', 'listen = "0.0.0.0:9999"'),
    ("config-no-source", H, "[[source]]", "[[sources]]"),
    ("config-drain-render", H, 'drain_timeout = "{{ int .Values.config.shutdown.drainTimeoutSeconds }}s"', 'drain_timeout = "{{ int .Values.config.shutdown.drainTimeoutSeconds }}"'),
    ("default-sink", V, "  kind: stdout", "  kind: file"),
    ("tmp-volume", H, "  - name: tickbridge-tmp\n    mountPath: /tmp", "  - name: tickbridge-tmp\n    mountPath: /scratch"),
    ("tmp-not-emptydir", H, "  emptyDir:\n    sizeLimit: {{ .Values.tmpSizeLimit }}", "  configMap:\n    name: x"),
    # security
    ("sec-rorfs", V, "  readOnlyRootFilesystem: true", "  readOnlyRootFilesystem: false"),
    ("sec-ape", V, "  allowPrivilegeEscalation: false", "  allowPrivilegeEscalation: true"),
    ("sec-caps", V, "    drop: [ALL]", "    drop: [NET_RAW]"),
    ("sec-seccomp", V, "    type: RuntimeDefault", "    type: Unconfined"),
    ("sec-uid", V, "  runAsUser: 65532", "  runAsUser: 1000"),
    ("sec-nonroot-pod", V, "podSecurityContext:\n  runAsNonRoot: true", "podSecurityContext:\n  runAsNonRoot: false"),
    ("resources-empty", V, "resources:\n  requests:\n    cpu: 100m\n    memory: 128Mi\n  limits:\n    memory: 512Mi", "resources: {}"),
    ("sa-automount", V, "  automountServiceAccountToken: false", "  automountServiceAccountToken: true"),
    ("image-empty-tag", H, '{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}', '{{- printf "%s:" .Values.image.repository }}'),
    # grace period / drain
    ("grace-default", V, "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 25"),
    ("grace-check-removed", H, "{{- if le $grace $drain }}", "{{- if lt $grace 0 }}"),
    ("grace-not-rendered", "helm/tickbridge/templates/deployment.yaml", "      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}\n", ""),
    # schema
    ("schema-sink-enum", S, '"enum": [\n            "stdout",\n            "file",\n            "kafka",\n            "nats"\n          ]', '"minLength": 1'),
    ("schema-sink-open", S, '"sink": {\n      "type": "object",\n      "additionalProperties": false,', '"sink": {\n      "type": "object",\n      "additionalProperties": true,'),
    ("schema-mode-enum", S, '"enum": [\n        "standalone",\n        "sidecar"\n      ]', '"minLength": 1'),
    ("schema-open", S, '{\n  "$schema": "http://json-schema.org/draft-07/schema#",\n  "title": "tickbridge chart values",\n  "type": "object",\n  "additionalProperties": false,',
     '{\n  "$schema": "http://json-schema.org/draft-07/schema#",\n  "title": "tickbridge chart values",\n  "type": "object",\n  "additionalProperties": true,'),
    ("sm-sidecar-allowed", H, "{{- if and (eq .Values.mode \"sidecar\") .Values.metrics.serviceMonitor.enabled }}", "{{- if false }}"),
    # sidecar
    ("sidecar-restart-policy", H, "  restartPolicy: Always\n", ""),
    ("sidecar-in-containers", "helm/tickbridge/templates/sidecar-example.yaml", "      initContainers:\n        {{- include \"tickbridge.sidecarContainer\" . | nindent 8 }}\n      containers:\n",
     "      containers:\n        {{- include \"tickbridge.sidecarContainer\" . | nindent 8 }}\n"),
    ("sidecar-renders-deployment", "helm/tickbridge/templates/deployment.yaml", '{{- if eq .Values.mode "standalone" }}', "{{- if true }}"),
    ("sidecar-renders-service", "helm/tickbridge/templates/service.yaml", '{{- if and (eq .Values.mode "standalone") .Values.service.enabled }}', "{{- if true }}"),
    ("sidecar-snippet-missing", "helm/tickbridge/templates/sidecar-configmap.yaml", "  volumes.yaml: |", "  vols.yaml: |"),
    ("sidecar-snippet-differs", "helm/tickbridge/templates/sidecar-configmap.yaml", "  initContainers.yaml: |\n    {{- include \"tickbridge.sidecarContainer\" . | nindent 4 }}", "  initContainers.yaml: |\n    []"),
    ("sidecar-example-off", "helm/tickbridge/templates/sidecar-example.yaml", "and (eq .Values.mode \"sidecar\") .Values.sidecar.example.enabled", "false"),
    ("sidecar-example-no-app", "helm/tickbridge/templates/sidecar-example.yaml", "        - name: app\n", "        - name: tickbridge\n"),
    ("example-subcharts", "helm/examples/consumer-with-sidecar/values.yaml", "  terminationGracePeriodSeconds: 45", "  terminationGracePeriodSeconds: 46"),
    ("example-broken-dep", "helm/examples/consumer-with-sidecar/Chart.yaml", "    version: 0.1.0", "    version: 9.9.9"),
    ("example-sidecar-twice", "helm/examples/consumer-with-sidecar/templates/deployment.yaml", "      containers:\n", "      containers:\n        {{- include \"tickbridge.container\" $tb | nindent 8 }}\n"),
    ("patch-sidecar-twice", "helm/tickbridge/templates/sidecar-configmap.yaml", "          volumes:\n", "          containers:\n            {{- include \"tickbridge.container\" . | nindent 12 }}\n          volumes:\n"),
    ("example-no-sidecar", "helm/examples/consumer-with-sidecar/templates/deployment.yaml", '{{- include "tickbridge.sidecarContainer" $tb | nindent 8 }}', "[]"),
    # k8s strictness (manifestcheck) and lint
    ("k8s-unknown-field", H, "  restartPolicy: Always\n", "  restartPolicy: Always\n  restartPolicyy: Always\n"),
    ("k8s-wrong-type", "helm/tickbridge/templates/deployment.yaml", "  replicas: {{ .Values.replicaCount }}", "  replicas: \"{{ .Values.replicaCount }}\""),
    ("lint-fails", "helm/tickbridge/Chart.yaml", "version: 0.1.0", "version: not-semver"),
    # metrics
    ("scrape-off", V, "  podAnnotations: true", "  podAnnotations: false"),
    ("scrape-path", H, "prometheus.io/path: /metrics", "prometheus.io/path: /stats"),
    ("checksum-missing", H, "checksum/tickbridge-config:", "other/tickbridge-config:"),
    ("service-target", "helm/tickbridge/templates/service.yaml", "      targetPort: ops", "      targetPort: 9100"),
    ("service-selector", "helm/tickbridge/templates/service.yaml", '    {{- include "tickbridge.selectorLabels" . | nindent 4 }}', "    app: other"),
    ("deployment-selector", "helm/tickbridge/templates/deployment.yaml", '      {{- include "tickbridge.selectorLabels" . | nindent 6 }}\n  template:', "      app: other\n  template:"),
    ("sm-always", "helm/tickbridge/templates/servicemonitor.yaml", '{{- if and (eq .Values.mode "standalone") .Values.metrics.serviceMonitor.enabled }}', '{{- if eq .Values.mode "standalone" }}'),
    ("sm-never", "helm/tickbridge/templates/servicemonitor.yaml", '{{- if and (eq .Values.mode "standalone") .Values.metrics.serviceMonitor.enabled }}', "{{- if false }}"),
    ("sm-path", "helm/tickbridge/templates/servicemonitor.yaml", "      path: /metrics", "      path: /m"),
    ("sm-selector", "helm/tickbridge/templates/servicemonitor.yaml", '      {{- include "tickbridge.selectorLabels" . | nindent 6 }}', "      app: other"),
    # credentials
    ("secret-always", "helm/tickbridge/templates/secret.yaml", '{{- if include "tickbridge.createSecret" . }}', "{{- if true }}"),
    ("secret-key", "helm/tickbridge/templates/secret.yaml", "  {{ $c.keys.kafkaSaslPassword }}:", "  kafka-password:"),
    ("secret-env", H, "  - name: KAFKA_SASL_PASSWORD\n", "  - name: KAFKA_PASSWORD\n"),
    ("sasl-config", H, '"sasl.password" "${KAFKA_SASL_PASSWORD}"', '"sasl.password" "${KAFKA_PASSWORD}"'),
    ("secret-in-config", H, '"sasl.password" "${KAFKA_SASL_PASSWORD}"', '"sasl.password" $.Values.credentials.kafkaSaslPassword'),
    ("kafka-options", H, "{{ $k | toJson }} = {{ toString $v | toJson }}", "{{ $k }} = {{ toString $v | toJson }}"),
    ("kafka-options-missing", H, "[sink.kafka.options]", "[sink.kafka.opts]"),
    ("nats-jetstream", H, "jetstream = {{ .Values.sink.nats.jetstream }}", "jetstream = true"),
    ("nats-token-always", H, "{{- if include \"tickbridge.natsToken\" . }}\ntoken", "{{- if true }}\ntoken"),
    ("file-table", H, "[sink.file]", "[sink.files]"),
    ("brokers", H, "brokers = {{ .Values.sink.kafka.brokers | toJson }}", 'brokers = "localhost:9092"'),
    ("existing-secret-created", H, "{{- if and (not $c.existingSecret) (or $c.kafkaSaslUsername", "{{- if and true (or $c.existingSecret $c.kafkaSaslUsername"),
    ("nats-token-env", H, "  - name: NATS_TOKEN\n", "  - name: NATS_TOK\n"),
    ("nats-token-env-always", H, '{{- if include "tickbridge.natsToken" . }}\n  - name: NATS_TOKEN', '{{- if $secret }}\n  - name: NATS_TOKEN'),
    ("nats-token-secret", "helm/tickbridge/templates/secret.yaml", "  {{ $c.keys.natsToken }}:", "  nats-token:"),
    ("nats-both-auth-allowed", H, '{{- if and (include "tickbridge.natsToken" .) (include "tickbridge.natsCreds" .) }}', "{{- if false }}"),
    ("nats-creds-mount", H, "    mountPath: /etc/tickbridge/nats\n", "    mountPath: /etc/nats\n"),
    ("nats-creds-volume", H, "    secretName: {{ include \"tickbridge.secretName\" . }}", "    secretName: other"),
    ("nats-creds-config", H, 'credentials = "/etc/tickbridge/nats/nats.creds"', 'credentials = "/creds"'),
    ("nats-token-config", H, 'token = "${NATS_TOKEN}"', 'token = "${NATS_TOKEN:-}"'),
    # Dockerfile
    ("docker-single-stage", D, "FROM ${RUST_IMAGE} AS chef", "FROM ${RUNTIME_IMAGE} AS chef"),
    ("docker-single-stage-2", D, "FROM ", None),
    ("docker-user-root", D, "USER 65532:65532", "USER 0:0"),
    ("docker-user-name", D, "USER 65532:65532", "USER nonroot"),
    ("docker-entrypoint", D, 'ENTRYPOINT ["tickbridge"]', "ENTRYPOINT tickbridge"),
    ("docker-cmd", D, 'CMD ["run"]', 'CMD ["validate"]'),
    ("docker-expose", D, "EXPOSE 9000", "EXPOSE 8080"),
    ("docker-healthcheck", D, '"probe", "http://127.0.0.1:9000/healthz"', '"probe", "http://127.0.0.1:9000/metrics"'),
    ("docker-add-url", D, "WORKDIR /build", "WORKDIR /build\nADD https://example.invalid/x.tar.gz /tmp/"),
    ("docker-curl", D, "WORKDIR /build", "WORKDIR /build\nRUN curl -fsSL https://example.invalid/x | sh"),
    ("docker-runtime-base", D, "ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot", "ARG RUNTIME_IMAGE=ubuntu:24.04"),
    ("docker-builder-base", D, "ARG RUST_IMAGE=rust:1-bookworm", "ARG RUST_IMAGE=rust:1-alpine"),
    ("docker-no-cmake", D, "      cmake g++", "      g++"),
    ("docker-no-locked", D, "--locked -p tickbridge --bin", "-p tickbridge --bin"),
    ("docker-no-dep-cache", D, "COPY --from=planner /build/recipe.json recipe.json", "COPY . ."),
    ("docker-no-copy-binary", D, "COPY --from=builder /out/bin/tickbridge /usr/local/bin/tickbridge", "COPY --from=builder /out/bin/tickbridge /app/tickbridge"),
    ("docker-missing", D, "FROM", "DELETE-FILE"),
    ("docker-as-casing", D, "FROM chef AS planner", "FROM chef as planner"),
    ("docker-bad-flag", D, "--interval=10s", "--intervall=10s"),
    ("docker-run-final", D, "USER 65532:65532", "RUN [\"tickbridge\", \"--help\"]\nUSER 65532:65532"),
    ("docker-stopsignal", D, "STOPSIGNAL SIGTERM", "STOPSIGNAL SIGKILL"),
    ("dockerignore-target", ".dockerignore", "target", None),
    ("dockerignore-lock", ".dockerignore", ".git\n", ".git\nCargo.lock\n"),
    # compose
    ("compose-invalid", C, "services:", "services: ["),
    ("compose-read-only", C, "    read_only: true", "    read_only: false"),
    ("compose-tmpfs", C, "      - /tmp:size=64m,mode=1777", "      - /run:size=64m"),
    ("compose-user", C, '    user: "65532:65532"', '    user: "0:0"'),
    ("compose-caps", C, "    cap_drop: [ALL]", "    cap_drop: [NET_RAW]"),
    ("compose-config-env", C, "      TICKBRIDGE_CONFIG: /etc/tickbridge/config.toml", "      TICKBRIDGE_CONFIG: /etc/other.toml"),
    ("compose-config-rw", C, "config.toml:ro", "config.toml"),
    ("compose-grace", C, "    stop_grace_period: 30s", "    stop_grace_period: 20s"),
    ("compose-tb-health", C, '      test: ["CMD", "tickbridge", "probe", "http://127.0.0.1:9000/healthz"]', '      test: ["CMD", "true"]'),
    ("compose-no-health", C, "    healthcheck:", "    x-healthcheck:"),
    ("compose-depends", C, "        condition: service_healthy", "        condition: service_started"),
    ("compose-kafka-zk", C, "      KAFKA_PROCESS_ROLES: broker,controller", "      KAFKA_PROCESS_ROLES: broker"),
    ("compose-nats-nojs", C, '    command: ["-js", ', "    command: ["),
    ("compose-brokers", C, "      KAFKA_BROKERS: kafka:9092", "      KAFKA_BROKERS: localhost:9092"),
    ("compose-no-nats", C, "  nats:\n    image:", "  natsx:\n    image:"),
    ("toml-invalid", T, "[ops]", "[ops"),
    ("toml-listen", T, 'listen = "0.0.0.0:9000"', 'listen = "0.0.0.0:9001"'),
    ("toml-no-nats", T, "[sink.nats]", "[sink.natsx]"),
    # observability: PodDisruptionBudget, PodMonitor, PrometheusRule, dashboard, rules
    ("obs-pdb-always", PDB, "{{- if .Values.podDisruptionBudget.enabled }}", "{{- if true }}"),
    ("obs-pdb-never", PDB, "{{- if .Values.podDisruptionBudget.enabled }}", "{{- if false }}"),
    ("obs-pdb-invalid-yaml", PDB, "spec:\n", "spec: [\n"),
    ("obs-pdb-apiversion", PDB, "apiVersion: policy/v1", "apiVersion: policy/v1beta1"),
    ("obs-pdb-default-budget", PDB, "  maxUnavailable: 1\n", "  minAvailable: 1\n"),
    ("obs-pdb-min-ignored", PDB, "minAvailable: {{ $pdb.minAvailable | toJson }}", "maxUnavailable: 1"),
    ("obs-pdb-max-ignored", PDB, "maxUnavailable: {{ $pdb.maxUnavailable | toJson }}", "maxUnavailable: 1"),
    ("obs-pdb-selector", PDB, '      {{- include "tickbridge.selectorLabels" . | nindent 6 }}', "      app: other"),
    ("obs-pdb-namespace", PDB, "  namespace: {{ .Release.Namespace }}", "  namespace: default"),
    ("obs-pdb-sidecar-allowed", H, '{{- if and (eq .Values.mode "sidecar") .Values.podDisruptionBudget.enabled }}', "{{- if false }}"),
    ("obs-pdb-both-allowed", H, "{{- if and .Values.podDisruptionBudget.enabled (not (kindIs", "{{- if and false (not (kindIs"),
    ("obs-pdb-schema-pattern", S, '"pattern": "^[0-9]+%$"', '"pattern": ".*"'),
    ("obs-pm-always", PM, "{{- if .Values.metrics.podMonitor.enabled }}", "{{- if true }}"),
    ("obs-pm-never", PM, "{{- if .Values.metrics.podMonitor.enabled }}", "{{- if false }}"),
    ("obs-pm-invalid-yaml", PM, "  podMetricsEndpoints:", "  podMetricsEndpoints: ["),
    ("obs-pm-apiversion", PM, "apiVersion: monitoring.coreos.com/v1", "apiVersion: monitoring.coreos.com/v1alpha1"),
    ("obs-pm-selector", PM, '      {{- include "tickbridge.selectorLabels" . | nindent 6 }}', "      app: other"),
    ("obs-pm-selector-ignored", PM, "{{- if .Values.metrics.podMonitor.selector }}", "{{- if false }}"),
    ("obs-pm-port", PM, "    - port: ops", "    - port: metrics"),
    ("obs-pm-path", PM, "      path: /metrics", "      path: /m"),
    ("obs-pm-interval", PM, "      interval: {{ .Values.metrics.podMonitor.interval }}", "      interval: 30s"),
    ("obs-pm-timeout", PM, "      scrapeTimeout: {{ .Values.metrics.podMonitor.scrapeTimeout }}", "      scrapeTimeout: 5s"),
    ("obs-pm-namespace", PM, "      - {{ .Release.Namespace }}", "      - default"),
    ("obs-pm-labels", PM, "{{- with .Values.metrics.podMonitor.labels }}", "{{- with .Values.metrics.podMonitor.nolabels }}"),
    ("obs-pm-schema-open", S, '"podMonitor": {\n          "type": "object",\n          "additionalProperties": false',
     '"podMonitor": {\n          "type": "object",\n          "additionalProperties": true'),
    ("obs-sm-sidecar", "helm/tickbridge/templates/servicemonitor.yaml", '{{- if and (eq .Values.mode "standalone") .Values.metrics.serviceMonitor.enabled }}',
     "{{- if or .Values.metrics.podMonitor.enabled .Values.metrics.serviceMonitor.enabled }}"),
    ("obs-rules-always", PR, "{{- if .Values.metrics.prometheusRule.enabled }}", "{{- if true }}"),
    ("obs-rules-never", PR, "{{- if .Values.metrics.prometheusRule.enabled }}", "{{- if false }}"),
    ("obs-rules-apiversion", PR, "apiVersion: monitoring.coreos.com/v1", "apiVersion: monitoring.coreos.com/v1alpha1"),
    ("obs-rules-other-file", PR, '.Files.Get "files/tickbridge-rules.yaml"', '.Files.Get "files/none.yaml"'),
    ("obs-rules-templated", PR, '{{- $rules := .Files.Get "files/tickbridge-rules.yaml" | fromYaml }}',
     '{{- $rules := tpl (.Files.Get "files/tickbridge-rules.yaml") . | fromYaml }}'),
    ("obs-rules-extra-ignored", PR, "{{- if $extra }}", "{{- if false }}"),
    ("obs-rules-extra-wins", PR, '(merge (deepCopy ($r.labels | default dict)) $extra)', "(merge (deepCopy $extra) ($r.labels | default dict))"),
    ("obs-rules-labels", PR, "{{- with .Values.metrics.prometheusRule.labels }}", "{{- with .Values.metrics.prometheusRule.nolabels }}"),
    ("obs-rules-schema-open", S, '"prometheusRule": {\n          "type": "object",\n          "additionalProperties": false',
     '"prometheusRule": {\n          "type": "object",\n          "additionalProperties": true'),
    ("obs-rules-file-invalid", RF, "groups:", "groups: ["),
    ("obs-rules-file-test-fails", RF, "expr: tickbridge_connections_stale > 0", "expr: tickbridge_connections_stale > 1"),
    ("obs-dash-always", DC, "{{- if .Values.metrics.dashboard.enabled }}", "{{- if true }}"),
    ("obs-dash-never", DC, "{{- if .Values.metrics.dashboard.enabled }}", "{{- if false }}"),
    ("obs-dash-label", DC, "{{ .Values.metrics.dashboard.label }}: {{ .Values.metrics.dashboard.labelValue | quote }}", 'grafana_dashboard: "1"'),
    ("obs-dash-namespace", DC, "{{ .Values.metrics.dashboard.namespace | default .Release.Namespace }}", "{{ .Release.Namespace }}"),
    ("obs-dash-data", DC, '.Files.Get "files/tickbridge-dashboard.json"', '.Files.Get "files/tickbridge-rules.yaml"'),
    ("obs-dash-annotations", DC, "{{- with .Values.metrics.dashboard.annotations }}", "{{- with .Values.metrics.dashboard.noannotations }}"),
    ("obs-dash-file-invalid", DF, '"schemaVersion": 39,', '"schemaVersion": 39'),
]

def norm(name):
    return re.sub(r"\([^)]*\)", "()", name)

def prepare(dst):
    for rel in COPY:
        src = os.path.join(ROOT, rel)
        out = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
        else:
            shutil.copy2(src, out)

def run_check(dst, helm):
    env = dict(os.environ, HELM=helm)
    p = subprocess.run(["bash", os.path.join(dst, "scripts/check-deploy.sh")], env=env,
                       capture_output=True, text=True, timeout=600)
    failed = [l[len("FAILED: "):] for l in p.stdout.splitlines() if l.startswith("FAILED: ")]
    oks = [l.strip()[len("ok"):].strip() for l in p.stdout.splitlines() if l.startswith("  ok ")]
    return p.returncode, failed, oks, p.stdout + p.stderr

def mutate(mid, rel, old, new, helm):
    with tempfile.TemporaryDirectory(prefix=f"mut-{mid}-") as d:
        prepare(d)
        path = os.path.join(d, rel)
        text = open(path).read()
        if old not in text:
            return mid, None, [], f"mutation text not found in {rel}: {old!r}"
        if new == "DELETE-FILE":
            os.remove(path)
            text = None
        elif new is None:
            text = "".join(l for l in text.splitlines(True) if old not in l)
        else:
            text = text.replace(old, new)
        if text is not None:
            open(path, "w").write(text)
        rc, failed, _, out = run_check(d, helm)
        return mid, rc, failed, out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only mutations whose id contains this")
    ap.add_argument("-j", type=int, default=2)
    args = ap.parse_args()
    helm = os.environ.get("HELM") or subprocess.run(
        ["bash", os.path.join(ROOT, "scripts/install-helm.sh")], capture_output=True, text=True, check=True).stdout.strip()

    with tempfile.TemporaryDirectory(prefix="mut-clean-") as d:
        prepare(d)
        rc, failed, oks, out = run_check(d, helm)
    if rc != 0:
        print(out)
        sys.exit("clean run fails: fix check-deploy first")
    all_names = {norm(n) for n in oks}
    print(f"clean run: {len(oks)} assertions pass")

    todo = [m for m in MUTATIONS if args.k in m[0]]
    caught, bad = set(), []
    with ThreadPoolExecutor(args.j) as ex:
        for mid, rc, failed, out in ex.map(lambda m: mutate(*m, helm), todo):
            if rc is None:
                bad.append(mid); print(f"  ERROR {mid}: {out}")
            elif rc == 0 or not failed:
                bad.append(mid); print(f"  MISSED {mid}: check-deploy still passes")
            else:
                caught |= {norm(n) for n in failed}
                print(f"  caught {mid}: {len(failed)} failed, e.g. {failed[0]}")
    never = sorted(all_names - caught) if not args.k else []
    for n in never:
        print(f"  NEVER FAILED: {n}")
    print(f"mutations: {len(todo) - len(bad)} caught, {len(bad)} missed; "
          f"assertions never failed by a mutation: {len(never)}")
    sys.exit(1 if bad or never else 0)

if __name__ == "__main__":
    main()
