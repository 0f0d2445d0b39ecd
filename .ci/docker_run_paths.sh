#!/usr/bin/env bash
# docker/run from folders outside the repository (issue 18): relative and absolute paths in
# $HOME and /tmp work, a path the runtime cannot see is refused with one line (exit 2) and
# nothing lands in the runtime's file system. Runs on the host (called by .ci/run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
run=$repo/docker/run
source "$repo/docker/common.sh"
fail() { echo "docker/run paths: FAIL: $*" >&2; exit 1; }

study=$(mktemp -d "$HOME/fem_sse_study.XXXXXX")
scratch=$(mktemp -d /tmp/fem_sse_study.XXXXXX)
trap 'rm -rf "$study" "$scratch"' EXIT
cp "$repo/cases/fig3_bilayer.toml" "$study/my.toml"
exact=(--solver exact -q)

# relative paths from a folder outside the repository
(cd "$study" && "$run" fem-sse run my.toml -o out_rel "${exact[@]}") || fail "relative paths"
[ -f "$study/out_rel/summary.json" ] || fail "relative -o did not land in $study/out_rel"
# absolute paths into $HOME, run from /tmp; a relative path with .. into $HOME
(cd "$scratch" && "$run" fem-sse run "$study/my.toml" -o "$study/sub/out_abs" "${exact[@]}") \
  || fail "absolute paths"
[ -f "$study/sub/out_abs/summary.json" ] || fail "absolute -o did not land in $study/sub/out_abs"
mkdir "$study/deep"
(cd "$study/deep" && "$run" fem-sse run ../my.toml -o ../out_up "${exact[@]}") || fail "../ paths"
[ -f "$study/out_up/summary.json" ] || fail "-o ../out_up did not land in $study/out_up"
# the repository's files by absolute path, from outside it
(cd "$scratch" && "$run" fem-sse run "$repo/cases/fig3_bilayer.toml" -o out_case "${exact[@]}") \
  || fail "absolute path into the repository"
[ -f "$scratch/out_case/summary.json" ] || fail "-o out_case did not land in $scratch"

if ! use_native; then  # the chroot runtime: unreachable paths are refused, nothing is written
  unseen=/var/tmp/fem_sse_unseen_$$
  status=0
  message=$(cd "$study" && "$run" fem-sse run my.toml -o "$unseen" "${exact[@]}" 2>&1) || status=$?
  [ "$status" -eq 2 ] || fail "-o $unseen: exit $status (expected 2): $message"
  [ "$(printf '%s\n' "$message" | wc -l)" -eq 1 ] || fail "more than one line: $message"
  case "$message" in *"$unseen"*FEM_SSE_BIND*) ;; *) fail "message does not name the path and the fix: $message" ;; esac
  [ ! -e "$(rootfs_dir)$unseen" ] && [ ! -e "$unseen" ] || fail "$unseen was created"
  # FEM_SSE_BIND shares it
  mkdir -p "$unseen"
  (cd "$study" && FEM_SSE_BIND=$unseen "$run" fem-sse run my.toml -o "$unseen/out" "${exact[@]}") \
    || { rm -rf "$unseen"; fail "FEM_SSE_BIND"; }
  [ -f "$unseen/out/summary.json" ] || { rm -rf "$unseen"; fail "FEM_SSE_BIND: no output"; }
  # the shared folder's mount point stays in the runtime's file system (empty): without
  # FEM_SSE_BIND the same folder is refused again, not written into the runtime
  status=0
  message=$(cd "$study" && "$run" fem-sse run my.toml -o "$unseen" --overwrite "${exact[@]}" 2>&1) \
    || status=$?
  rm -rf "$unseen"
  [ "$status" -eq 2 ] || fail "-o $unseen after FEM_SSE_BIND: exit $status (expected 2): $message"
  [ -z "$(ls -A "$(rootfs_dir)$unseen" 2>/dev/null)" ] || fail "$unseen written in the runtime"
fi
echo "docker/run paths: ok (relative, absolute, ../, repository paths from $study and $scratch)"
