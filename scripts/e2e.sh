#!/usr/bin/env bash
# Runs only the end-to-end tests (the real window under Xvfb), inside a private D-Bus session
# with an unlocked gnome-keyring, like scripts/test.sh does. For iterating on the UI; assumes
# scripts/test.sh has installed everything once. Extra arguments go to the test binary
# (e.g. a test name).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
build_ui
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dbus-run-session -- bash -c '
  set -euo pipefail
  export XDG_DATA_HOME="$1/data" XDG_CONFIG_HOME="$1/config" ENTRA_ONBOARD_HOME="$1/home"
  mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
  echo -n entra-onboard-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  shift
  cargo test -p entra-onboard-app --features entra-onboard-app/custom-protocol --test e2e -- --ignored --test-threads=1 "$@"
' bash "$scratch" "$@"
