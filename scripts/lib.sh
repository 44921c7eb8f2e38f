# Shared by run.sh and test.sh: install what a fresh Debian/Ubuntu machine lacks.
# Idempotent: every step checks first, so a warm machine spends seconds here.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}" NO_COLOR=1 FORCE_COLOR=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# System libraries for Tauri/WebKitGTK, the headless display, WebDriver and the Secret
# Service (see README "Requirements").
APT_RUN=(libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev libssl-dev libdbus-1-dev pkg-config
  build-essential file curl ca-certificates)
APT_TEST=(xvfb xauth webkit2gtk-driver dbus-x11 gnome-keyring libsecret-tools imagemagick)

install_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    say "Installing Rust (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy -c rustfmt
    . "$HOME/.cargo/env"
  fi
}

ensure_node() {
  local major=0
  if command -v node >/dev/null 2>&1; then major=$(node -p 'process.versions.node.split(".")[0]'); fi
  if [ "$major" -lt 20 ]; then
    say "Installing Node.js (20 or later is needed)"
    install_apt nodejs npm
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" -lt 20 ]; then
      echo "Node.js $major is too old for the UI build (Vite needs 20.19+). Install Node 20 or 22 and re-run." >&2
      exit 2
    fi
  fi
}

ensure_ui_deps() {
  if [ ! -d "$ROOT/ui/node_modules" ] || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
    say "Installing UI packages (npm ci)"
    npm ci --prefix "$ROOT/ui" --no-audit --no-fund --loglevel=error
  fi
}

build_ui() {
  say "Building the UI"
  npm --prefix "$ROOT/ui" run build --silent
}

# The desktop app with its UI bundled (what `tauri build` makes, without installers).
APP_FEATURES=(--features entra-onboard-app/custom-protocol)

# The Tauri CLI (bundling, icons), run through npx at a pinned version rather than from
# ui/package.json: the CLI is a native binary in one npm package per platform, and a
# lockfile written on this machine recorded only the Linux ones (the registry it uses has
# no Windows/macOS builds), which would break `npm ci` on the release runners.
# Keep it on the same minor version as the `tauri` crate (Cargo.lock).
TAURI_CLI_VERSION=2.12.5
# The CLI runs beforeBuildCommand (`npm run build`) in the frontend folder, which it finds by
# looking for a package.json; TAURI_FRONTEND_PATH points it at ui/ rather than leaving it to
# pick among ui/ and the test peers under crates/engine/tests/.
tauri_cli() {
  TAURI_APP_PATH="$ROOT" TAURI_FRONTEND_PATH="$ROOT/ui" \
    npx --yes "@tauri-apps/cli@$TAURI_CLI_VERSION" "$@"
}
