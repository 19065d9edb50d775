#!/usr/bin/env bash
# Runs a command on another Node.js line than the machine's own:
#
#   bash scripts/with-node.sh <major> <command...>      e.g. bash scripts/with-node.sh 22 npm test
#
# The first run installs the registry package node-linux-<arch>@<major> (the official Node
# binary in an npm tarball, headers included) into .runtimes/node-<major>/ (git-ignored);
# later runs reuse it without touching the registry (delete the folder to take a newer patch
# release). <major> may also be an exact version (24.22.3) or a partial one (22.12).
#
# The command runs with that runtime's bin/ first on PATH, so `node`, the machine's npm (its
# `#!/usr/bin/env node` line) and every npm script and child process (`process.execPath`) run on
# it; npm_config_nodedir points node-gyp at the same runtime's headers, so a native addon built
# by `npm ci` under this wrapper is built for it. Prints the version it runs on stderr.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: bash scripts/with-node.sh <major> <command...>   (e.g. 24 npm test)" >&2
  exit 2
fi
spec=$1
shift
case "$spec" in
  [0-9]*[!0-9.x]* | [!0-9]* | '')
    echo "with-node: '$spec' is not a Node version (e.g. 22, 24, 24.22.3)" >&2
    exit 2
    ;;
esac

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "with-node: no node-linux package for $(uname -m)" >&2
    exit 1
    ;;
esac
if [ "$(uname -s)" != Linux ]; then
  echo "with-node: Linux only (the runtime comes from the node-linux-$arch npm package)" >&2
  exit 1
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/.runtimes/node-$spec"
home="$dir/node_modules/node-linux-$arch"

if ! "$home/bin/node" --version >/dev/null 2>&1; then
  rm -rf "$dir" # a broken leftover, if any
  mkdir -p "$root/.runtimes"
  # Installed beside the final folder, then renamed: an interrupted or concurrent install
  # never leaves a half-unpacked runtime where the next run would take it as ready.
  tmp=$(mktemp -d "$root/.runtimes/.install-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "with-node: installing node-linux-$arch@$spec into ${dir#"$root"/}/" >&2
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-$arch@$spec" >&2
  "$tmp/node_modules/node-linux-$arch/bin/node" --version >/dev/null
  # mv -T refuses a non-empty target: a run that finished first keeps its copy.
  mv -T "$tmp" "$dir" 2>/dev/null || "$home/bin/node" --version >/dev/null
  rm -rf "$tmp"
  trap - EXIT
fi

export PATH="$home/bin:$PATH"
export npm_config_nodedir="$home"
hash -r
echo "with-node: $(node --version) ($home/bin/node)" >&2
exec "$@"
