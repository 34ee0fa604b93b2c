#!/usr/bin/env bash
# The AWS Load Balancer Controller's IAM policy as @aws-quickstart/eks-blueprints publishes it
# (versions.json: eksBlueprints), for the test that compares it with the committed policy
# (components/nodepools/aws-load-balancer-controller-policy.json). `npm pack` from the npm registry,
# the tarball checked against the pinned integrity; never a dependency of the project.
# Idempotent; cached under .cache/eks-blueprints-<version>/.
set -euo pipefail
cd "$(dirname "$0")/.."
version() { node -p "require('./versions.json').$1"; }
CACHE=${MATRIX_SCALE_CACHE:-$PWD/.cache}
VERSION=$(version eksBlueprints.version)
INTEGRITY=$(version eksBlueprints.integrity)
dest="$CACHE/eks-blueprints-$VERSION"

if [ ! -f "$dest/.installed" ]; then
  echo "install-eks-blueprints: @aws-quickstart/eks-blueprints@$VERSION (npm registry)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  got=$(cd "$tmp" && npm pack --json --silent "@aws-quickstart/eks-blueprints@$VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
  if [ "$got" != "$INTEGRITY" ]; then
    echo "install-eks-blueprints: integrity $got, expected $INTEGRITY" >&2
    exit 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$dest" --strip-components=1 package/package.json package/dist/addons/aws-loadbalancer-controller
  touch "$dest/.installed"
fi
ln -sfn "$dest" "$CACHE/eks-blueprints"
