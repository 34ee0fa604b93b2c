#!/usr/bin/env bash
# Installs what the integration tests start on loopback, idempotently and cached under .cache/:
#   Debian: PostgreSQL, Redis (server + sentinel), HAProxy, iproute2
#   Debian: coturn, Prometheus (promtool)
#   Go module proxy: MinIO, LiveKit, the OpenTelemetry Collector (scripts/otelcol, the log agent);
#                    the operators' CRDs (scripts/install-operator-schemas.sh);
#                    the Kubernetes control plane and KWOK (scripts/install-kube.sh);
#                    the Pulumi CLI and Kubernetes provider (scripts/install-pulumi.sh)
#   PyPI:   Synapse (postgres + redis extras), the S3 storage provider (images/synapse/requirements.txt,
#           hashes required), matrix-nio (the test client);
#           network-config-analyzer (the NetworkPolicy analyzer the isolation test asks);
#           barman with its cloud tools (what CloudNativePG runs to back up and restore)
set -euo pipefail
cd "$(dirname "$0")/.."
version() { node -p "require('./versions.json').$1"; }
SYNAPSE_VERSION=$(version synapse)
MATRIX_NIO_VERSION=$(version matrixNio)

CACHE=${MATRIX_SCALE_CACHE:-$PWD/.cache}
mkdir -p "$CACHE"

# A cold install writes about 6 GB under the cache (Go modules 4.2, built tools 0.9, Python venvs 0.4,
# Pulumi plugins 0.3) and Go's build cache grows by a few more; a full disk would stop it halfway
# with Go's "no space left on device". Say so before starting.
COLD_INSTALL_GIB=10
if [ ! -d "$CACHE/go/pkg/mod" ]; then
  free_gib=$(( $(df --output=avail -k "$CACHE" | tail -1) / 1024 / 1024 ))
  if [ "$free_gib" -lt "$COLD_INSTALL_GIB" ]; then
    echo "install-integration: $free_gib GiB free on the disk of $CACHE; a first install needs about $COLD_INSTALL_GIB GiB. Free space there or set MATRIX_SCALE_CACHE to a directory on a larger disk." >&2
    exit 1
  fi
fi

need_apt=()
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-sentinel >/dev/null || need_apt+=(redis-sentinel)
command -v turnserver >/dev/null || need_apt+=(coturn)
command -v promtool >/dev/null || need_apt+=(prometheus)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# network namespaces (test hosts of our own) and mount namespaces for the MinIO pool test
command -v ip >/dev/null || need_apt+=(iproute2)
command -v unshare >/dev/null || need_apt+=(util-linux)
# Synapse runs with jemalloc preloaded, as the image's start script and the pods' command do.
[ -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || need_apt+=(libjemalloc2)
# barman-cloud runs as PostgreSQL's archive and restore commands, as the postgres user, so its venv is
# built on the system Python (a per-user Python under /root is out of that user's reach); psycopg2
# compiles against libpq.
/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
ls /usr/include/python3*/Python.h >/dev/null 2>&1 || need_apt+=(python3-dev)
command -v pg_config >/dev/null || need_apt+=(libpq-dev)
# certificates for the test control plane
command -v openssl >/dev/null || need_apt+=(openssl)
# the MinIO restart Job's script (curl against the API server) runs on the test control plane
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-integration: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts the packaged services; the tests run their own instances on other ports.
  for svc in redis-server redis-sentinel haproxy postgresql coturn prometheus prometheus-node-exporter; do service "$svc" stop >/dev/null 2>&1 || true; done
fi

venv="$CACHE/venv-synapse-$SYNAPSE_VERSION"
stamp="$venv/.installed"
# The media provider from the file the Synapse image is built from, hashes required (images/synapse).
media_requirements="$PWD/images/synapse/requirements.txt"
want="synapse=$SYNAPSE_VERSION media=$(sha256sum "$media_requirements" | cut -c1-12) nio=$MATRIX_NIO_VERSION"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-integration: Synapse $SYNAPSE_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "matrix-synapse[postgres,redis]==$SYNAPSE_VERSION" \
    "matrix-nio==$MATRIX_NIO_VERSION"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r "$media_requirements"
  "$venv/bin/pip" check
  echo "$want" > "$stamp"
fi
ln -sfn "$venv" "$CACHE/venv-synapse"
# The log formatter the rendered log configuration names, into site-packages as the image's Dockerfile puts it.
cp "$PWD/images/synapse/matrix_scale_logging.py" "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"

# A tool from PyPI in a venv of its own, once per version:
# venv_tool NAME VERSION PYTHON REQUIREMENT BINARY [PARENT DIR, default the cache]; linked as $CACHE/venv-NAME.
venv_tool() {
  local name=$1 ver=$2 python=$3 requirement=$4 binary=$5 parent=${6:-$CACHE}
  local dir="$parent/venv-$name-$ver"
  if [ ! -x "$dir/bin/$binary" ]; then
    echo "install-integration: $requirement into $dir"
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$requirement"
  fi
  ln -sfn "$dir" "$CACHE/venv-$name"
}

# An analyzer of NetworkPolicies written apart from this project (it pins its own dependencies).
NCA_VERSION=$(version networkConfigAnalyzer)
venv_tool nca "$NCA_VERSION" python3 "network-config-analyzer==$NCA_VERSION" nca

# barman-cloud: the backup and restore tools CloudNativePG runs, for the restore drill. PostgreSQL
# runs them as the postgres user, hence the system Python (see the packages above) and, when the
# tests run as root, a venv outside the checkout, whose directories that user may not enter.
BARMAN_VERSION=$(version barman)
barman_parent=$CACHE
if [ "$(id -u)" = 0 ]; then
  barman_parent=${MATRIX_SCALE_SHARED_CACHE:-/var/cache/matrix-scale}
  mkdir -p "$barman_parent" && chmod 755 "$barman_parent"
fi
venv_tool barman "$BARMAN_VERSION" /usr/bin/python3 "barman[cloud]==$BARMAN_VERSION" barman-cloud-restore "$barman_parent"

# A Go program built from the Go module proxy at a pinned version, once per version:
# go_tool NAME PACKAGE VERSION [BUILT NAME, default the package's last element]; linked as $CACHE/bin/NAME.
go_tool() {
  local name=$1 package=$2 version=$3 built=${4:-${2##*/}}
  local bin="$CACHE/bin/$name-$version"
  if [ ! -x "$bin" ]; then
    echo "install-integration: building $name $version (Go module proxy)"
    mkdir -p "$CACHE/bin" "$CACHE/go"
    GOPATH="$CACHE/go" GOBIN="$CACHE/gobin-$name" GOFLAGS=-mod=mod go install "$package@$version"
    mv "$CACHE/gobin-$name/$built" "$bin"
  fi
  ln -sfn "$bin" "$CACHE/bin/$name"
}

# MinIO.
go_tool minio github.com/minio/minio "$(version minio)"
# MinIO's client (mc), for the rendered bucket setup script; the setup Job's image is built from the
# same version (images/mc). The module proxy serves mc only as commits, no release tags.
go_tool mc github.com/minio/mc "$(version mc)"
# LiveKit server. Releases after 1.9 replace pion modules with LiveKit forks the module proxy does not serve.
go_tool livekit-server github.com/livekit/livekit-server/cmd/server "$(version livekit)" server

# The log agent: the OpenTelemetry Collector components its configuration names, at the release of the
# image the program runs (versions.json otelcol), one binary built from scripts/otelcol.
OTELCOL_VERSION=$(version otelcol)
grep -qE "^\s+go\.opentelemetry\.io/collector/otelcol $OTELCOL_VERSION\$" scripts/otelcol/go.mod || {
  echo "install-integration: scripts/otelcol/go.mod does not require go.opentelemetry.io/collector/otelcol $OTELCOL_VERSION (versions.json)" >&2
  exit 1
}
[ "$(version logAgentImage | sed 's/.*://')" = "${OTELCOL_VERSION#v}" ] || { echo "install-integration: versions.json logAgentImage is not at $OTELCOL_VERSION" >&2; exit 1; }
otelcol_hash=$(cat scripts/otelcol/go.mod scripts/otelcol/go.sum scripts/otelcol/main.go | sha256sum | cut -c1-12)
otelcol_bin="$CACHE/bin/otelcol-$OTELCOL_VERSION-$otelcol_hash"
if [ ! -x "$otelcol_bin" ]; then
  echo "install-integration: building the OpenTelemetry Collector $OTELCOL_VERSION (Go module proxy)"
  mkdir -p "$CACHE/bin" "$CACHE/go"
  (cd scripts/otelcol && GOPATH="$CACHE/go" GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w" -o "$otelcol_bin.tmp" .)
  mv "$otelcol_bin.tmp" "$otelcol_bin"
fi
ln -sfn "$otelcol_bin" "$CACHE/bin/otelcol"

# Strict validation and alert rules: CloudNativePG's and the Prometheus operator's own CRDs.
bash scripts/install-operator-schemas.sh
bash scripts/install-eks-blueprints.sh

# The control-plane tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, KWOK.
bash scripts/install-kube.sh

# The engine tests: the Pulumi CLI and the Kubernetes provider, the random provider's stand-in.
bash scripts/install-pulumi.sh
