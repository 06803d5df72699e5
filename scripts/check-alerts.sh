#!/usr/bin/env bash
# Checks tickbridge's alert rules and Grafana dashboard:
#
#   scripts/check-alerts.sh                               # promtool + static dashboard checks
#   scripts/check-alerts.sh --bin target/debug/tickbridge # ... and every metric name against a live /metrics
#   TICKBRIDGE_BIN=target/debug/tickbridge scripts/check-alerts.sh   # same as --bin
#
# 1. `promtool check rules` of helm/tickbridge/files/tickbridge-rules.yaml (the plain
#    rules file, also the chart's PrometheusRule source);
# 2. `promtool test rules` of docs/alerts/tests/*.yaml (every rule fires and does not);
# 3. helm/tickbridge/files/tickbridge-dashboard.json: valid JSON, a Grafana dashboard
#    (uid, schemaVersion, unique panel ids, every target an expr with a refId and the
#    ${datasource} variable), the panel rows the issue asks for;
# 4. with a binary: starts `tickbridge replay demo/coinbase.jsonl` and two bridges on
#    it (sink "null" for the source/sink/latency families, sink "kafka" to a closed
#    port for the Kafka-only ones), reads both /metrics, and asserts that every metric
#    name of every rule expression and of every dashboard expression (panels and
#    template variables) is exposed. Histograms count by their sample names
#    (_bucket/_sum/_count).
#
# promtool comes from Debian's `prometheus` package: installed with apt-get when
# missing and running as root (CI), else this fails saying how to install it.
# Ends with "check-alerts: N passed, M failed"; exits non-zero if M > 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${TICKBRIDGE_BIN:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    *) sed -n '2,25p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
  esac
done

die() { echo "check-alerts: $*" >&2; echo "check-alerts: 0 passed, 1 failed"; exit 1; }

if ! command -v promtool >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "check-alerts: installing promtool (Debian package prometheus)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } >/dev/null \
      || die "apt-get install prometheus failed"
  else
    die "promtool not found: apt-get install prometheus (Debian), or put promtool on PATH"
  fi
fi
echo "check-alerts: $(promtool --version 2>&1 | head -1)"
command -v python3 >/dev/null || die "python3 not found"
python3 -c 'import yaml' 2>/dev/null || die "PyYAML missing (pip install pyyaml; scripts/check-deploy.sh installs it)"
if [[ -n "$BIN" ]]; then
  [[ -x "$BIN" ]] || die "--bin $BIN is not an executable"
  BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
fi

exec python3 - "$ROOT" "$BIN" <<'PYEOF'
import glob, json, os, re, subprocess, sys, tempfile, time, urllib.request

import yaml

ROOT, BIN = sys.argv[1], sys.argv[2]
RULES = os.path.join(ROOT, "helm/tickbridge/files/tickbridge-rules.yaml")
DASH = os.path.join(ROOT, "helm/tickbridge/files/tickbridge-dashboard.json")
TESTS = sorted(glob.glob(os.path.join(ROOT, "docs/alerts/tests/*.yaml")))
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


# --- promtool ------------------------------------------------------------------------
print("\n== promtool")
p = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
check("promtool check rules helm/tickbridge/files/tickbridge-rules.yaml", p.returncode == 0, (p.stdout + p.stderr)[-1500:])
check("rule tests exist (docs/alerts/tests/*.yaml)", bool(TESTS))
for t in TESTS:
    p = subprocess.run(["promtool", "test", "rules", t], capture_output=True, text=True, cwd=os.path.dirname(t))
    check(f"promtool test rules {os.path.relpath(t, ROOT)}", p.returncode == 0, (p.stdout + p.stderr)[-3000:])

rules = yaml.safe_load(open(RULES))
alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
tested = {}  # alert -> (fires, does-not-fire)
for t in TESTS:
    for case in yaml.safe_load(open(t)).get("tests", []):
        for a in case.get("alert_rule_test", []):
            f = tested.setdefault(a["alertname"], [False, False])
            f[0 if a.get("exp_alerts") else 1] = True
for r in alerts:
    name = r["alert"]
    check(f"{name}: has a test where it fires and one where it does not", tested.get(name) == [True, True],
          f"fires/does not: {tested.get(name)}")
    check(f"{name}: severity label and summary/description annotations",
          r.get("labels", {}).get("severity") in ("warning", "critical")
          and {"summary", "description"} <= set(r.get("annotations", {})))
untested = set(tested) - {r["alert"] for r in alerts}
check("tests name only existing alerts", not untested, f"{sorted(untested)}")


# --- PromQL metric names ---------------------------------------------------------------
KEYWORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "inf", "nan", "atan2"}


def metric_names(expr):
    """Metric names an expression selects (functions, keywords, labels, durations skipped)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    m = re.fullmatch(r"\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?.*", e, re.S)
    if m and "{" not in e:
        return {m.group(1)} if m.group(1) else set()
    if m:
        e = e[e.index("(") + 1:e.rindex(",")] if "," in e else e[e.index("(") + 1:-1]
    e = re.sub(r"\{[^}]*\}", " ", e)          # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)         # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\boffset\s+-?\S+", " ", e)
    e = re.sub(r"@\s*\S+", " ", e)
    e = re.sub(r"\b\d[\w.+-]*", " ", e)        # numbers (1e3, 0.99, 5m)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or m.group(0).lower() in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


print("\n== the metric-name extractor")
for expr, want in [
    ('sum by (exchange, market) (rate(tickbridge_gaps_total{instance=~"$instance"}[$__rate_interval]))', {"tickbridge_gaps_total"}),
    ("histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) > 2.5", {"a_bucket"}),
    ("a == 0 unless ignoring (sink) b == 1", {"a", "b"}),
    ('x / on(instance) group_left(version) tickbridge_build_info{version="1"} offset 5m', {"x", "tickbridge_build_info"}),
    ("label_values(tickbridge_build_info, instance)", {"tickbridge_build_info"}),
    ("resets(c_total[30m]) > 2 and d", {"c_total", "d"}),
]:
    check(f"extracts {sorted(want)} from {expr!r}", metric_names(expr) == want, f"got {sorted(metric_names(expr))}")

rule_exprs = [(f"rule {r['alert']}", r["expr"]) for r in alerts]


# --- dashboard -------------------------------------------------------------------------
print("\n== dashboard helm/tickbridge/files/tickbridge-dashboard.json")
try:
    dash = json.load(open(DASH))
    ok = True
except (OSError, ValueError) as e:
    dash, ok = {}, False
    print(f"  ({e})")
check("dashboard is JSON", ok)


def all_panels(ps):
    for p in ps or []:
        yield p
        yield from all_panels(p.get("panels"))


panels = list(all_panels(dash.get("panels")))
check("dashboard: uid, title, schemaVersion, panels", bool(dash.get("uid")) and bool(dash.get("title"))
      and isinstance(dash.get("schemaVersion"), int) and bool(panels))
ids = [p.get("id") for p in panels]
check("dashboard: panel ids unique integers", all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)))
check("dashboard: every panel has a gridPos", all({"h", "w", "x", "y"} <= set(p.get("gridPos") or {}) for p in panels))
variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list", [])}
check("dashboard: a prometheus datasource variable", (variables.get("datasource") or {}).get("type") == "datasource"
      and variables["datasource"].get("query") == "prometheus")
dash_exprs = []
for p in panels:
    if p.get("type") == "row":
        continue
    targets = p.get("targets") or []
    check(f"panel {p.get('title')!r}: has targets, each an expr with a refId",
          bool(targets) and all(t.get("expr") and t.get("refId") for t in targets))
    check(f"panel {p.get('title')!r}: uses the ${{datasource}} variable",
          (p.get("datasource") or {}).get("uid") == "${datasource}")
    dash_exprs += [(f"panel {p.get('title')!r}", t.get("expr", "")) for t in targets]
for name, v in variables.items():
    if v.get("type") == "query":
        q = v.get("query")
        dash_exprs.append((f"variable ${name}", q.get("query") if isinstance(q, dict) else q))
rows = {p.get("title", "").lower() for p in panels if p.get("type") == "row"}
for want in ("feeds", "throughput", "acks", "latency", "losses", "queue"):
    check(f"dashboard: a {want!r} row", any(r.startswith(want) for r in rows), f"rows: {sorted(rows)}")
titles = " ".join(p.get("title", "").lower() for p in panels)
check("dashboard: a lag panel", "lag" in titles)
for what, expr in dash_exprs + rule_exprs:
    check(f"{what}: expression names a metric", bool(metric_names(expr)), expr)


# --- live /metrics ----------------------------------------------------------------------
def live_metric_names(binary):
    """Sample names of two bridges' /metrics: null sink (sources, latency) and Kafka (down)."""
    procs, names, bodies = [], set(), []
    tmp = tempfile.mkdtemp(prefix="check-alerts.")

    def spawn(args, err_name):
        err = open(os.path.join(tmp, err_name), "w+")
        p = subprocess.Popen([binary, "--log-format", "json"] + args, stdout=subprocess.PIPE, stderr=err, text=True)
        procs.append(p)
        return p, err

    def wait_for(what, f, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = f()
            if v:
                return v
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what}")

    try:
        replay, _ = spawn(["replay", os.path.join(ROOT, "demo/coinbase.jsonl"), "--listen", "127.0.0.1:0", "--speed", "1"], "replay.err")
        line = replay.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"replay printed {line!r}")
        ws = "ws://" + line.split()[-1]
        import socket
        s = socket.socket(); s.bind(("127.0.0.1", 0)); closed_port = s.getsockname()[1]; s.close()
        sinks = {"null": '[sink]\nkind = "null"\n',
                 "kafka": f'[sink]\nkind = "kafka"\n[sink.kafka]\nbrokers = "127.0.0.1:{closed_port}"\n'}
        want = {"null": ("tickbridge_connections_subscribed{", "tickbridge_receive_to_ack_latency_seconds_bucket{"),
                "kafka": ("tickbridge_sink_outages_total{",)}
        for sink, table in sinks.items():
            cfg = os.path.join(tmp, f"{sink}.toml")
            with open(cfg, "w") as f:
                f.write(f'[[source]]\nexchange = "coinbase"\nchannels = ["trade", "bbo"]\nsymbols = ["BTC-USD"]\n'
                        f'ws_url = "{ws}"\n\n{table}\n[instruments]\non_unavailable = "unverified"\n'
                        f'cache_dir = "{tmp}/instruments-{sink}"\n\n[ops]\nlisten = "127.0.0.1:0"\n')
            env = {k: v for k, v in os.environ.items() if not k.startswith("TICKBRIDGE")}
            p = subprocess.Popen([binary, "--log-format", "json", "run", "--config", cfg], stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp, f"{sink}.err"), "w"), env=env)
            procs.append(p)

            def ops_addr():
                for l in open(os.path.join(tmp, f"{sink}.err")):
                    m = re.search(r'"message":"ops listening on ([^"]+)"', l)
                    if m:
                        return m.group(1)
                if p.poll() is not None:
                    raise RuntimeError(f"bridge ({sink} sink) exited: " + open(os.path.join(tmp, f"{sink}.err")).read()[-800:])
            addr = wait_for(f"the {sink} bridge's ops address", ops_addr)

            def metrics():
                try:
                    body = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
                except OSError:
                    return None
                return body if all(w in body for w in want[sink]) else None
            body = wait_for(f"the {sink} bridge's metrics ({', '.join(want[sink])})", metrics)
            bodies.append(body)
            for l in body.splitlines():
                if l and not l.startswith("#"):
                    names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", l).group(0))
        return names, bodies
    finally:
        for p in procs:
            p.kill()
            p.wait()


if BIN:
    print(f"\n== every metric name exists in a live /metrics ({BIN})")
    try:
        live, bodies = live_metric_names(BIN)
        check("live /metrics read from both bridges", len(bodies) == 2 and len(live) > 20, f"{len(live)} names")
    except Exception as e:  # noqa: BLE001 — report, do not hide behind a traceback
        live = set()
        check("live /metrics read from both bridges", False, repr(e))
    if live:
        for what, expr in rule_exprs + dash_exprs:
            missing = sorted(metric_names(expr) - live)
            check(f"{what}: metrics exist ({', '.join(sorted(metric_names(expr)))})", not missing,
                  f"not in /metrics: {missing}")
else:
    print("\n== live /metrics check skipped (no --bin / TICKBRIDGE_BIN)")

print()
for name in failed:
    print(f"FAILED: {name}")
print(f"check-alerts: {passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PYEOF
