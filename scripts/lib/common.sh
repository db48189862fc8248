# Shared by the scripts: where the repository, the Fabric install and the
# network state live, and small helpers. Source it; do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FABRIC_HOME="${FABRIC_HOME:-$REPO_ROOT/.fabric}"
# The active release (install-fabric.sh points these at .fabric/releases/<r>/).
FABRIC_BIN_DIR="$FABRIC_HOME/bin"
FABRIC_CONFIG_DIR="$FABRIC_HOME/config"
CCAAS_BUILDER_DIR="$FABRIC_HOME/builders/ccaas"
NETWORK_HOME="${NETWORK_HOME:-$REPO_ROOT/.network}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The active Fabric release ("3.1.5", "2.5.16"), written by install-fabric.sh.
fabric_version() {
    [[ -f "$FABRIC_HOME/VERSION" ]] || die "Fabric is not installed: run scripts/install-fabric.sh"
    cat "$FABRIC_HOME/VERSION"
}

fabric_major() { local v; v="$(fabric_version)"; echo "${v%%.*}"; }
