#!/usr/bin/env bash
# The operators' own CRDs (and CloudNativePG's default metrics queries) for the strict-validation
# and alert-rule tests, taken from the operators' Go modules at the releases the pinned charts ship
# (versions.json: cnpgChart 0.29.1 ships operator v1.30.1; barmanCloudPluginChart 0.8.0 ships the
# plugin v0.15.0; kubePrometheusStackChart 60.3.0 ships prometheus-operator v0.74.0). `go mod
# download` verifies each module against the Go checksum database. Idempotent; cached under
# .cache/operators/.
set -euo pipefail
cd "$(dirname "$0")/.."
version() { node -p "require('./versions.json').$1"; }
CACHE=${MATRIX_SCALE_CACHE:-$PWD/.cache}

fetch() { # module version name crd-dir [extra files...]
  local module=$1 ver=$2 name=$3 crds=$4
  shift 4
  local dest="$CACHE/operators/$name-$ver"
  if [ ! -f "$dest/.installed" ]; then
    echo "install-operator-schemas: $module@$ver (Go module proxy)"
    local dir
    dir=$(cd "$(mktemp -d)" && GOPATH="$CACHE/go" GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "$module@$ver" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})')
    rm -rf "$dest"
    mkdir -p "$dest/crds"
    cp "$dir/$crds"/*.yaml "$dest/crds/"
    for f in "$@"; do cp "$dir/$f" "$dest/"; done
    chmod -R u+w "$dest"
    touch "$dest/.installed"
  fi
  ln -sfn "$dest" "$CACHE/operators/$name"
}

mkdir -p "$CACHE/operators"
fetch github.com/cloudnative-pg/cloudnative-pg "$(version cnpgOperator)" cloudnative-pg config/crd/bases config/manager/default-monitoring.yaml
fetch github.com/cloudnative-pg/plugin-barman-cloud "$(version barmanCloudPlugin)" plugin-barman-cloud config/crd/bases
fetch github.com/prometheus-operator/prometheus-operator "$(version prometheusOperator)" prometheus-operator example/prometheus-operator-crd
