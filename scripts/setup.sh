#!/usr/bin/env bash
# One-time set-up, run by `npm test`, `npm run demo` and CI; idempotent and quick when done.
#  1. Node dependencies (npm ci) when node_modules is missing or stale; the shader bundle refreshed.
#  2. A WebGPU adapter: when Dawn finds none (Linux without a GPU), install Mesa's software Vulkan
#     driver (lavapipe) 24+ from Debian bookworm-backports, added with the mirror and key this
#     machine already uses for bookworm. Nothing is installed when a GPU works.
#  3. With --browser: Debian's Chromium for the headless browser test, when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true

say() { echo "[setup] $*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_install() {
  if ! command -v apt-get >/dev/null; then
    say "cannot install $* automatically: no apt-get on this machine. Install it with your package manager."
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@" >&2
}
apt_updated=""
apt_update() {
  [ -n "$apt_updated" ] && return 0
  $SUDO apt-get update -q >&2
  apt_updated=1
}

# The mirror(s) and key this machine already uses for Debian bookworm, as "URIS<TAB>SIGNED_BY", from
# deb822 files (/etc/apt/sources.list.d/*.sources) or one-line lists (sources.list, *.list). A
# machine behind its own mirror or proxy keeps it; nothing here names a mirror of its own.
# APT_ETC overrides /etc/apt (tests). `bash scripts/setup.sh --print-bookworm-source` prints it.
bookworm_source() {
  local f etc="${APT_ETC:-/etc/apt}"
  for f in "$etc"/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""; signed = ""; types = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^[ \t]*#/) continue
          if ($i ~ /^Types:/)     { types = $i;  sub(/^Types:[ \t]*/, "", types) }
          if ($i ~ /^URIs:/)      { uris = $i;   sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/)    { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
          if ($i ~ /^Signed-By:/) { signed = $i; sub(/^Signed-By:[ \t]*/, "", signed) }
        }
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ / bookworm / && uris != "") { print uris "\t" signed; exit }
      }' "$f" | head -n1 | grep . && return 0
  done
  for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" {
        signed = ""; i = 2
        if ($2 ~ /^\[/) {
          opts = ""
          for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
          if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
        }
        if ($(i + 1) == "bookworm") { print $i "\t" signed; exit }
      }' "$f" | head -n1 | grep . && return 0
  done
  return 1
}

add_backports_source() {
  local src uris signed
  if ! src="$(bookworm_source)"; then
    say "cannot find this machine's Debian bookworm package source in /etc/apt/sources.list or /etc/apt/sources.list.d/,"
    say "so bookworm-backports cannot be added with the same mirror. Add it yourself, e.g. as"
    say "/etc/apt/sources.list.d/bookworm-backports.sources with your mirror in URIs:"
    say "  Types: deb"
    say "  URIs: <your Debian mirror, e.g. http://deb.debian.org/debian>"
    say "  Suites: bookworm-backports"
    say "  Components: main"
    say "  Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    say "then run this command again."
    exit 1
  fi
  uris="${src%%$'\t'*}"
  signed="${src#*$'\t'}"
  say "adding bookworm-backports from this machine's own Debian source ($uris)"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\n' "$uris"
    [ -n "$signed" ] && printf 'Signed-By: %s\n' "$signed"
  } | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
}

if [ "${1:-}" = "--print-bookworm-source" ]; then bookworm_source; exit $?; fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node dependencies (npm ci)"
  # onnxruntime-node (bench:peers only) ships its CPU and WebGPU binaries; its install script would
  # only fetch CUDA providers from NuGet. .npmrc says the same for a bare `npm ci`.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
fi

# The committed shader bundle, refreshed when shaders/*.wgsl changed (quiet when current).
node scripts/gen-shaders.mjs >/dev/null

if ! node scripts/check-adapter.mjs >&2; then
  say "no WebGPU adapter found: installing Mesa's software Vulkan driver (lavapipe) from bookworm-backports,"
  say "so WebGPU runs on the CPU. Debian 12's own mesa-vulkan-drivers 22.3 lacks a feature Dawn needs."
  if [ -r /etc/os-release ] && grep -q 'VERSION_CODENAME=bookworm' /etc/os-release; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      add_backports_source
    fi
    apt_update
    apt_install -t bookworm-backports mesa-vulkan-drivers
  else
    apt_update
    apt_install mesa-vulkan-drivers
  fi
  node scripts/check-adapter.mjs >&2 || { say "still no WebGPU adapter after installing mesa-vulkan-drivers"; exit 1; }
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium for the headless browser test"
  apt_update
  apt_install chromium
fi
