#!/usr/bin/env bash
# Installs what is missing, builds Entra Onboard and starts it.
#   scripts/run.sh            the desktop app
#   scripts/run.sh --release  an optimised build
# With no display (a server, SSH, CI) it starts under a virtual X display and says so.
. "$(dirname "$0")/lib.sh"

PROFILE=dev
[ "${1:-}" = "--release" ] && PROFILE=release

install_apt "${APT_RUN[@]}"
ensure_rust
ensure_node
ensure_ui_deps
build_ui

say "Building the app ($PROFILE)"
cd "$ROOT"
if [ "$PROFILE" = release ]; then
  cargo build --release "${APP_FEATURES[@]}" -p entra-onboard-app
  BIN="$ROOT/target/release/entra-onboard-app"
else
  # Built as scripts/test.sh's end-to-end step builds it (`--test e2e`: the same packages,
  # features and profile, so Cargo resolves the same dependency features). After test.sh
  # this compiles nothing new; a plain `cargo build -p entra-onboard-app` would resolve the
  # features without the tests' and rebuild about a hundred crates.
  cargo build "${APP_FEATURES[@]}" -p entra-onboard-app --test e2e
  BIN="$ROOT/target/debug/entra-onboard-app"
fi

# The practice sandbox (a pretend Entra tenant on 127.0.0.1) starts with the app, so a first
# run can walk every step and a passing sign-in test without a Microsoft tenant.
export ENTRA_ONBOARD_SANDBOX="${ENTRA_ONBOARD_SANDBOX:-1}"
say "Starting Entra Onboard"
echo "Practice sandbox: on the customer list, choose 'Practice with the sandbox' (ENTRA_ONBOARD_SANDBOX=0 to skip)."

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  install_apt xvfb xauth
  echo "No display found: running under a virtual display (xvfb-run). Nothing will appear on screen."
  exec xvfb-run -a -s "-screen 0 1280x800x24" "$BIN"
fi
exec "$BIN"
