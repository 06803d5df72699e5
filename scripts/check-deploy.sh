#!/usr/bin/env bash
# CI check for tickbridge's deployment files: docker/ and helm/.
#
#   scripts/check-deploy.sh            # from anywhere; needs Go (to build helm once) and python3
#
# 1. helm lint --strict of helm/tickbridge in both modes (and the main sink variants);
# 2. helm template in both modes and with credentials / ServiceMonitor / custom drain
#    / sharded (StatefulSet) variants, plus the example consumer chart that includes the sidecar template;
# 3. every rendered manifest strictly decoded into the Kubernetes API types
#    (helm/tools/manifestcheck: unknown or misplaced fields fail);
# 4. renders that must be refused: terminationGracePeriodSeconds <= drain timeout,
#    values.schema.json violations (sink.kind=bogus, mode=bogus, unknown keys);
# 5. assertions over all of it, the Dockerfile (static), .dockerignore, compose.yaml
#    and the example tickbridge.toml, in Python;
# 6. observability: PodDisruptionBudget, PodMonitor, PrometheusRule and the Grafana
#    dashboard ConfigMap rendered off (default) and on, in both modes; the
#    PrometheusRule equals helm/tickbridge/files/tickbridge-rules.yaml and the
#    dashboard ConfigMap holds helm/tickbridge/files/tickbridge-dashboard.json;
#    scripts/check-alerts.sh (`promtool check rules`, `promtool test rules`, the
#    dashboard; with TICKBRIDGE_BIN also every metric name against a live /metrics).
# 7. Kafka security: SASL (SCRAM over SASL_SSL, OAUTHBEARER via OIDC) rendered as
#    security_protocol + [sink.kafka.sasl], TLS material from Secrets as [sink.kafka.tls]
#    with its volumes and read-only mounts (standalone and sidecar), compression, no
#    security.protocol / sasl.* / compression.type in [sink.kafka.options], the
#    checksum/tickbridge-secret annotation (changes with the password), and refusals
#    (unsupported mechanism or compression, owned librdkafka options, TLS over
#    SASL_PLAINTEXT, OAUTHBEARER without OIDC settings).
#
# Ends with "check-deploy: N passed, M failed" and exits non-zero if M > 0, after
# naming every failed assertion.
#
# Environment: TICKBRIDGE_CACHE (helm + manifestcheck binaries, default
# ~/.cache/tickbridge), HELM (use this helm binary), KEEP_WORK=1 (keep the renders),
# TICKBRIDGE_BIN=path/to/tickbridge (also run `tickbridge validate` on every rendered
# config.toml and on docker/tickbridge.toml: the chart and the binary agree on the
# config format; TLS renders get a generated CA + client certificate (openssl) in
# place of /etc/tickbridge/kafka-tls/..., which librdkafka loads; and check the
# alert/dashboard metric names against its /metrics). scripts/test.sh sets it.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/helm/tickbridge"
EXAMPLE="$ROOT/helm/examples/consumer-with-sidecar"
CACHE="${TICKBRIDGE_CACHE:-${HOME:-/root}/.cache/tickbridge}"

die() { echo "check-deploy: $*" >&2; echo "check-deploy: 0 passed, 1 failed"; exit 1; }

# --- tools -------------------------------------------------------------------------
if [[ -z "${HELM:-}" ]]; then
  HELM="$("$ROOT/scripts/install-helm.sh")" || die "could not install helm (scripts/install-helm.sh)"
fi
echo "check-deploy: helm $("$HELM" version --short 2>/dev/null) at $HELM"

PY=python3
command -v "$PY" >/dev/null || die "python3 not found"
pip_install() {
  "$PY" -m pip install -q "$@" 2>/dev/null \
    || "$PY" -m pip install -q --break-system-packages "$@" 2>/dev/null \
    || "$PY" -m pip install -q --user "$@"
}
if ! "$PY" -c 'import yaml' 2>/dev/null; then
  echo "check-deploy: installing PyYAML"
  pip_install pyyaml || die "PyYAML missing and pip install pyyaml failed"
fi
if ! "$PY" -c 'import tomllib' 2>/dev/null && ! "$PY" -c 'import tomli' 2>/dev/null; then
  pip_install tomli || die "no tomllib (python < 3.11) and pip install tomli failed"
fi

# Small Go tools, built into the cache and rebuilt when their source changes:
#   helm/tools/manifestcheck       strict decoding of manifests into k8s.io/api types
#   docker/tools/dockerfilecheck   BuildKit's Dockerfile parser + build checks
build_tool() {
  local name="$1" src="$2" bin="$CACHE/bin/$1" hash
  hash="$(cat "$src"/go.mod "$src"/go.sum "$src"/*.go | sha256sum | cut -c1-16)"
  if [[ ! -x "$bin" || "$(cat "$bin.hash" 2>/dev/null)" != "$hash" ]]; then
    command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
    command -v go >/dev/null || die "go not found (needed to build $src)"
    echo "check-deploy: building $name" >&2
    mkdir -p "$CACHE/bin"
    (cd "$src" && GOMODCACHE="${GOMODCACHE:-$CACHE/go/mod}" GOCACHE="${GOCACHE:-$CACHE/go/build}" \
       CGO_ENABLED=0 go build -trimpath -o "$bin" .) >&2 || die "building $src failed"
    echo "$hash" > "$bin.hash"
  fi
  echo "$bin"
}
MC_BIN="$(build_tool manifestcheck "$ROOT/helm/tools/manifestcheck")" || exit 1
DFC_BIN="$(build_tool dockerfilecheck "$ROOT/docker/tools/dockerfilecheck")" || exit 1

# --- renders -----------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")"
if [[ "${KEEP_WORK:-0}" == 1 ]]; then
  echo "check-deploy: renders kept in $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/r"

# run NAME CMD...: stdout -> r/NAME.out, stderr -> r/NAME.err, exit code -> r/NAME.rc
run() {
  local name="$1"; shift
  "$@" >"$WORK/r/$name.out" 2>"$WORK/r/$name.err"
  echo $? >"$WORK/r/$name.rc"
}
tpl() { local name="$1"; shift; run "$name" "$HELM" template tb "$CHART" --namespace md "$@"; }

run lint-standalone "$HELM" lint --strict "$CHART" --set mode=standalone
run lint-sidecar    "$HELM" lint --strict "$CHART" --set mode=sidecar
run lint-kafka      "$HELM" lint --strict "$CHART" --set sink.kind=kafka
run lint-kafka-secure "$HELM" lint --strict "$CHART" --set sink.kind=kafka --set sink.kafka.sasl.enabled=true \
                    --set credentials.existingSecret=kafka-auth --set sink.kafka.tls.enabled=true \
                    --set sink.kafka.tls.caSecret.name=kafka-ca --set sink.kafka.tls.clientCertSecret.name=kafka-client
run lint-nats       "$HELM" lint --strict "$CHART" --set mode=sidecar --set sink.kind=nats
OBS=(--set metrics.prometheusRule.enabled=true --set metrics.dashboard.enabled=true --set metrics.podMonitor.enabled=true)
run lint-obs-standalone "$HELM" lint --strict "$CHART" "${OBS[@]}" --set podDisruptionBudget.enabled=true
run lint-obs-sidecar    "$HELM" lint --strict "$CHART" --set mode=sidecar "${OBS[@]}"

tpl standalone          --set mode=standalone
tpl standalone-sm       --set mode=standalone --set metrics.serviceMonitor.enabled=true
tpl sidecar             --set mode=sidecar
tpl sidecar-example     --set mode=sidecar --set sidecar.example.enabled=true
tpl kafka               --set sink.kind=kafka --set 'sink.kafka.options.linger\.ms=5'
tpl kafka-zstd          --set sink.kind=kafka --set sink.kafka.compression=zstd
tpl sharded             --set sharding.enabled=true --set sharding.shards=3
tpl standby             --set sink.kind=kafka --set standby.enabled=true
tpl standby-sharded     --set sink.kind=kafka --set standby.enabled=true --set sharding.enabled=true --set sharding.shards=3
tpl nats                --set sink.kind=nats --set sink.nats.jetstream=false
tpl file                --set sink.kind=file
tpl kafka-sasl          --set sink.kind=kafka --set 'sink.kafka.brokers=k1:9092\,k2:9092' \
                        --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=SCRAM-SHA-512 \
                        --set credentials.kafkaSaslUsername=user --set credentials.kafkaSaslPassword=hunter2-secret
# the same with another password: only the Secret (and its checksum annotation) change
tpl kafka-sasl-pw2      --set sink.kind=kafka --set 'sink.kafka.brokers=k1:9092\,k2:9092' \
                        --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=SCRAM-SHA-512 \
                        --set credentials.kafkaSaslUsername=user --set credentials.kafkaSaslPassword=hunter3-secret
tpl kafka-sasl-default  --set sink.kind=kafka --set sink.kafka.sasl.enabled=true \
                        --set credentials.kafkaSaslUsername=user --set credentials.kafkaSaslPassword=pw
# mTLS: CA + client certificate (kubernetes.io/tls) from existing Secrets, no SASL
tpl kafka-tls           --set sink.kind=kafka --set sink.kafka.tls.enabled=true \
                        --set sink.kafka.tls.caSecret.name=kafka-ca --set sink.kafka.tls.clientCertSecret.name=kafka-client \
                        --set sink.kafka.tls.verifyHostname=false
# SASL SCRAM-SHA-256 over TLS with a private CA (custom key), credentials from an existing Secret
tpl kafka-sasl-tls      --set sink.kind=kafka --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=SCRAM-SHA-256 \
                        --set credentials.existingSecret=kafka-auth --set sink.kafka.tls.enabled=true \
                        --set sink.kafka.tls.caSecret.name=kafka-ca --set sink.kafka.tls.caSecret.key=ca.pem
# the TLS volumes reach the native sidecar too
tpl kafka-tls-sidecar   --set mode=sidecar --set sidecar.example.enabled=true --set sink.kind=kafka \
                        --set sink.kafka.tls.enabled=true --set sink.kafka.tls.caSecret.name=kafka-ca \
                        --set sink.kafka.tls.clientCertSecret.name=kafka-client
# OAUTHBEARER via OIDC, sidecar mode (the secret checksum in the patch and the example)
tpl kafka-oidc          --set mode=sidecar --set sidecar.example.enabled=true --set sink.kind=kafka \
                        --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=OAUTHBEARER \
                        --set sink.kafka.sasl.oidc.tokenEndpoint=https://idp.example/oauth2/token \
                        --set sink.kafka.sasl.oidc.clientId=tickbridge --set sink.kafka.sasl.oidc.scope=kafka \
                        --set credentials.kafkaOidcClientSecret=oidc-hunter2
tpl nats-existing       --set mode=sidecar --set sidecar.example.enabled=true --set sink.kind=nats \
                        --set credentials.existingSecret=nats-auth --set credentials.existingSecretHasNatsCreds=true
tpl nats-token          --set sink.kind=nats --set credentials.natsToken=s3cret
tpl drain-50            --set config.shutdown.drainTimeoutSeconds=50 --set terminationGracePeriodSeconds=60
# observability: PodDisruptionBudget, PodMonitor, PrometheusRule, dashboard ConfigMap
tpl pdb                 --set podDisruptionBudget.enabled=true
tpl pdb-min             --set podDisruptionBudget.enabled=true --set podDisruptionBudget.minAvailable=50% --set replicaCount=2
tpl pdb-max             --set podDisruptionBudget.enabled=true --set podDisruptionBudget.maxUnavailable=2 --set replicaCount=3
tpl sidecar-pm          --set mode=sidecar --set sidecar.example.enabled=true --set metrics.podMonitor.enabled=true
tpl sidecar-pm-sel      --set mode=sidecar --set metrics.podMonitor.enabled=true --set metrics.podMonitor.selector.app=my-app \
                        --set metrics.podMonitor.labels.release=prom --set metrics.podMonitor.interval=15s
tpl standalone-pm       --set metrics.podMonitor.enabled=true
tpl rules               --set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.labels.release=prom
tpl rules-extra         --set mode=sidecar --set metrics.prometheusRule.enabled=true \
                        --set metrics.prometheusRule.additionalRuleLabels.team=md --set metrics.prometheusRule.additionalRuleLabels.severity=page
tpl dashboard           --set metrics.dashboard.enabled=true
tpl dashboard-ns        --set mode=sidecar --set metrics.dashboard.enabled=true --set metrics.dashboard.namespace=monitoring \
                        --set metrics.dashboard.label=my_dashboards --set metrics.dashboard.labelValue=yes \
                        --set metrics.dashboard.annotations.grafana_folder=market-data
# must be refused
tpl bad-grace-equal     --set terminationGracePeriodSeconds=20
tpl bad-grace-less      --set config.shutdown.drainTimeoutSeconds=40
tpl bad-grace-sidecar   --set mode=sidecar --set terminationGracePeriodSeconds=15
tpl bad-sink            --set sink.kind=bogus
tpl bad-mode            --set mode=bogus
tpl bad-unknown-key     --set sink.kafak.brokers=x:9092
tpl bad-unknown-top     --set replicas=2
tpl bad-sm-sidecar      --set mode=sidecar --set metrics.serviceMonitor.enabled=true
tpl bad-nats-both-auth  --set sink.kind=nats --set credentials.natsToken=t --set credentials.natsCreds=c
tpl bad-pdb-sidecar     --set mode=sidecar --set podDisruptionBudget.enabled=true
tpl bad-shard-sidecar   --set mode=sidecar --set sharding.enabled=true
tpl bad-shard-zero      --set sharding.enabled=true --set sharding.shards=0
tpl bad-standby-nats    --set sink.kind=nats --set standby.enabled=true
tpl bad-pdb-both        --set podDisruptionBudget.enabled=true --set podDisruptionBudget.minAvailable=1 --set podDisruptionBudget.maxUnavailable=1
tpl bad-pdb-value       --set podDisruptionBudget.enabled=true --set podDisruptionBudget.minAvailable=half
tpl bad-pm-key          --set metrics.podMonitor.enabled=true --set metrics.podMonitor.port=metrics
tpl bad-rule-key        --set metrics.prometheusRule.enable=true
tpl bad-kafka-mechanism --set sink.kind=kafka --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=GSSAPI \
                        --set credentials.kafkaSaslUsername=u --set credentials.kafkaSaslPassword=p
tpl bad-kafka-compression --set sink.kind=kafka --set sink.kafka.compression=brotli
tpl bad-kafka-opt-sasl  --set sink.kind=kafka --set 'sink.kafka.options.sasl\.password=hunter2'
tpl bad-kafka-opt-compression --set sink.kind=kafka --set 'sink.kafka.options.compression\.type=zstd'
tpl bad-kafka-opt-protocol --set sink.kind=kafka --set 'sink.kafka.options.security\.protocol=SASL_SSL'
tpl bad-kafka-tls-plaintext --set sink.kind=kafka --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.securityProtocol=SASL_PLAINTEXT \
                        --set credentials.kafkaSaslUsername=u --set credentials.kafkaSaslPassword=p --set sink.kafka.tls.enabled=true
tpl bad-kafka-oidc      --set sink.kind=kafka --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=OAUTHBEARER \
                        --set credentials.kafkaOidcClientSecret=s
tpl bad-kafka-oidc-secret --set sink.kind=kafka --set sink.kafka.sasl.enabled=true --set sink.kafka.sasl.mechanism=OAUTHBEARER \
                        --set sink.kafka.sasl.oidc.tokenEndpoint=https://idp/token --set sink.kafka.sasl.oidc.clientId=c
tpl bad-kafka-tls-key   --set sink.kind=kafka --set sink.kafka.tls.enabled=true --set sink.kafka.tls.clientCertSecret.key=cert

# the example consumer chart (tickbridge as a dependency, sidecar via .Subcharts)
cp -r "$EXAMPLE" "$WORK/example"
rm -rf "$WORK/example/charts" "$WORK/example/Chart.lock"
sed -i "s#file://../../tickbridge#file://$CHART#" "$WORK/example/Chart.yaml"
run example-dep "$HELM" dependency build "$WORK/example"
run example "$HELM" template demo "$WORK/example" --namespace md

run dockerfilecheck "$DFC_BIN" "$ROOT/docker/Dockerfile"
# alert rules (promtool check + test) and dashboard; live /metrics names with TICKBRIDGE_BIN
run check-alerts "$ROOT/scripts/check-alerts.sh"

for f in "$WORK"/r/*.out; do
  name="$(basename "$f" .out)"
  case "$name" in lint-*|bad-*|example-dep|mc-*|dockerfilecheck|check-alerts) continue ;; esac
  [[ "$(cat "$WORK/r/$name.rc")" == 0 ]] || continue
  run "mc-$name" "$MC_BIN" "$f"
done

# --- assertions --------------------------------------------------------------------
cat >"$WORK/assert.py" <<'PYEOF'
import json, os, re, shlex, sys

import yaml
try:
    import tomllib
except ImportError:  # python < 3.11
    import tomli as tomllib

ROOT, WORK = sys.argv[1], sys.argv[2]
R = os.path.join(WORK, "r")
PORT = 9000
UID = 65532
passed, failed = 0, []


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed.append(name)
        print(f"  FAIL  {name}" + (f": {detail}" if detail else ""))
    return bool(cond)


def section(title):
    print(f"\n== {title}")


def read(name, ext):
    try:
        with open(os.path.join(R, f"{name}.{ext}")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def rc(name):
    s = read(name, "rc").strip()
    return int(s) if s else None


def docs(name):
    try:
        return [d for d in yaml.safe_load_all(read(name, "out")) if d]
    except yaml.YAMLError as e:
        print(f"  (render {name} is not YAML: {e})")
        return []


def load(text, what):
    try:
        return yaml.safe_load(text or "")
    except yaml.YAMLError as e:
        print(f"  ({what} is not YAML: {e})")
        return None


def of_kind(ds, kind):
    return [d for d in ds if d.get("kind") == kind]


def get(d, *path, default=None):
    for p in path:
        if isinstance(d, dict) and p in d:
            d = d[p]
        elif isinstance(d, list) and isinstance(p, int) and -len(d) <= p < len(d):
            d = d[p]
        else:
            return default
    return d


def named(items, name):
    return next((i for i in (items or []) if i.get("name") == name), None)


def seconds(s):
    m = re.fullmatch(r"\s*(\d+)\s*s\s*", str(s))
    return int(m.group(1)) if m else None


def config_of(ds, volumes):
    """The config.toml of the ConfigMap that the tickbridge-config volume refers to."""
    vol = named(volumes, "tickbridge-config")
    cm_name = get(vol, "configMap", "name")
    cm = next((d for d in of_kind(ds, "ConfigMap") if get(d, "metadata", "name") == cm_name), None)
    text = get(cm, "data", "config.toml")
    if text is None:
        return None, None
    try:
        return cm_name, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        print(f"  (config.toml of {cm_name} is not TOML: {e})")
        return cm_name, None


def matches(selector, labels):
    """A non-empty label selector that the labels satisfy."""
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def port_number(c, port):
    if isinstance(port, int):
        return port
    p = named(c.get("ports"), port)
    return p.get("containerPort") if p else None


def check_container(where, c, pod_spec, ds):
    """The tickbridge container: probes, config, security, /tmp."""
    probes = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in probes.items():
        p = c.get(probe) or {}
        got_port = port_number(c, get(p, "httpGet", "port"))
        check(f"{where}: {probe} is httpGet {path} on port {PORT}",
              get(p, "httpGet", "path") == path and got_port == PORT,
              f"got path={get(p, 'httpGet', 'path')} port={got_port}")
    check(f"{where}: container port {PORT} declared",
          any(p.get("containerPort") == PORT for p in c.get("ports") or []))
    env = {e.get("name"): e for e in c.get("env") or []}
    check(f"{where}: TICKBRIDGE_CONFIG=/etc/tickbridge/config.toml",
          get(env, "TICKBRIDGE_CONFIG", "value") == "/etc/tickbridge/config.toml")
    mounts = c.get("volumeMounts") or []
    cfg_mount = next((m for m in mounts if m.get("mountPath") in
                      ("/etc/tickbridge/config.toml", "/etc/tickbridge")), None)
    vols = pod_spec.get("volumes") or []
    cfg_vol = named(vols, get(cfg_mount, "name"))
    cm_names = [get(d, "metadata", "name") for d in of_kind(ds, "ConfigMap")]
    check(f"{where}: config.toml mounted from the rendered ConfigMap",
          cfg_mount is not None and get(cfg_vol, "configMap", "name") in cm_names
          and (cfg_mount.get("mountPath") == "/etc/tickbridge" or cfg_mount.get("subPath") == "config.toml"),
          f"mount={cfg_mount} volume={cfg_vol}")
    tmp = next((m for m in mounts if m.get("mountPath") == "/tmp"), None)
    check(f"{where}: /tmp is an emptyDir", tmp is not None and "emptyDir" in (named(vols, tmp.get("name")) or {}))
    sc = c.get("securityContext") or {}
    psc = pod_spec.get("securityContext") or {}
    eff = lambda k: sc.get(k, psc.get(k))
    check(f"{where}: runAsNonRoot", eff("runAsNonRoot") is True)
    check(f"{where}: runAsUser {UID}", eff("runAsUser") == UID, f"got {eff('runAsUser')}")
    check(f"{where}: readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True)
    check(f"{where}: allowPrivilegeEscalation false", sc.get("allowPrivilegeEscalation") is False)
    check(f"{where}: capabilities drop ALL", "ALL" in (get(sc, "capabilities", "drop") or []))
    check(f"{where}: seccompProfile RuntimeDefault", get(eff("seccompProfile") or {}, "type") == "RuntimeDefault")
    check(f"{where}: resources requests and limits set",
          bool(get(c, "resources", "requests")) and bool(get(c, "resources", "limits")))
    name, cfg = config_of(ds, vols)
    check(f"{where}: config.toml parses as TOML", cfg is not None)
    cfg = cfg or {}
    drain = seconds(get(cfg, "shutdown", "drain_timeout"))
    grace = pod_spec.get("terminationGracePeriodSeconds")
    check(f"{where}: terminationGracePeriodSeconds ({grace}) > drain_timeout ({drain}s)",
          isinstance(grace, int) and drain is not None and grace > drain)
    check(f"{where}: config ops.listen on port {PORT}",
          str(get(cfg, "ops", "listen", default="")).endswith(f":{PORT}"))
    check(f"{where}: config sink.kind valid",
          get(cfg, "sink", "kind") in ("stdout", "file", "kafka", "nats"))
    return cfg


def check_scrape(where, annotations):
    a = annotations or {}
    check(f"{where}: prometheus.io scrape/port/path annotations",
          a.get("prometheus.io/scrape") == "true" and a.get("prometheus.io/port") == str(PORT)
          and a.get("prometheus.io/path") == "/metrics", f"got {a}")


def sidecar_of(where, pod_spec):
    ic = named(pod_spec.get("initContainers"), "tickbridge")
    check(f"{where}: initContainer tickbridge with restartPolicy Always",
          ic is not None and ic.get("restartPolicy") == "Always",
          f"initContainers={[i.get('name') for i in pod_spec.get('initContainers') or []]}")
    check(f"{where}: tickbridge not among the app containers",
          named(pod_spec.get("containers"), "tickbridge") is None)
    return ic


def observability_checks():
    """PodDisruptionBudget, PodMonitor, PrometheusRule, dashboard ConfigMap: off and on."""
    rules_file = os.path.join(ROOT, "helm", "tickbridge", "files", "tickbridge-rules.yaml")
    dash_file = os.path.join(ROOT, "helm", "tickbridge", "files", "tickbridge-dashboard.json")
    extra_kinds = ("PodDisruptionBudget", "PodMonitor", "PrometheusRule")

    section("observability objects are off by default")
    for name in ("standalone", "sidecar", "sidecar-example", "kafka", "nats", "example"):
        ds = docs(name)
        got = [d.get("kind") for d in ds if d.get("kind") in extra_kinds]
        got += ["dashboard ConfigMap" for d in of_kind(ds, "ConfigMap") if "tickbridge.json" in (d.get("data") or {})]
        check(f"{name}: no PodDisruptionBudget, PodMonitor, PrometheusRule or dashboard", bool(ds) and not got, f"{got}")

    section("PodDisruptionBudget (standalone)")
    for name, want in (("pdb", {"maxUnavailable": 1}), ("pdb-min", {"minAvailable": "50%"}), ("pdb-max", {"maxUnavailable": 2})):
        check(f"{name} renders", rc(name) == 0, read(name, "err")[-600:])
        ds = docs(name)
        pdbs = of_kind(ds, "PodDisruptionBudget")
        pdb = pdbs[0] if pdbs else {}
        dep = (of_kind(ds, "Deployment") or [{}])[0]
        pod_labels = get(dep, "spec", "template", "metadata", "labels") or {}
        check(f"{name}: one policy/v1 PodDisruptionBudget", len(pdbs) == 1 and pdb.get("apiVersion") == "policy/v1")
        spec = pdb.get("spec") or {}
        check(f"{name}: budget {want} and nothing else",
              {k: spec.get(k) for k in ("minAvailable", "maxUnavailable") if k in spec} == want, f"{spec}")
        check(f"{name}: selects the Deployment's pods (and only with its selector)",
              matches(get(spec, "selector", "matchLabels"), pod_labels)
              and get(spec, "selector", "matchLabels") == get(dep, "spec", "selector", "matchLabels"))
        check(f"{name}: in the release namespace", get(pdb, "metadata", "namespace") == "md")

    section("PodMonitor")
    check("sidecar-pm renders", rc("sidecar-pm") == 0, read("sidecar-pm", "err")[-600:])
    ds = docs("sidecar-pm")
    pms = of_kind(ds, "PodMonitor")
    pm = pms[0] if pms else {}
    check("sidecar-pm: one PodMonitor (monitoring.coreos.com/v1)",
          len(pms) == 1 and pm.get("apiVersion") == "monitoring.coreos.com/v1")
    ex = (of_kind(ds, "Deployment") or [{}])[0]
    ex_labels = get(ex, "spec", "template", "metadata", "labels") or {}
    check("sidecar-pm: selects the sidecar example's pods",
          matches(get(pm, "spec", "selector", "matchLabels"), ex_labels), f"{get(pm, 'spec', 'selector')}")
    ep = get(pm, "spec", "podMetricsEndpoints", 0) or {}
    ic = named(get(ex, "spec", "template", "spec", "initContainers"), "tickbridge") or {}
    check("sidecar-pm: scrapes the sidecar's named port ops, path /metrics",
          ep.get("port") == "ops" and ep.get("path") == "/metrics"
          and any(p.get("name") == "ops" and p.get("containerPort") == PORT for p in ic.get("ports") or []))
    check("sidecar-pm: interval/scrapeTimeout from values (30s/10s)",
          ep.get("interval") == "30s" and ep.get("scrapeTimeout") == "10s")
    check("sidecar-pm: namespaceSelector is the release namespace",
          get(pm, "spec", "namespaceSelector", "matchNames") == ["md"])
    check("sidecar-pm: no ServiceMonitor in sidecar mode", not of_kind(ds, "ServiceMonitor"))
    ds = docs("sidecar-pm-sel")
    pm = (of_kind(ds, "PodMonitor") or [{}])[0]
    check("sidecar-pm-sel: metrics.podMonitor.selector replaces the default selector",
          rc("sidecar-pm-sel") == 0 and get(pm, "spec", "selector", "matchLabels") == {"app": "my-app"})
    check("sidecar-pm-sel: labels and interval from values",
          get(pm, "metadata", "labels", "release") == "prom" and get(pm, "spec", "podMetricsEndpoints", 0, "interval") == "15s")
    ds = docs("standalone-pm")
    pm = (of_kind(ds, "PodMonitor") or [{}])[0]
    dep = (of_kind(ds, "Deployment") or [{}])[0]
    check("standalone-pm: a PodMonitor selecting the Deployment's pods",
          rc("standalone-pm") == 0 and matches(get(pm, "spec", "selector", "matchLabels"),
                                               get(dep, "spec", "template", "metadata", "labels")))

    section("PrometheusRule (from helm/tickbridge/files/tickbridge-rules.yaml)")
    try:
        file_groups = yaml.safe_load(open(rules_file))["groups"]
    except Exception as e:  # noqa: BLE001
        file_groups = None
        print(f"  ({e})")
    check("tickbridge-rules.yaml parses, with groups", bool(file_groups))
    check("rules renders", rc("rules") == 0, read("rules", "err")[-600:])
    prs = of_kind(docs("rules"), "PrometheusRule")
    pr = prs[0] if prs else {}
    check("rules: one PrometheusRule (monitoring.coreos.com/v1)",
          len(prs) == 1 and pr.get("apiVersion") == "monitoring.coreos.com/v1")
    check("rules: spec.groups == the plain rules file's groups (one source of truth)",
          file_groups is not None and get(pr, "spec", "groups") == file_groups)
    check("rules: object labels from values", get(pr, "metadata", "labels", "release") == "prom")
    check("rules: annotations keep Prometheus templates ({{ $labels.* }}, {{ $value }})",
          "{{ $labels." in json.dumps(get(pr, "spec", "groups")) and "{{ $value" in json.dumps(get(pr, "spec", "groups")))
    pr = (of_kind(docs("rules-extra"), "PrometheusRule") or [{}])[0]
    rules_x = [r for g in get(pr, "spec", "groups", default=[]) or [] for r in g.get("rules", [])]
    rules_f = [r for g in file_groups or [] for r in g.get("rules", [])]
    check("rules-extra (sidecar mode): additionalRuleLabels on every rule, the rule's own severity wins",
          rc("rules-extra") == 0 and len(rules_x) == len(rules_f) > 0
          and all(rx.get("labels", {}).get("team") == "md" and rx["labels"].get("severity") == rf["labels"]["severity"]
                  and rx["expr"] == rf["expr"] for rx, rf in zip(rules_x, rules_f)))

    section("Grafana dashboard ConfigMap (from helm/tickbridge/files/tickbridge-dashboard.json)")
    try:
        dash = json.load(open(dash_file))
    except Exception as e:  # noqa: BLE001
        dash = None
        print(f"  ({e})")
    for name, ns, label, value in (("dashboard", "md", "grafana_dashboard", "1"),
                                   ("dashboard-ns", "monitoring", "my_dashboards", "yes")):
        check(f"{name} renders", rc(name) == 0, read(name, "err")[-600:])
        cms = [d for d in of_kind(docs(name), "ConfigMap") if "tickbridge.json" in (d.get("data") or {})]
        cm = cms[0] if cms else {}
        check(f"{name}: one dashboard ConfigMap labelled {label}={value!r}",
              len(cms) == 1 and get(cm, "metadata", "labels", label) == value)
        check(f"{name}: namespace {ns}", get(cm, "metadata", "namespace") == ns)
        try:
            got = json.loads(get(cm, "data", "tickbridge.json") or "")
        except ValueError:
            got = None
        check(f"{name}: data tickbridge.json == the dashboard file", dash is not None and got == dash)
    cm = next((d for d in of_kind(docs("dashboard-ns"), "ConfigMap") if "tickbridge.json" in (d.get("data") or {})), {})
    check("dashboard-ns: annotations from values", get(cm, "metadata", "annotations", "grafana_folder") == "market-data")

    section("alert rules and dashboard (scripts/check-alerts.sh: promtool check/test rules, dashboard"
            + (", live /metrics)" if os.environ.get("TICKBRIDGE_BIN") else ")"))
    out = read("check-alerts", "out")
    m = re.search(r"check-alerts: (\d+) passed, (\d+) failed", out)
    check("scripts/check-alerts.sh passes", rc("check-alerts") == 0 and m is not None,
          "\n" + "\n".join("        " + l.strip() for l in (out + read("check-alerts", "err")).splitlines()
                         if "FAIL" in l or "check-alerts:" in l) + "\n        (details: scripts/check-alerts.sh)")
    if m:
        print(f"        ({m.group(1)} checks passed there, {m.group(2)} failed)")


def sharding_checks():
    section("sharded mode (a StatefulSet of shards, [cluster])")
    check("sharded renders", rc("sharded") == 0, read("sharded", "err")[-600:])
    ds = docs("sharded") or []
    sts = of_kind(ds, "StatefulSet")
    check("sharded: one StatefulSet, no Deployment", len(sts) == 1 and not of_kind(ds, "Deployment"),
          f"{[d.get('kind') for d in ds]}")
    if not sts:
        return
    spec = get(sts[0], "spec") or {}
    check("sharded: replicas = sharding.shards (3)", spec.get("replicas") == 3, f"{spec.get('replicas')}")
    check("sharded: pods started and replaced in parallel", spec.get("podManagementPolicy") == "Parallel")
    svc = [get(d, "metadata", "name") for d in of_kind(ds, "Service")]
    check("sharded: serviceName is the chart's Service", spec.get("serviceName") in svc, f"{spec.get('serviceName')} {svc}")
    pod = get(spec, "template", "spec") or {}
    _, cfg = config_of(ds, pod.get("volumes"))
    cluster = (cfg or {}).get("cluster") or {}
    check("sharded: config.toml has [cluster] replicas = 3, shard_from_hostname = true",
          cluster == {"replicas": 3, "shard_from_hostname": True}, f"{cluster}")
    c = named(pod.get("containers"), "tickbridge")
    check("sharded: the tickbridge container is the standalone one", c is not None)


def standby_checks():
    section("hot standby ([cluster] standby: replicas of one config, one publishing)")
    check("standby renders", rc("standby") == 0, read("standby", "err")[-600:])
    ds = docs("standby") or []
    deps = of_kind(ds, "Deployment")
    check("standby: one Deployment", len(deps) == 1, f"{[d.get('kind') for d in ds]}")
    if not deps:
        return
    spec = get(deps[0], "spec") or {}
    check("standby: replicas = standby.replicas (2)", spec.get("replicas") == 2, f"{spec.get('replicas')}")
    ru = get(spec, "strategy", "rollingUpdate") or {}
    check("standby: a rolling update starts the new standby before stopping the leader",
          ru.get("maxSurge") == 1 and ru.get("maxUnavailable") == 0, f"{ru}")
    pod = get(spec, "template", "spec") or {}
    _, cfg = config_of(ds, pod.get("volumes"))
    cluster = (cfg or {}).get("cluster") or {}
    check("standby: config.toml has [cluster] standby = true and the release's group",
          cluster == {"standby": True, "group": "tb-tickbridge"}, f"{cluster}")
    bad, why = "bad-standby-nats", "needs sink.kind=kafka"
    check(f"{bad}: refused ({why})", rc(bad) != 0 and why in read(bad, "err"), read(bad, "err")[-300:])
    # Sharded and standby: every shard twice in one StatefulSet.
    check("standby-sharded renders", rc("standby-sharded") == 0, read("standby-sharded", "err")[-600:])
    sts = of_kind(docs("standby-sharded") or [], "StatefulSet")
    spec = get(sts, 0, "spec", default={}) or {}
    check("standby-sharded: replicas = shards x standby.replicas (6)", spec.get("replicas") == 6,
          f"{spec.get('replicas')}")
    pod = get(spec, "template", "spec") or {}
    _, cfg = config_of(docs("standby-sharded") or [], pod.get("volumes"))
    cluster = (cfg or {}).get("cluster") or {}
    check("standby-sharded: one [cluster] with replicas, shard_from_hostname, standby and group",
          cluster == {"replicas": 3, "shard_from_hostname": True, "standby": True, "group": "tb-tickbridge"},
          f"{cluster}")


def kafka_security_checks():
    """Kafka SASL / TLS / compression renders: the binary's fields, Secrets mounted, checksums."""
    RESERVED = ("security.protocol", "sasl.", "ssl.key.password", "compression.type")

    def kafka_of(name, containers="containers"):
        ds = docs(name)
        deps = of_kind(ds, "Deployment")
        spec = get(deps, 0, "spec", "template", "spec", default={}) or {}
        c = named(spec.get(containers), "tickbridge") or {}
        _, cfg = config_of(ds, spec.get("volumes"))
        return ds, deps[0] if deps else {}, spec, c, get(cfg or {}, "sink", "kafka", default={}) or {}

    def no_reserved_options(name, k):
        bad = [o for o in (k.get("options") or {}) if o.startswith(RESERVED)]
        check(f"{name}: no security.protocol / sasl.* / ssl.key.password / compression.type in [sink.kafka.options]",
              not bad, f"{bad}")

    def annotations(dep):
        return get(dep, "spec", "template", "metadata", "annotations") or {}

    section("kafka compression")
    check("kafka-zstd renders", rc("kafka-zstd") == 0, read("kafka-zstd", "err")[-600:])
    _, _, _, _, k = kafka_of("kafka-zstd")
    check("kafka-zstd: sink.kafka.compression=zstd rendered as compression = \"zstd\"", k.get("compression") == "zstd", f"{k}")
    no_reserved_options("kafka-zstd", k)

    section("kafka SASL (SCRAM-SHA-512 over SASL_SSL) and the secret checksum")
    for name in ("kafka-sasl", "kafka-sasl-pw2", "kafka-sasl-default"):
        check(f"{name} renders", rc(name) == 0, read(name, "err")[-600:])
        _, dep, _, _, k = kafka_of(name)
        no_reserved_options(name, k)
        check(f"{name}: pod has a checksum/tickbridge-secret annotation (a 64-hex sha256)",
              re.fullmatch(r"[0-9a-f]{64}", str(annotations(dep).get("checksum/tickbridge-secret", ""))) is not None,
              f"{annotations(dep)}")
    _, dep1, _, _, k1 = kafka_of("kafka-sasl")
    _, dep2, _, _, _ = kafka_of("kafka-sasl-pw2")
    a1, a2 = annotations(dep1), annotations(dep2)
    check("kafka-sasl-pw2: another password changes checksum/tickbridge-secret",
          a1.get("checksum/tickbridge-secret") and a2.get("checksum/tickbridge-secret")
          and a1["checksum/tickbridge-secret"] != a2["checksum/tickbridge-secret"])
    check("kafka-sasl-pw2: ... and not checksum/tickbridge-config (the config only references ${KAFKA_SASL_PASSWORD})",
          a1.get("checksum/tickbridge-config") and a1.get("checksum/tickbridge-config") == a2.get("checksum/tickbridge-config"))
    _, dep, _, _, k = kafka_of("kafka-sasl-default")
    check("kafka-sasl-default: default mechanism scram-sha-512 over sasl_ssl (supported by the binary)",
          k.get("security_protocol") == "sasl_ssl" and get(k, "sasl", "mechanism") == "scram-sha-512", f"{k}")
    for name in ("standalone", "nats-existing"):
        _, dep, _, _, _ = kafka_of(name, "initContainers" if name == "nats-existing" else "containers")
        check(f"{name}: no checksum/tickbridge-secret without a chart-created Secret",
              "checksum/tickbridge-secret" not in annotations(dep), f"{annotations(dep)}")

    def tls_mounts(where, spec, c, ca=None, client=None):
        vols = spec.get("volumes") or []
        mounts = {m.get("name"): m for m in c.get("volumeMounts") or []}
        if ca:
            secret, key = ca
            v = named(vols, "tickbridge-kafka-ca") or {}
            m = mounts.get("tickbridge-kafka-ca") or {}
            check(f"{where}: CA volume from Secret {secret} key {key}",
                  get(v, "secret", "secretName") == secret and get(v, "secret", "items") == [{"key": key, "path": key}], f"{v}")
            check(f"{where}: CA mounted read-only at /etc/tickbridge/kafka-tls/ca",
                  m.get("mountPath") == "/etc/tickbridge/kafka-tls/ca" and m.get("readOnly") is True, f"{m}")
        else:
            check(f"{where}: no CA volume", named(vols, "tickbridge-kafka-ca") is None and "tickbridge-kafka-ca" not in mounts)
        if client:
            v = named(vols, "tickbridge-kafka-client-cert") or {}
            m = mounts.get("tickbridge-kafka-client-cert") or {}
            check(f"{where}: client certificate volume from the kubernetes.io/tls Secret {client} (tls.crt, tls.key)",
                  get(v, "secret", "secretName") == client
                  and sorted(i.get("key") for i in get(v, "secret", "items", default=[]) or []) == ["tls.crt", "tls.key"], f"{v}")
            check(f"{where}: client certificate mounted read-only at /etc/tickbridge/kafka-tls/client",
                  m.get("mountPath") == "/etc/tickbridge/kafka-tls/client" and m.get("readOnly") is True, f"{m}")
        else:
            check(f"{where}: no client certificate volume",
                  named(vols, "tickbridge-kafka-client-cert") is None and "tickbridge-kafka-client-cert" not in mounts)

    section("kafka TLS: CA + client certificate from Secrets (mTLS, no SASL)")
    check("kafka-tls renders", rc("kafka-tls") == 0, read("kafka-tls", "err")[-600:])
    ds, dep, spec, c, k = kafka_of("kafka-tls")
    check("kafka-tls: security_protocol = \"ssl\" (TLS without SASL), no [sink.kafka.sasl]",
          k.get("security_protocol") == "ssl" and "sasl" not in k, f"{k}")
    check("kafka-tls: [sink.kafka.tls] ca_file/cert_file/key_file under /etc/tickbridge/kafka-tls, verify_hostname = false",
          k.get("tls") == {"ca_file": "/etc/tickbridge/kafka-tls/ca/ca.crt",
                           "cert_file": "/etc/tickbridge/kafka-tls/client/tls.crt",
                           "key_file": "/etc/tickbridge/kafka-tls/client/tls.key",
                           "verify_hostname": False}, f"{k.get('tls')}")
    no_reserved_options("kafka-tls", k)
    tls_mounts("kafka-tls", spec, c, ca=("kafka-ca", "ca.crt"), client="kafka-client")
    check("kafka-tls: no Secret created, no KAFKA_SASL_* env",
          not of_kind(ds, "Secret") and not any(str(e.get("name", "")).startswith("KAFKA_") for e in c.get("env") or []))

    section("kafka SASL SCRAM-SHA-256 over TLS with a private CA, existingSecret")
    check("kafka-sasl-tls renders", rc("kafka-sasl-tls") == 0, read("kafka-sasl-tls", "err")[-600:])
    ds, dep, spec, c, k = kafka_of("kafka-sasl-tls")
    check("kafka-sasl-tls: security_protocol = \"sasl_ssl\", mechanism scram-sha-256",
          k.get("security_protocol") == "sasl_ssl" and get(k, "sasl", "mechanism") == "scram-sha-256", f"{k}")
    check("kafka-sasl-tls: [sink.kafka.tls] ca_file from the custom key, verify_hostname = true, no client certificate",
          k.get("tls") == {"ca_file": "/etc/tickbridge/kafka-tls/ca/ca.pem", "verify_hostname": True}, f"{k.get('tls')}")
    no_reserved_options("kafka-sasl-tls", k)
    tls_mounts("kafka-sasl-tls", spec, c, ca=("kafka-ca", "ca.pem"))
    env = {e.get("name"): e for e in c.get("env") or []}
    check("kafka-sasl-tls: KAFKA_SASL_* env from the existing Secret kafka-auth",
          all(get(env, n, "valueFrom", "secretKeyRef", "name") == "kafka-auth" for n in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")))
    check("kafka-sasl-tls: no Secret created and no checksum/tickbridge-secret (the chart cannot see kafka-auth)",
          not of_kind(ds, "Secret") and "checksum/tickbridge-secret" not in annotations(dep))

    section("kafka TLS in sidecar mode")
    check("kafka-tls-sidecar renders", rc("kafka-tls-sidecar") == 0, read("kafka-tls-sidecar", "err")[-600:])
    ds, dep, spec, c, k = kafka_of("kafka-tls-sidecar", "initContainers")
    tls_mounts("kafka-tls-sidecar example", spec, c, ca=("kafka-ca", "ca.crt"), client="kafka-client")
    snip = next((d for d in of_kind(ds, "ConfigMap") if "patch.yaml" in (d.get("data") or {})), None)
    pspec = get(load(get(snip, "data", "patch.yaml"), "patch.yaml") or {}, "spec", "template", "spec", default={}) or {}
    tls_mounts("kafka-tls-sidecar patch.yaml", pspec, named(pspec.get("initContainers"), "tickbridge") or {},
               ca=("kafka-ca", "ca.crt"), client="kafka-client")

    section("kafka OAUTHBEARER via OIDC (sidecar mode)")
    check("kafka-oidc renders", rc("kafka-oidc") == 0, read("kafka-oidc", "err")[-600:])
    ds, dep, spec, c, k = kafka_of("kafka-oidc", "initContainers")
    check("kafka-oidc: sasl_ssl, mechanism oauthbearer, [sink.kafka.sasl.oidc] with client_secret = \"${KAFKA_OIDC_CLIENT_SECRET}\"",
          k.get("security_protocol") == "sasl_ssl" and k.get("sasl") == {
              "mechanism": "oauthbearer",
              "oidc": {"token_endpoint": "https://idp.example/oauth2/token", "client_id": "tickbridge",
                       "client_secret": "${KAFKA_OIDC_CLIENT_SECRET}", "scope": "kafka"}}, f"{k.get('sasl')}")
    no_reserved_options("kafka-oidc", k)
    secrets = of_kind(ds, "Secret")
    env = {e.get("name"): e for e in c.get("env") or []}
    check("kafka-oidc: Secret with KAFKA_OIDC_CLIENT_SECRET, env from it, no KAFKA_SASL_* env",
          len(secrets) == 1 and "KAFKA_OIDC_CLIENT_SECRET" in (get(secrets, 0, "data") or {})
          and get(env, "KAFKA_OIDC_CLIENT_SECRET", "valueFrom", "secretKeyRef", "name") == get(secrets, 0, "metadata", "name")
          and "KAFKA_SASL_USERNAME" not in env and "KAFKA_SASL_PASSWORD" not in env)
    check("kafka-oidc: no client secret in the ConfigMaps", "oidc-hunter2" not in json.dumps(of_kind(ds, "ConfigMap")))
    snip = next((d for d in of_kind(ds, "ConfigMap") if "patch.yaml" in (d.get("data") or {})), None)
    pann = get(load(get(snip, "data", "patch.yaml"), "patch.yaml") or {}, "spec", "template", "metadata", "annotations") or {}
    check("kafka-oidc: checksum/tickbridge-secret in the sidecar patch and the example pod, equal",
          pann.get("checksum/tickbridge-secret") and pann.get("checksum/tickbridge-secret") == annotations(dep).get("checksum/tickbridge-secret"),
          f"patch={pann} example={annotations(dep)}")


def all_checks():
    global passed
    # --- helm lint ---------------------------------------------------------------------
    section("helm lint")
    for name in ("lint-standalone", "lint-sidecar", "lint-kafka", "lint-kafka-secure", "lint-nats", "lint-obs-standalone", "lint-obs-sidecar"):
        check(f"{name} passes", rc(name) == 0, (read(name, "out") + read(name, "err"))[-600:])

    section("manifests decode strictly into Kubernetes API types (manifestcheck)")
    for name in sorted(f[3:-3] for f in os.listdir(R) if f.startswith("mc-") and f.endswith(".rc")):
        check(f"{name}: manifestcheck", rc("mc-" + name) == 0,
              "\n" + "\n".join(l for l in read("mc-" + name, "out").splitlines() if "FAIL" in l))

    # --- standalone --------------------------------------------------------------------
    section("standalone mode")
    check("standalone renders", rc("standalone") == 0, read("standalone", "err")[-600:])
    ds = docs("standalone")
    deps = of_kind(ds, "Deployment")
    check("standalone: exactly one Deployment", len(deps) == 1, f"got {len(deps)}")
    dep = deps[0] if deps else {}
    spec = get(dep, "spec", "template", "spec", default={})
    c = named(spec.get("containers"), "tickbridge") or {}
    check("standalone: container tickbridge", bool(c))
    cfg = check_container("standalone", c, spec, ds)
    check("standalone: default sink is stdout", get(cfg, "sink", "kind") == "stdout")
    check("standalone: drain_timeout rendered as \"20s\"", get(cfg, "shutdown", "drain_timeout") == "20s")
    check("standalone: terminationGracePeriodSeconds defaults to 30", spec.get("terminationGracePeriodSeconds") == 30)
    check("standalone: config has a [[source]]", bool(cfg.get("source")))
    check_scrape("standalone pod", get(dep, "spec", "template", "metadata", "annotations"))
    check("standalone: pod has a config checksum annotation",
          any(k.startswith("checksum/") for k in (get(dep, "spec", "template", "metadata", "annotations") or {})))
    check("standalone: pod securityContext runAsNonRoot/runAsUser",
          get(spec, "securityContext", "runAsNonRoot") is True and get(spec, "securityContext", "runAsUser") == UID)
    check("standalone: image set", bool(c.get("image")) and not str(c.get("image")).endswith(":"))
    check("standalone: ServiceAccount token not automounted", spec.get("automountServiceAccountToken") is False)
    svcs = of_kind(ds, "Service")
    svc = svcs[0] if svcs else {}
    pod_labels = get(dep, "spec", "template", "metadata", "labels") or {}
    check("standalone: Service on port 9000 -> ops",
          any(p.get("port") == PORT and p.get("targetPort") in ("ops", PORT) for p in get(svc, "spec", "ports") or []))
    sel = get(svc, "spec", "selector") or {}
    check("standalone: Service selects the Deployment's pods", matches(sel, pod_labels))
    check("standalone: Deployment selector matches its pod labels",
          matches(get(dep, "spec", "selector", "matchLabels"), pod_labels))
    check("standalone: no ServiceMonitor by default", not of_kind(ds, "ServiceMonitor"))
    check("standalone: no Secret without credentials", not of_kind(ds, "Secret"))

    section("standalone + ServiceMonitor")
    check("standalone-sm renders", rc("standalone-sm") == 0, read("standalone-sm", "err")[-600:])
    ds_sm = docs("standalone-sm")
    sm = of_kind(ds_sm, "ServiceMonitor")
    svc_sm = (of_kind(ds_sm, "Service") or [{}])[0]
    ep = get(sm, 0, "spec", "endpoints", 0) or {}
    check("ServiceMonitor rendered (monitoring.coreos.com/v1)",
          len(sm) == 1 and sm[0].get("apiVersion") == "monitoring.coreos.com/v1")
    check("ServiceMonitor scrapes port ops path /metrics", ep.get("port") == "ops" and ep.get("path") == "/metrics")
    svc_labels = get(svc_sm, "metadata", "labels") or {}
    check("ServiceMonitor selects the Service", matches(get(sm, 0, "spec", "selector", "matchLabels"), svc_labels))

    # --- sidecar -----------------------------------------------------------------------
    section("sidecar mode")
    check("sidecar renders", rc("sidecar") == 0, read("sidecar", "err")[-600:])
    ds = docs("sidecar")
    check("sidecar: no Deployment of its own", not of_kind(ds, "Deployment"))
    check("sidecar: no Service/ServiceAccount", not of_kind(ds, "Service") and not of_kind(ds, "ServiceAccount"))
    snip = next((d for d in of_kind(ds, "ConfigMap") if "patch.yaml" in (d.get("data") or {})), None)
    check("sidecar: ConfigMap with initContainers.yaml, volumes.yaml, patch.yaml",
          snip is not None and {"initContainers.yaml", "volumes.yaml"} <= set(snip.get("data") or {}))
    patch = load(get(snip, "data", "patch.yaml"), "patch.yaml") or {}
    pspec = get(patch, "spec", "template", "spec", default={}) or {}
    ic = sidecar_of("sidecar patch.yaml", pspec) or {}
    check_container("sidecar patch.yaml", ic, pspec, ds)
    check_scrape("sidecar patch.yaml", get(patch, "spec", "template", "metadata", "annotations"))
    ic_list = load(get(snip, "data", "initContainers.yaml"), "initContainers.yaml") or []
    check("sidecar initContainers.yaml == the patch's initContainers", ic_list == pspec.get("initContainers"))

    section("sidecar mode, example Deployment")
    check("sidecar-example renders", rc("sidecar-example") == 0, read("sidecar-example", "err")[-600:])
    ds = docs("sidecar-example")
    deps = of_kind(ds, "Deployment")
    check("sidecar-example: one example Deployment", len(deps) == 1)
    espec = get(deps, 0, "spec", "template", "spec", default={}) or {}
    ic = sidecar_of("sidecar-example", espec) or {}
    check_container("sidecar-example", ic, espec, ds)
    check_scrape("sidecar-example pod", get(deps, 0, "spec", "template", "metadata", "annotations"))
    check("sidecar-example: has an app container", bool(espec.get("containers")))

    section("example consumer chart (tickbridge as a dependency, .Subcharts)")
    check("example: helm dependency build", rc("example-dep") == 0, read("example-dep", "err")[-600:])
    check("example renders", rc("example") == 0, read("example", "err")[-600:])
    ds = docs("example")
    app = next((d for d in of_kind(ds, "Deployment") if get(d, "metadata", "name") == "demo-consumer"), {})
    aspec = get(app, "spec", "template", "spec", default={}) or {}
    ic = sidecar_of("example consumer", aspec) or {}
    cfg = check_container("example consumer", ic, aspec, ds)
    check("example consumer: subchart values used (sink nats, grace 45)",
          get(cfg, "sink", "kind") == "nats" and aspec.get("terminationGracePeriodSeconds") == 45)

    # --- credentials and variants --------------------------------------------------------
    section("kafka + SASL credentials")
    check("kafka-sasl renders", rc("kafka-sasl") == 0, read("kafka-sasl", "err")[-600:])
    ds = docs("kafka-sasl")
    dep = (of_kind(ds, "Deployment") or [{}])[0]
    spec = get(dep, "spec", "template", "spec", default={}) or {}
    c = named(spec.get("containers"), "tickbridge") or {}
    _, cfg = config_of(ds, spec.get("volumes"))
    cfg = cfg or {}
    secrets = of_kind(ds, "Secret")
    sname = get(secrets, 0, "metadata", "name")
    check("kafka-sasl: Secret created with both keys",
          len(secrets) == 1 and {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"} <= set(get(secrets, 0, "data") or {}))
    env = {e.get("name"): e for e in c.get("env") or []}
    check("kafka-sasl: KAFKA_SASL_* env from the Secret",
          sname is not None and all(get(env, k, "valueFrom", "secretKeyRef", "name") == sname for k in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")))
    check("kafka-sasl: security_protocol = \"sasl_ssl\" and [sink.kafka.sasl] referencing ${KAFKA_SASL_*}",
          get(cfg, "sink", "kafka", "security_protocol") == "sasl_ssl"
          and get(cfg, "sink", "kafka", "sasl") == {
              "mechanism": "scram-sha-512",
              "username": "${KAFKA_SASL_USERNAME}", "password": "${KAFKA_SASL_PASSWORD}"},
          f"{get(cfg, 'sink', 'kafka')}")
    check("kafka-sasl: no [sink.kafka.options] (nothing of SASL rendered as librdkafka options)",
          "options" not in (get(cfg, "sink", "kafka") or {}), f"{get(cfg, 'sink', 'kafka', 'options')}")
    check("kafka-sasl: no [sink.kafka.tls] without sink.kafka.tls.enabled",
          "tls" not in (get(cfg, "sink", "kafka") or {}))
    check("kafka-sasl: sink kafka with brokers", get(cfg, "sink", "kind") == "kafka"
          and get(cfg, "sink", "kafka", "brokers") == "k1:9092,k2:9092")
    cms = json.dumps(of_kind(ds, "ConfigMap"))
    check("kafka-sasl: no secret value in the ConfigMap", "${KAFKA_SASL_PASSWORD}" in cms and "hunter2" not in cms)

    section("sink variants")
    for name, kind in (("kafka", "kafka"), ("nats", "nats"), ("file", "file")):
        ds = docs(name)
        spec = get(of_kind(ds, "Deployment"), 0, "spec", "template", "spec", default={}) or {}
        _, cfg = config_of(ds, spec.get("volumes"))
        check(f"{name}: renders with sink.kind={kind} and its [sink.{kind}] table",
              rc(name) == 0 and get(cfg or {}, "sink", "kind") == kind and isinstance(get(cfg or {}, "sink", kind), dict))
    ds = docs("kafka")
    spec = get(of_kind(ds, "Deployment"), 0, "spec", "template", "spec", default={}) or {}
    _, cfg = config_of(ds, spec.get("volumes"))
    check("kafka: sink.kafka.options passed through as [sink.kafka.options]",
          get(cfg or {}, "sink", "kafka", "options") == {"linger.ms": "5"}, f"{get(cfg or {}, 'sink', 'kafka')}")
    check("kafka: compression = \"lz4\" and security_protocol = \"plaintext\" by default, no tls/sasl tables",
          get(cfg or {}, "sink", "kafka", "compression") == "lz4"
          and get(cfg or {}, "sink", "kafka", "security_protocol") == "plaintext"
          and not {"tls", "sasl"} & set(get(cfg or {}, "sink", "kafka", default={}) or {}))
    ds = docs("nats")
    spec = get(of_kind(ds, "Deployment"), 0, "spec", "template", "spec", default={}) or {}
    _, cfg = config_of(ds, spec.get("volumes"))
    check("nats: jetstream=false rendered; no token/credentials without a Secret",
          get(cfg or {}, "sink", "nats", "jetstream") is False
          and not {"token", "credentials"} & set(get(cfg or {}, "sink", "nats", default={}) or {}))

    kafka_security_checks()
    sharding_checks()
    standby_checks()

    section("nats + existingSecret")
    check("nats-existing renders", rc("nats-existing") == 0, read("nats-existing", "err")[-600:])
    ds = docs("nats-existing")
    dep = (of_kind(ds, "Deployment") or [{}])[0]
    spec = get(dep, "spec", "template", "spec", default={}) or {}
    c = named(spec.get("initContainers"), "tickbridge") or {}
    _, cfg = config_of(ds, spec.get("volumes"))
    cfg = cfg or {}
    env = {e.get("name"): e for e in c.get("env") or []}
    check("nats-existing: no Secret created", not of_kind(ds, "Secret"))
    check("nats-existing: no NATS_TOKEN env when the Secret holds a .creds file", "NATS_TOKEN" not in env)
    check("nats-existing: creds volume from the existing Secret",
          get(named(spec.get("volumes"), "tickbridge-nats-creds"), "secret", "secretName") == "nats-auth")
    check("nats-existing: config credentials = the mounted .creds file, no token",
          get(cfg, "sink", "nats", "credentials") == "/etc/tickbridge/nats/nats.creds"
          and "token" not in (get(cfg, "sink", "nats") or {}))
    mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts") or []}
    check("nats-existing: .creds volume mounted at /etc/tickbridge/nats",
          mounts.get("/etc/tickbridge/nats") == "tickbridge-nats-creds")

    section("nats + token")
    check("nats-token renders", rc("nats-token") == 0, read("nats-token", "err")[-600:])
    ds = docs("nats-token")
    spec = get(of_kind(ds, "Deployment"), 0, "spec", "template", "spec", default={}) or {}
    c = named(spec.get("containers"), "tickbridge") or {}
    _, cfg = config_of(ds, spec.get("volumes"))
    cfg = cfg or {}
    env = {e.get("name"): e for e in c.get("env") or []}
    secrets = of_kind(ds, "Secret")
    check("nats-token: Secret with NATS_TOKEN", "NATS_TOKEN" in (get(secrets, 0, "data") or {}))
    check("nats-token: NATS_TOKEN env from that Secret",
          secrets and get(env, "NATS_TOKEN", "valueFrom", "secretKeyRef", "name") == get(secrets, 0, "metadata", "name"))
    check("nats-token: config token = \"${NATS_TOKEN}\", no credentials",
          get(cfg, "sink", "nats", "token") == "${NATS_TOKEN}" and "credentials" not in (get(cfg, "sink", "nats") or {}))

    section("drain timeout value")
    ds = docs("drain-50")
    dep = (of_kind(ds, "Deployment") or [{}])[0]
    spec = get(dep, "spec", "template", "spec", default={}) or {}
    _, cfg = config_of(ds, spec.get("volumes"))
    check("drain-50: drain_timeout = \"50s\", grace 60",
          rc("drain-50") == 0 and get(cfg or {}, "shutdown", "drain_timeout") == "50s"
          and spec.get("terminationGracePeriodSeconds") == 60)

    section("renders that must fail")
    def refused(name, pattern):
        err = read(name, "err") + read(name, "out")
        check(f"{name} is refused ({pattern})", rc(name) not in (0, None) and re.search(pattern, err),
              f"rc={rc(name)} {err[-300:]}")
    refused("bad-grace-equal", r"terminationGracePeriodSeconds \(20\) must be greater than .*drainTimeoutSeconds \(20\)")
    refused("bad-grace-less", r"terminationGracePeriodSeconds \(30\) must be greater than .*drainTimeoutSeconds \(40\)")
    refused("bad-grace-sidecar", r"terminationGracePeriodSeconds \(15\) must be greater")
    refused("bad-sink", r"/sink/kind")
    refused("bad-mode", r"/mode")
    refused("bad-unknown-key", r"(?i)additional propert.*kafak|kafak.*additional")
    refused("bad-unknown-top", r"(?i)additional propert.*replicas|replicas.*additional")
    refused("bad-sm-sidecar", r"serviceMonitor needs mode=standalone")
    refused("bad-nats-both-auth", r"a token or a \.creds file, not both")
    refused("bad-pdb-sidecar", r"podDisruptionBudget needs mode=standalone")
    refused("bad-shard-sidecar", r"sharding.enabled needs mode=standalone")
    refused("bad-shard-zero", r"/sharding/shards")
    refused("bad-pdb-both", r"minAvailable or maxUnavailable, not both")
    refused("bad-pdb-value", r"/podDisruptionBudget/minAvailable")
    refused("bad-pm-key", r"(?i)additional propert.*port|port.*additional")
    refused("bad-rule-key", r"(?i)additional propert.*enable|enable.*additional")
    refused("bad-kafka-mechanism", r"/sink/kafka/sasl/mechanism")
    refused("bad-kafka-compression", r"/sink/kafka/compression")
    refused("bad-kafka-opt-sasl", r"sink\.kafka\.options\.sasl\.password is refused.*credentials\.kafkaSaslPassword")
    refused("bad-kafka-opt-compression", r"sink\.kafka\.options\.compression\.type is refused.*sink\.kafka\.compression")
    refused("bad-kafka-opt-protocol", r"sink\.kafka\.options\.security\.protocol is refused")
    refused("bad-kafka-tls-plaintext", r"sink\.kafka\.tls\.enabled needs sink\.kafka\.sasl\.securityProtocol=SASL_SSL")
    refused("bad-kafka-oidc", r"OAUTHBEARER needs sink\.kafka\.sasl\.oidc\.tokenEndpoint")
    refused("bad-kafka-oidc-secret", r"OAUTHBEARER needs credentials\.kafkaOidcClientSecret")
    refused("bad-kafka-tls-key", r"(?i)additional propert.*key|key.*additional")

    observability_checks()

    # --- Dockerfile --------------------------------------------------------------------
    section("docker/Dockerfile")
    def instructions(path):
        """(INSTRUCTION, args) with continuations joined and comments dropped."""
        out, cur = [], ""
        with open(path) as f:
            for raw in f:
                line = raw.rstrip("\n")
                if re.match(r"^\s*#", line):
                    continue
                if line.rstrip().endswith("\\"):
                    cur += line.rstrip()[:-1] + " "
                    continue
                cur += line
                if cur.strip():
                    word, _, rest = cur.strip().partition(" ")
                    out.append((word.upper(), rest.strip()))
                cur = ""
        if cur.strip():
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
        return out

    def exec_form(args):
        try:
            v = json.loads(args)
            return v if isinstance(v, list) else None
        except ValueError:
            return None

    dockerfile = os.path.join(ROOT, "docker", "Dockerfile")
    ins = instructions(dockerfile) if os.path.exists(dockerfile) else []
    check("Dockerfile exists", bool(ins))
    check("Dockerfile: BuildKit parser and build checks pass (dockerfilecheck)", rc("dockerfilecheck") == 0,
          (read("dockerfilecheck", "out") + read("dockerfilecheck", "err"))[-600:])
    global_args = {}
    for word, args in ins:
        if word == "FROM":
            break
        if word == "ARG" and "=" in args:
            k, _, v = args.partition("=")
            global_args[k.strip()] = v.strip().strip('"')
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    check("Dockerfile: multi-stage (>= 2 FROM)", len(froms) >= 2, f"{len(froms)} FROM")
    final = ins[froms[-1]:] if froms else []
    base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)),
                  final[0][1].split()[0] if final else "")
    check("Dockerfile: final stage is distroless cc nonroot or debian slim",
          base.startswith("gcr.io/distroless/cc-debian12") or re.match(r"debian:\w+-slim", base), base)
    first_base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), ins[froms[0]][1].split()[0]) if froms else ""
    check("Dockerfile: builder is rust:1-bookworm", first_base.startswith("rust:1-bookworm"), first_base)
    users = [a for w, a in final if w == "USER"]
    uid = users[-1].split(":")[0] if users else ""
    check("Dockerfile: final stage USER is a non-root numeric uid",
          uid.isdigit() and int(uid) != 0, f"USER {users[-1] if users else None}")
    check("Dockerfile: final USER 65532:65532", bool(users) and users[-1] == "65532:65532")
    ep = [exec_form(a) for w, a in final if w == "ENTRYPOINT"]
    check("Dockerfile: ENTRYPOINT [\"tickbridge\"] (exec form)",
          bool(ep) and ep[-1] and os.path.basename(ep[-1][0]) == "tickbridge", f"{ep}")
    cmd = [exec_form(a) for w, a in final if w == "CMD"]
    check("Dockerfile: CMD [\"run\"]", bool(cmd) and cmd[-1] == ["run"], f"{cmd}")
    expose = " ".join(a for w, a in final if w == "EXPOSE").split()
    check("Dockerfile: EXPOSE 9000", "9000" in expose or "9000/tcp" in expose, f"{expose}")
    hc = [a for w, a in final if w == "HEALTHCHECK"]
    check("Dockerfile: HEALTHCHECK runs tickbridge probe .../healthz",
          bool(hc) and re.search(r"CMD\s+\[\s*\"tickbridge\",\s*\"probe\",\s*\"http://127\.0\.0\.1:9000/healthz\"\s*\]", hc[-1]),
          f"{hc}")
    check("Dockerfile: no ADD of a URL",
          not any(w == "ADD" and re.search(r"(?i)\b(https?|ftp)://", a) for w, a in ins))
    check("Dockerfile: no curl|wget download in RUN",
          not any(w == "RUN" and re.search(r"\b(curl|wget)\b", a) for w, a in ins))
    build_stages = ins[:froms[-1]] if froms else []
    runs = " ".join(a for w, a in build_stages if w == "RUN")
    check("Dockerfile: builder installs cmake for librdkafka", re.search(r"\bcmake\b", runs) is not None)
    check("Dockerfile: cargo build --release/--profile --locked -p tickbridge",
          re.search(r"cargo build .*--locked.*-p tickbridge", runs) is not None)
    check("Dockerfile: dependency layer cached before COPY of the sources",
          re.search(r"cargo (chef cook|build|fetch)", " ".join(
              a for w, a in build_stages if w == "RUN" and "COPY . ." not in a)) is not None
          and any(w == "COPY" and "recipe.json" in a or (w == "COPY" and "Cargo.lock" in a) for w, a in ins))
    copies = [a for w, a in final if w == "COPY"]
    def copies_binary(a):
        parts = [p for p in a.split() if not p.startswith("--")]
        return ("--from=" in a and len(parts) >= 2 and os.path.basename(parts[-2].rstrip("/")) == "tickbridge"
                and parts[-1] in ("/usr/local/bin/tickbridge", "/usr/local/bin/", "/usr/bin/tickbridge", "/usr/bin/"))
    check("Dockerfile: final stage copies the binary from the builder onto PATH (/usr/local/bin/tickbridge)",
          any(copies_binary(a) for a in copies), f"{copies}")
    check("Dockerfile: final stage runs nothing (no RUN)", not any(w == "RUN" for w, _ in final))
    check("Dockerfile: STOPSIGNAL SIGTERM (or default)",
          all(a in ("SIGTERM", "15") for w, a in final if w == "STOPSIGNAL"))

    dockerignore = os.path.join(ROOT, ".dockerignore")
    di = open(dockerignore).read().split("\n") if os.path.exists(dockerignore) else []
    di = [l.strip() for l in di if l.strip() and not l.startswith("#")]
    check(".dockerignore excludes target/ and .git",
          any(l.strip("/").lstrip("*/") in ("target",) for l in di) and ".git" in [l.strip("/") for l in di], f"{di[:8]}")
    check(".dockerignore keeps Cargo.lock and sources",
          not any(l in ("Cargo.lock", "src", "src/", "connectors", "schemas", "*.rs", "**/*.rs") for l in di))

    # --- compose -----------------------------------------------------------------------
    section("docker/compose.yaml")
    compose_path = os.path.join(ROOT, "docker", "compose.yaml")
    try:
        compose = yaml.safe_load(open(compose_path)) or {}
        ok = True
    except (OSError, yaml.YAMLError) as e:
        compose, ok = {}, False
        print(f"  ({e})")
    check("compose.yaml parses", ok and isinstance(compose.get("services"), dict))
    svcs = compose.get("services") or {}
    tb = svcs.get("tickbridge") or {}
    check("compose: services tickbridge, kafka, nats", {"tickbridge", "kafka", "nats"} <= set(svcs))
    check("compose: tickbridge read_only: true", tb.get("read_only") is True)
    tmpfs = tb.get("tmpfs") or []
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    check("compose: tickbridge tmpfs /tmp", any(str(t).split(":")[0] == "/tmp" for t in tmpfs))
    check("compose: tickbridge runs as 65532", str(tb.get("user", "")).split(":")[0] == "65532")
    check("compose: tickbridge cap_drop ALL", "ALL" in (tb.get("cap_drop") or []))
    envs = tb.get("environment") or {}
    if isinstance(envs, list):
        envs = dict(e.split("=", 1) for e in envs if "=" in e)
    cfg_path = envs.get("TICKBRIDGE_CONFIG")
    mounts = [str(v) for v in tb.get("volumes") or []]
    mount = next((m for m in mounts if cfg_path and m.split(":")[1:2] == [cfg_path]), None)
    check("compose: config mounted read-only at TICKBRIDGE_CONFIG",
          bool(cfg_path) and mount is not None and mount.endswith(":ro"), f"{cfg_path} {mounts}")
    host_cfg = os.path.normpath(os.path.join(ROOT, "docker", mount.split(":")[0])) if mount else ""
    try:
        tcfg = tomllib.loads(open(host_cfg).read())
    except (OSError, tomllib.TOMLDecodeError) as e:
        tcfg = None
        print(f"  ({e})")
    check("compose: mounted docker/tickbridge.toml parses as TOML", tcfg is not None)
    tcfg = tcfg or {}
    check("tickbridge.toml: [sink] kind, [sink.kafka] and [sink.nats], [[source]]",
          "kind" in (tcfg.get("sink") or {}) and "kafka" in tcfg.get("sink", {}) and "nats" in tcfg.get("sink", {})
          and bool(tcfg.get("source")))
    check("tickbridge.toml: ops.listen on 9000", str(get(tcfg, "ops", "listen", default="")).endswith(":9000"))
    drain = seconds(get(tcfg, "shutdown", "drain_timeout"))
    grace = seconds(tb.get("stop_grace_period", "10s"))
    check(f"compose: stop_grace_period ({grace}s) > drain_timeout ({drain}s)",
          drain is not None and grace is not None and grace > drain)
    for s in ("tickbridge", "kafka", "nats"):
        check(f"compose: {s} has a healthcheck", bool(get(svcs, s, "healthcheck", "test")))
    check("compose: tickbridge healthcheck uses tickbridge probe",
          "probe" in json.dumps(get(tb, "healthcheck", "test")))
    dep_on = tb.get("depends_on") or {}
    check("compose: tickbridge depends_on kafka and nats being healthy",
          isinstance(dep_on, dict) and all(get(dep_on, s, "condition") == "service_healthy" for s in ("kafka", "nats")))
    check("compose: kafka is apache/kafka in KRaft mode",
          str(get(svcs, "kafka", "image", default="")).startswith("apache/kafka")
          and "controller" in str(get(svcs, "kafka", "environment", "KAFKA_PROCESS_ROLES", default="")))
    check("compose: nats runs with JetStream (-js)",
          str(get(svcs, "nats", "image", default="")).startswith("nats") and "-js" in json.dumps(get(svcs, "nats", "command")))
    check("compose: tickbridge reaches brokers by service name",
          "kafka:9092" in str(envs.get("KAFKA_BROKERS", "")) and "nats:4222" in str(envs.get("NATS_URL", "")))



try:
    all_checks()
except Exception:  # a broken render must not hide behind a traceback
    import traceback
    traceback.print_exc()
    failed.append("assertion script crashed (see traceback above): " + traceback.format_exc().strip().splitlines()[-1])

def binary_checks(binary):
    """Every rendered config.toml and docker/tickbridge.toml pass `tickbridge validate`."""
    import subprocess
    section(f"configs accepted by {binary} validate (TICKBRIDGE_BIN)")
    # No exchange is reachable from CI: instrument lists are not fetched here.
    # HOSTNAME: a StatefulSet pod's name, for the sharded render's shard_from_hostname.
    env = dict(os.environ, HOSTNAME="tb-tickbridge-1", KAFKA_SASL_USERNAME="u", KAFKA_SASL_PASSWORD="p", KAFKA_OIDC_CLIENT_SECRET="s", NATS_TOKEN="t",
               TICKBRIDGE__INSTRUMENTS__ON_UNAVAILABLE="unverified", TICKBRIDGE__INSTRUMENTS__TIMEOUT="2s")
    env.pop("TICKBRIDGE_CONFIG", None)
    def validate(name, path, extra_env=None):
        p = subprocess.run([binary, "validate", "--config", path], env=dict(env, **(extra_env or {})),
                           capture_output=True, text=True, timeout=60)
        check(f"tickbridge validate accepts {name}", p.returncode == 0, (p.stdout + p.stderr)[-400:])
        return p
    cfgdir = os.path.join(WORK, "cfg")
    os.makedirs(cfgdir, exist_ok=True)

    # TLS renders reference the Secrets' mount points (/etc/tickbridge/kafka-tls/...):
    # a real CA and a client certificate it signed, generated here, stand in for them
    # (the paths are rewritten into a directory per render), so librdkafka loads them.
    tls_src = os.path.join(WORK, "pki")
    os.makedirs(tls_src, exist_ok=True)
    def openssl(*args):
        p = subprocess.run(["openssl", *args], cwd=tls_src, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)}: {p.stderr[-300:]}")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "2", "-subj", "/CN=check-deploy test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "client.csr",
            "-subj", "/CN=tickbridge")
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "tls.crt", "-days", "2")
    pem = {"ca": open(os.path.join(tls_src, "ca.crt")).read(),
           "tls.crt": open(os.path.join(tls_src, "tls.crt")).read(),
           "tls.key": open(os.path.join(tls_src, "tls.key")).read()}
    TLS_MOUNT = "/etc/tickbridge/kafka-tls/"
    def with_tls_files(name, text):
        """text with its kafka-tls paths pointing at generated PEM files of WORK/tls/<name>/."""
        if TLS_MOUNT not in text:
            return text
        base = os.path.join(WORK, "tls", name) + "/"
        for sub, fname in set(re.findall(re.escape(TLS_MOUNT) + r'(ca|client)/([^"/]+)"', text)):
            os.makedirs(base + sub, exist_ok=True)
            with open(base + sub + "/" + fname, "w") as out:
                out.write(pem["ca"] if sub == "ca" else pem.get(fname, ""))
        return text.replace(TLS_MOUNT, base)
    tls_renders = []
    for f in sorted(os.listdir(R)):
        name = f[:-3]
        if not f.endswith(".rc") or name.startswith(("lint-", "bad-", "mc-", "example-dep", "dockerfilecheck", "check-alerts")) or rc(name) != 0:
            continue
        for cm in of_kind(docs(name), "ConfigMap"):
            text = get(cm, "data", "config.toml")
            if text is None:
                continue
            path = os.path.join(cfgdir, f"{name}.toml")
            if TLS_MOUNT in text:
                tls_renders.append((name, text))
            with open(path, "w") as out:
                out.write(with_tls_files(name, text))
            validate(f"the config.toml of render {name}" + (" (TLS files generated)" if TLS_MOUNT in text else ""), path)
    check("TLS renders validated with generated PEM files (kafka-tls, kafka-sasl-tls, kafka-tls-sidecar)",
          {"kafka-tls", "kafka-sasl-tls", "kafka-tls-sidecar"} <= {n for n, _ in tls_renders}, f"{[n for n, _ in tls_renders]}")
    # ... and the binary does read them: without the files, the same config is refused
    for name, text in tls_renders[:1]:
        path = os.path.join(cfgdir, f"{name}.nofiles.toml")
        with open(path, "w") as out:
            out.write(text)
        p = subprocess.run([binary, "validate", "--config", path], env=env, capture_output=True, text=True, timeout=60)
        check(f"tickbridge validate refuses {name} when /etc/tickbridge/kafka-tls/... does not exist (names tls.ca_file)",
              p.returncode != 0 and "tls.ca_file" in p.stdout + p.stderr, (p.stdout + p.stderr)[-400:])
    # ... and librdkafka loads them: a client key that is no key is refused
    for name, text in [t for t in tls_renders if t[0] == "kafka-tls"]:
        text = with_tls_files("kafka-tls-badkey", text)
        with open(os.path.join(WORK, "tls", "kafka-tls-badkey", "client", "tls.key"), "w") as out:
            out.write(pem["ca"])
        path = os.path.join(cfgdir, "kafka-tls-badkey.toml")
        with open(path, "w") as out:
            out.write(text)
        p = subprocess.run([binary, "validate", "--config", path], env=env, capture_output=True, text=True, timeout=60)
        check("tickbridge validate refuses kafka-tls with a tls.key that holds no key (librdkafka loads the PEM files)",
              p.returncode != 0 and "ssl.key.location" in p.stdout + p.stderr, (p.stdout + p.stderr)[-400:])
    for sink in ("kafka", "nats", "stdout", "file"):
        validate(f"docker/tickbridge.toml with TICKBRIDGE_SINK={sink}",
                 os.path.join(ROOT, "docker", "tickbridge.toml"), {"TICKBRIDGE_SINK": sink})


if os.environ.get("TICKBRIDGE_BIN"):
    try:
        binary_checks(os.environ["TICKBRIDGE_BIN"])
    except Exception as e:
        failed.append(f"tickbridge validate step crashed: {e!r}")

print()
for name in failed:
    print(f"FAILED: {name}")
print(f"check-deploy: {passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PYEOF

"$PY" "$WORK/assert.py" "$ROOT" "$WORK"
