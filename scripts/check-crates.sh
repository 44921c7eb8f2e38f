#!/usr/bin/env bash
# The crates' allowed arrows (README "Layout"), checked on the resolved dependency graph.
# Cargo already refuses a cycle; this refuses a heavy or an upward dependency:
#   core     the pure rules: no async runtime, HTTP, keychain, CLI parser, certificate or
#            crypto crate, and no other crate of ours;
#   engine   never the sandbox (production code does not know the test double), no CLI;
#   sandbox  never the engine (it is the other side of the wire).
# Called by scripts/test.sh; runs on its own in a second (no build).
set -euo pipefail
cd "$(dirname "$0")/.."

deps() {
  cargo tree --locked -p "$1" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u
}

fail=0
# forbid PACKAGE CRATE...: PACKAGE must not reach any CRATE through normal dependencies.
forbid() {
  local pkg=$1 found
  shift
  found=$(deps "$pkg" | grep -Fx -f <(printf '%s\n' "$@") || true)
  if [ -n "$found" ]; then
    echo "$pkg must not depend on: $(echo $found) (find the path: cargo tree -p $pkg -e normal -i <crate>)" >&2
    fail=1
  fi
}

forbid entra-onboard-core \
  tokio tokio-util mio reqwest hyper axum keyring clap rpassword open dirs \
  aws-lc-rs aws-lc-sys ring rsa rcgen jsonwebtoken x509-parser p12-keystore tauri \
  entra-onboard-engine entra-onboard-sandbox entra-onboard
forbid entra-onboard-engine entra-onboard-sandbox entra-onboard clap rpassword axum tauri
forbid entra-onboard-sandbox entra-onboard-engine entra-onboard clap rpassword tauri

if [ "$fail" = 0 ]; then
  echo "Crate directions hold: core is pure, the engine knows no sandbox, the sandbox no engine."
fi
exit "$fail"
