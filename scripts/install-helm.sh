#!/usr/bin/env bash
# Install helm (v3) for tickbridge's deploy checks, without downloading any
# prebuilt binary: the Go toolchain builds it from the Go module proxy.
#
#   scripts/install-helm.sh            # prints the path of a usable `helm`
#   HELM=$(scripts/install-helm.sh)    # typical use from another script
#
# If `helm` is already on PATH (v3 or later) that one is used. Otherwise helm is
# built with `go install` into ${TICKBRIDGE_CACHE:-$HOME/.cache/tickbridge}/bin
# and reused from there on later runs (a second call returns at once).
# Cold install measured on this project's 2-core machine: 2m13s when idle (module
# downloads + compile), up to ~10 min while a Rust build competes for the cores; the
# timing is printed on stderr.
#
# Environment:
#   TICKBRIDGE_CACHE   cache root (default: $HOME/.cache/tickbridge)
#   HELM_VERSION       helm version to build (default: v3.19.0)
#   HELM_FORCE_BUILD=1 ignore a helm found on PATH
#
# Only the path is written to stdout; progress goes to stderr.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.19.0}"
CACHE="${TICKBRIDGE_CACHE:-${HOME:-/root}/.cache/tickbridge}"
BIN_DIR="$CACHE/bin"

log() { printf 'install-helm: %s\n' "$*" >&2; }

helm_ok() {
  # usable = runs and reports a v3+ version
  local v
  v="$("$1" version --short 2>/dev/null)" || return 1
  [[ "$v" =~ ^v([3-9]|[1-9][0-9]) ]]
}

if [[ "${HELM_FORCE_BUILD:-0}" != 1 ]] && command -v helm >/dev/null 2>&1 && helm_ok "$(command -v helm)"; then
  command -v helm
  exit 0
fi

STAMP="$BIN_DIR/helm.version"
if [[ -x "$BIN_DIR/helm" && -f "$STAMP" && "$(cat "$STAMP")" == "$HELM_VERSION" ]] && helm_ok "$BIN_DIR/helm"; then
  echo "$BIN_DIR/helm"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do
    [[ -x "$d/go" ]] && PATH="$d:$PATH" && break
  done
fi
if ! command -v go >/dev/null 2>&1; then
  log "no helm on PATH and no Go toolchain to build it; installing golang-go with apt"
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >&2
  fi
  command -v go >/dev/null 2>&1 || { log "error: Go toolchain not available"; exit 1; }
fi

mkdir -p "$BIN_DIR"
# Module and build caches live in the cache dir too, so a rerun is quick even if
# $HOME/go was wiped. CGO is not needed for helm.
export GOMODCACHE="${GOMODCACHE:-$CACHE/go/mod}" GOCACHE="${GOCACHE:-$CACHE/go/build}" CGO_ENABLED=0
log "building helm.sh/helm/v3/cmd/helm@$HELM_VERSION with $(go version) (cold build: a few minutes)"
start=$(date +%s)

# Same link-time settings as helm's own Makefile: without them `helm version` says
# only "v3.NN" and `helm template`/`helm lint` assume Kubernetes v1.20 as the cluster
# version (.Capabilities.KubeVersion); with them it is the client-go version helm
# was built against (v1.34 for helm v3.19).
gomod="$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
k8s_minor=""
if [[ -n "$gomod" && -f "$gomod" ]]; then
  k8s_minor="$(awk '$1 == "k8s.io/client-go" {print $2}' "$gomod" | sed -n 's/^v0\.\([0-9][0-9]*\)\..*/\1/p' | head -n1)"
fi
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
if [[ -n "$k8s_minor" ]]; then
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
else
  log "warning: could not read helm's client-go version; default Kubernetes version stays v1.20"
fi

GOBIN="$BIN_DIR" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
end=$(date +%s)

helm_ok "$BIN_DIR/helm" || { log "error: built helm does not run"; exit 1; }
echo "$HELM_VERSION" > "$STAMP"
log "built $("$BIN_DIR/helm" version --short) (Kubernetes default v1.${k8s_minor:-20}) in $((end - start))s"
echo "$BIN_DIR/helm"
