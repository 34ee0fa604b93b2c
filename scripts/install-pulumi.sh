#!/usr/bin/env bash
# Installs the real Pulumi engine for the engine tests, idempotently and cached under .cache/:
#   Go module proxy: the Pulumi CLI (scripts/pulumi-engine/cli) and the Kubernetes provider
#   (scripts/pulumi-engine/kubernetes), at the versions versions.json pins, which are the versions
#   package-lock.json's @pulumi/pulumi and @pulumi/kubernetes ask for;
#   the random provider's test-only stand-in (test/engine/random-standin.ts), installed as the
#   plugin @pulumi/random asks for, because the module proxy does not serve the real one.
# No Node.js language host is needed: the tests drive the engine through the Automation API, whose
# inline programs run in the test's own process.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too
cd "$(dirname "$0")/.."
root=$PWD
json() { node -p "const v=require('./versions.json'); $1"; }
locked() { node -p "require('./package-lock.json').packages['node_modules/$1'].version"; }

PULUMI_VERSION=$(json 'v.pulumi')
K8S_VERSION=$(json 'v.pulumiKubernetes.version')
K8S_MODULE=$(json 'v.pulumiKubernetes.module')
RANDOM_VERSION=$(locked @pulumi/random)

CACHE=${MATRIX_SCALE_CACHE:-$PWD/.cache}
# -mod=readonly: the builds use exactly the committed go.mod and go.sum, never an upgraded dependency.
export GOPATH="$CACHE/go" GOFLAGS=-mod=readonly PULUMI_SKIP_UPDATE_CHECK=true
# What is tested is what operators run: the CLI and the provider match the SDKs the program uses.
[ "v$(locked @pulumi/pulumi)" = "$PULUMI_VERSION" ] || { echo "install-pulumi: @pulumi/pulumi $(locked @pulumi/pulumi) in package-lock.json, versions.json pins the CLI at $PULUMI_VERSION" >&2; exit 1; }
[ "$(locked @pulumi/kubernetes)" = "$K8S_VERSION" ] || { echo "install-pulumi: @pulumi/kubernetes $(locked @pulumi/kubernetes) in package-lock.json, versions.json pins the provider at $K8S_VERSION" >&2; exit 1; }
grep -qE "^\s+github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION\$" scripts/pulumi-engine/cli/go.mod || { echo "install-pulumi: scripts/pulumi-engine/cli/go.mod does not require pkg/v3 $PULUMI_VERSION" >&2; exit 1; }
grep -qE "provider/v4 $K8S_MODULE\$" scripts/pulumi-engine/kubernetes/go.mod || { echo "install-pulumi: scripts/pulumi-engine/kubernetes/go.mod does not require provider/v4 $K8S_MODULE" >&2; exit 1; }

export PULUMI_HOME="$CACHE/pulumi-home"
mkdir -p "$CACHE/bin" "$CACHE/build" "$PULUMI_HOME"
hash_of() { cat "$@" | sha256sum | cut -c1-12; }

# Builds a wrapper module in .cache/build/<name>: its go.mod and go.sum from scripts/, its main
# package copied from the module cache.
stage() {
  local name=$1 module=$2 dir=$3
  local build="$CACHE/build/$name"
  rm -rf "$build" && mkdir -p "$build"
  cp "scripts/pulumi-engine/$name/go.mod" "scripts/pulumi-engine/$name/go.sum" "$build/"
  (cd "$build" && go mod download "$module")
  local src
  src="$(cd "$build" && go list -m -f '{{.Dir}}' "${module%@*}")/$dir"
  # The main package's own files (sources and the JSON its generate step reads), not its tests or subpackages.
  find "$src" -maxdepth 1 -type f \( -name '*.go' -o -name '*.json' \) ! -name '*_test.go' -exec cp {} "$build/" \;
  chmod -R u+w "$build"
  echo "$build"
}

cli_bin="$CACHE/bin/pulumi-$PULUMI_VERSION-$(hash_of scripts/pulumi-engine/cli/go.mod scripts/pulumi-engine/cli/go.sum)"
if [ ! -x "$cli_bin" ]; then
  echo "install-pulumi: building the Pulumi CLI $PULUMI_VERSION (Go module proxy; several minutes on a fresh machine)"
  build=$(stage cli "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" cmd/pulumi)
  (cd "$build" && go build -trimpath -ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" -o "$cli_bin.tmp" .)
  mv "$cli_bin.tmp" "$cli_bin"
fi
mkdir -p "$CACHE/pulumi/bin"
ln -sfn "$cli_bin" "$CACHE/pulumi/bin/pulumi"
pulumi="$CACHE/pulumi/bin/pulumi"
"$pulumi" version | grep -qx "$PULUMI_VERSION" || { echo "install-pulumi: $pulumi reports $("$pulumi" version), expected $PULUMI_VERSION" >&2; exit 1; }

k8s_bin="$CACHE/bin/pulumi-resource-kubernetes-$K8S_VERSION-$(hash_of scripts/pulumi-engine/kubernetes/go.mod scripts/pulumi-engine/kubernetes/go.sum)"
if [ ! -x "$k8s_bin" ]; then
  echo "install-pulumi: building the Pulumi Kubernetes provider $K8S_VERSION (Go module proxy; several minutes on a fresh machine)"
  build=$(stage kubernetes "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_MODULE" cmd/pulumi-resource-kubernetes)
  # The provider's own generate step writes the two files its main package embeds.
  (cd "$build" && VERSION="$K8S_VERSION" go run generate.go && rm generate.go)
  (cd "$build" && go build -trimpath -ldflags="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION" -o "$k8s_bin.tmp" .)
  mv "$k8s_bin.tmp" "$k8s_bin"
fi

# Plugins, installed as the SDKs ask for them (re-installed when the binary or stand-in changes).
install_plugin() {
  local name=$1 version=$2 file=$3
  local stamp="$PULUMI_HOME/plugins/.matrix-scale-$name-$version"
  local want
  want=$(hash_of "$file")
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$pulumi" plugin rm resource "$name" "$version" --yes >/dev/null 2>&1 || true
    "$pulumi" plugin install resource "$name" "$version" --file "$file" >/dev/null
    echo "$want" > "$stamp"
  fi
}
install_plugin kubernetes "$K8S_VERSION" "$k8s_bin"

# The random stand-in: a launcher for test/engine/random-standin.ts, run by this checkout's tsx.
launcher="$CACHE/bin/pulumi-resource-random-standin"
cat > "$launcher.tmp" <<EOF
#!/bin/sh
# TEST-ONLY STAND-IN for the random provider (see test/engine/random-standin.ts).
exec "$root/node_modules/.bin/tsx" "$root/test/engine/random-standin.ts" "\$@"
EOF
chmod +x "$launcher.tmp" && mv "$launcher.tmp" "$launcher"
# The launcher runs the checkout's stand-in, so the plugin follows its source without reinstalling.
install_plugin random "$RANDOM_VERSION" "$launcher"
