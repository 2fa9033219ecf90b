#!/usr/bin/env bash
# One-time set-up, run by `npm test`, `npm run demo` and CI; idempotent and quick when done.
#  1. Node dependencies (npm ci) when node_modules is missing or stale.
#  2. A WebGPU adapter: when Dawn finds none (Linux without a GPU), install Mesa's software Vulkan
#     driver (lavapipe) 24+ from Debian bookworm-backports. Nothing is installed when a GPU works.
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

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

if ! node scripts/check-adapter.mjs >&2; then
  say "no WebGPU adapter found: installing Mesa's software Vulkan driver (lavapipe) from bookworm-backports,"
  say "so WebGPU runs on the CPU. Debian 12's own mesa-vulkan-drivers 22.3 lacks a feature Dawn needs."
  if [ -r /etc/os-release ] && grep -q 'VERSION_CODENAME=bookworm' /etc/os-release; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
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
