#!/usr/bin/env bash
# Installs the control-plane test bed, idempotently and cached under .cache/:
#   Go module proxy: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl, one
#   binary built from scripts/kube-testbed (Kubernetes at the release versions.json pins), and KWOK.
#   kwok's own node and pod stages, taken from the module it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
version() { node -p "require('./versions.json').$1"; }
KUBERNETES_VERSION=$(version kubernetes)
KWOK_VERSION=$(version kwok)

CACHE=${MATRIX_SCALE_CACHE:-$PWD/.cache}
export GOPATH="$CACHE/go" GOFLAGS=-mod=mod
mkdir -p "$CACHE/bin"

# The wrapper module must build the release versions.json names, with every staging module at its match.
staging=v0${KUBERNETES_VERSION#v1}
grep -qE "^(require )?\s*k8s\.io/kubernetes $KUBERNETES_VERSION\$" scripts/kube-testbed/go.mod || {
  echo "install-kube: scripts/kube-testbed/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION (versions.json)" >&2
  exit 1
}
if grep -E '^\s+k8s\.io/[a-z-]+ => k8s\.io/[a-z-]+ v' scripts/kube-testbed/go.mod | grep -vq " $staging\$"; then
  echo "install-kube: a staging module in scripts/kube-testbed/go.mod is not at $staging" >&2
  exit 1
fi

# Rebuilt when the wrapper's sources change (a content hash in the binary's name).
source_hash=$(cat scripts/kube-testbed/go.mod scripts/kube-testbed/go.sum scripts/kube-testbed/main.go | sha256sum | cut -c1-12)
kube_bin="$CACHE/bin/kube-testbed-$KUBERNETES_VERSION-$source_hash"
if [ ! -x "$kube_bin" ]; then
  echo "install-kube: building Kubernetes $KUBERNETES_VERSION components (Go module proxy; ~5 min on a fresh machine)"
  (cd scripts/kube-testbed && go build -trimpath -ldflags="-s -w" -o "$kube_bin.tmp" .)
  mv "$kube_bin.tmp" "$kube_bin"
fi
ln -sfn "$kube_bin" "$CACHE/bin/kube-testbed"

kwok_bin="$CACHE/bin/kwok-$KWOK_VERSION"
if [ ! -x "$kwok_bin" ]; then
  echo "install-kube: building KWOK $KWOK_VERSION (Go module proxy)"
  GOBIN="$CACHE/gobin-kwok" go install -trimpath -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$CACHE/gobin-kwok/kwok" "$kwok_bin"
fi
ln -sfn "$kwok_bin" "$CACHE/bin/kwok"

# kwok runs the stages it is given: node readiness and heartbeats (with leases), pod start, completion, deletion.
stages_dir="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
[ -d "$stages_dir" ] || go mod download "sigs.k8s.io/kwok@$KWOK_VERSION"
{
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"
    cat "$stages_dir/$f"
  done
} > "$CACHE/kwok-stages.yaml.tmp"
mv "$CACHE/kwok-stages.yaml.tmp" "$CACHE/kwok-stages.yaml"
