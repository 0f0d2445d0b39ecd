# Shared settings of docker/setup and docker/run (sourced, not executed).
#
# Environment variables (all optional):
#   FEM_SSE_RUNTIME  auto (default) | native | chroot. auto uses the host Python when it
#                    imports DOLFINx >= 0.9 (default suite only), else the chroot runtime.
#   FEM_SSE_SUITE    Debian suite of the chroot runtime: trixie (default, DOLFINx 0.9) or sid
#                    (the second lane: DOLFINx 0.11, Python 3.14, PETSc 3.25, OpenMPI 6; .ci/run
#                    runs the suite on both). Each suite gets its own rootfs-SUITE-HASH directory;
#                    sid is unversioned, so a rebuild (new package list) may bring a newer DOLFINx.
#   FEM_SSE_CACHE    machine-wide cache directory (default /var/cache/fem_sse).
#   FEM_SSE_ROOTFS   explicit root file system directory (overrides the hash-keyed default).
#   FEM_SSE_MIRROR   Debian mirror (default http://deb.debian.org/debian).

set -euo pipefail

FEM_SSE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FEM_SSE_SUITE=${FEM_SSE_SUITE:-trixie}
FEM_SSE_CACHE=${FEM_SSE_CACHE:-/var/cache/fem_sse}
FEM_SSE_MIRROR=${FEM_SSE_MIRROR:-http://deb.debian.org/debian}
FEM_SSE_RUNTIME=${FEM_SSE_RUNTIME:-auto}
# Bump when the recipe in docker/setup changes in a way that needs a rebuild.
FEM_SSE_RECIPE=3
FEM_SSE_VENV=/opt/fem-sse-venv

die() { echo "fem_sse runtime: $*" >&2; exit 1; }

# Debian package names of the runtime (column 1 of docker/packages.txt).
debian_packages() { grep -v '^[[:space:]]*#' "$FEM_SSE_REPO/docker/packages.txt" | awk 'NF {print $1}'; }

runtime_key() {
  { echo "recipe=$FEM_SSE_RECIPE suite=$FEM_SSE_SUITE"; debian_packages; } | sha256sum | cut -c1-12
}

rootfs_dir() {
  if [ -n "${FEM_SSE_ROOTFS:-}" ]; then echo "$FEM_SSE_ROOTFS"
  else echo "$FEM_SSE_CACHE/rootfs-$FEM_SSE_SUITE-$(runtime_key)"; fi
}

# True when the host Python already has DOLFINx >= 0.9 (then no chroot is needed).
native_dolfinx() {
  python3 - <<'PY' >/dev/null 2>&1
import sys
import dolfinx
major, minor = (int(p) for p in dolfinx.__version__.split(".")[:2])
sys.exit(0 if (major, minor) >= (0, 9) else 1)
PY
}

use_native() {
  case "$FEM_SSE_RUNTIME" in
    native) return 0 ;;
    chroot) return 1 ;;
    auto) [ "$FEM_SSE_SUITE" = trixie ] && native_dolfinx ;;  # sid asks for its own lane
    *) die "FEM_SSE_RUNTIME must be auto, native or chroot (got '$FEM_SSE_RUNTIME')" ;;
  esac
}

# MPI as root inside containers and chroots: allowed explicitly, shared-memory transport only.
mpi_env() {
  local map=PRTE_MCA_rmaps_default_mapping_policy  # Open MPI 5 (trixie)
  [ "$FEM_SSE_SUITE" = sid ] && map=PRTE_MCA_mapby  # Open MPI 6 renamed it and warns on the old
  echo OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,sm \
    OMPI_MCA_rmaps_base_oversubscribe=1 "$map=:oversubscribe" \
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
}

# Run "$@" inside ROOT with the repository at /work, in a private mount namespace so that
# concurrent or crashed runs never leave mounts behind. $FEM_SSE_CWD is the directory (relative
# to the repository) to start in, or $FEM_SSE_WORKDIR an absolute one; $FEM_SSE_SHARE lists
# (one a line) host folders to bind read-write at the same path (docker/run: the user's home
# and working folder). Caches (DOLFINx's JIT, pip, matplotlib) stay in the runtime, and the
# host home's ~/.local Python packages are not imported (PYTHONNOUSERSITE).
chroot_exec() {
  local root=$1; shift
  local pass=()
  local var
  for var in CI TERM COLUMNS PYTEST_ADDOPTS FEM_SSE_LOG_LEVEL DISPLAY; do
    if [ -n "${!var:-}" ]; then pass+=("$var=${!var}"); fi
  done
  # shellcheck disable=SC2046
  exec unshare --mount --propagation private -- /bin/bash -c '
    set -e
    root=$1; repo=$2; share=$3; shift 3
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys" 2>/dev/null || true
    mkdir -p "$root/work" "$root/tmp" "$root/var/cache/fem_sse-home"
    mount --bind "$repo" "$root/work"
    mount --bind /tmp "$root/tmp"
    while IFS= read -r dir; do
      [ -n "$dir" ] || continue
      mkdir -p "$root$dir"
      mount --rbind "$dir" "$root$dir"
    done <<< "$share"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" "$@"
  ' fem-sse-run "$root" "$FEM_SSE_REPO" "${FEM_SSE_SHARE:-}" \
    /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 LANG=C.UTF-8 \
    XDG_CACHE_HOME=/var/cache/fem_sse-home \
    PATH="$FEM_SSE_VENV/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin" \
    PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 MPLBACKEND=Agg $(mpi_env) "${pass[@]}" \
    /bin/sh -c 'cd "$0" && exec "$@"' "${FEM_SSE_WORKDIR:-/work/${FEM_SSE_CWD:-.}}" "$@"
}
