#!/usr/bin/env bash
# Puts Prometheus's `promtool` (from Debian's `prometheus` package) where the tests find it, and
# prints its path. Only the binary is taken: the package is downloaded and unpacked, never
# installed, so no Prometheus service is set up and none of its dependencies is needed (promtool
# is one Go binary that needs only libc). Idempotent: a promtool already on PATH, or already
# unpacked, is used as is.
#
#   scripts/install-promtool.sh   -> /usr/local/bin/promtool as root, .ci/tools/promtool (git-ignored) otherwise
#   PROMTOOL_DIR=/some/dir scripts/install-promtool.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi

if [ -n "${PROMTOOL_DIR:-}" ]; then
  dir=$PROMTOOL_DIR
elif [ "$(id -u)" = 0 ]; then
  dir=/usr/local/bin
else
  dir=$PWD/.ci/tools
fi
if [ -x "$dir/promtool" ]; then
  echo "$dir/promtool"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download needs the package lists; fetch them only when they hold no prometheus yet.
if ! apt-cache show prometheus >/dev/null 2>&1; then
  apt-get update -qq >&2
fi
# As root, apt downloads as its _apt user, which cannot write to our temporary folder: it falls back
# to root with a warning, which this says it need not give.
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
(cd "$work" && apt-get download -qq "${sandbox[@]}" prometheus >&2)
dpkg -x "$work"/prometheus_*.deb "$work/root"
mkdir -p "$dir"
install -m 0755 "$work/root/usr/bin/promtool" "$dir/promtool"
"$dir/promtool" --version >&2
echo "$dir/promtool"
