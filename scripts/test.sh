#!/usr/bin/env bash
# Installs what is missing and runs every check and test:
#   formatting, the crates' dependency directions, function length, clippy (-D warnings),
#   UI type check + lint + unit tests + build, the tests of every crate and the app (real
#   Secret Service through gnome-keyring under dbus-run-session),
#   the real OpenID provider peer, the TypeScript bindings check, and the end-to-end test
#   that drives the real app window under Xvfb through tauri-driver + WebKitWebDriver.
. "$(dirname "$0")/lib.sh"

install_apt "${APT_RUN[@]}" "${APT_TEST[@]}" python3
ensure_rust
ensure_node
if ! command -v tauri-driver >/dev/null 2>&1; then
  say "Installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
ensure_ui_deps
# Test peers and tools (the OpenID provider, axe-core for the end-to-end test, …).
for peer in "$ROOT"/crates/*/tests/*/package.json "$ROOT"/tests/*/package.json; do
  [ -f "$peer" ] || continue
  d=$(dirname "$peer")
  if [ ! -d "$d/node_modules" ]; then
    say "Installing test peer packages in ${d#$ROOT/}"
    npm ci --prefix "$d" --no-audit --no-fund --loglevel=error
  fi
done

cd "$ROOT"
say "cargo fmt --check"
cargo fmt --all -- --check

say "Crate directions (core pure; engine without sandbox; sandbox without engine)"
"$ROOT/scripts/check-crates.sh"

say "No function over 150 lines (tests exempt)"
python3 "$ROOT/scripts/long-functions.py"

say "UI: type check, lint, unit tests, build"
npm --prefix ui run check --silent
npm --prefix ui run lint --silent
npm --prefix ui run test --silent
build_ui

say "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets "${APP_FEATURES[@]}" -- -D warnings

say "Rust tests (core, engine, sandbox, CLI, keychain, SSO test, app)"
# A private session bus with an unlocked gnome-keyring: the keychain tests use the real
# Secret Service, and nothing lands in this user's own keyring or config folder.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dbus-run-session -- bash -c '
  set -euo pipefail
  export XDG_DATA_HOME="$1/data" XDG_CONFIG_HOME="$1/config" ENTRA_ONBOARD_HOME="$1/home"
  mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
  echo -n entra-onboard-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  shift
  cargo test --workspace "$@"
  say() { printf "\n\033[1m== %s\033[0m\n" "$*"; }
  say "End-to-end: the real window under Xvfb via tauri-driver + WebKitWebDriver"
  cargo test -p entra-onboard-app --test e2e "$@" -- --ignored --test-threads=1
' bash "$scratch" "${APP_FEATURES[@]}"

say "TypeScript bindings are current"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  if ! git -C "$ROOT" diff --quiet -- ui/src/lib/bindings || [ -n "$(git -C "$ROOT" ls-files --others --exclude-standard ui/src/lib/bindings)" ]; then
    git -C "$ROOT" status --short ui/src/lib/bindings
    echo "The Rust IPC types changed: commit the regenerated ui/src/lib/bindings." >&2
    exit 1
  fi
fi

say "All checks passed"
echo "Screenshots of each wizard step: target/e2e-screenshots/"
# The practice e2e's count of the trainee's actions (empty customer to a verified sign-in).
if [ -f "$ROOT/target/e2e-screenshots/human-actions.txt" ]; then
  echo "Onboarding call, measured: $(cat "$ROOT/target/e2e-screenshots/human-actions.txt")"
fi
