#!/usr/bin/env bash
# Builds the Linux installers of Entra Onboard (.deb and .rpm) with the Tauri CLI and prints
# where they are and how big. Installs what is missing first (like run.sh).
#   scripts/package.sh                 .deb and .rpm
#   scripts/package.sh --bundles deb   any `tauri build --bundles` list
# AppImage is left to the release workflow (.github/workflows/release.yml): the bundler
# downloads linuxdeploy and its plugins while building, which an offline or registry-only
# machine cannot do. Windows (.msi, NSIS) and macOS (.dmg) are built on their own runners
# there too; docs/packaging.md has the details and the signing setup.
. "$(dirname "$0")/lib.sh"

BUNDLES=deb,rpm
if [ "${1:-}" = "--bundles" ] && [ -n "${2:-}" ]; then BUNDLES=$2; fi

install_apt "${APT_RUN[@]}"
ensure_rust
ensure_node
ensure_ui_deps

cd "$ROOT"
say "Building the release app and the $BUNDLES bundles (Tauri CLI $TAURI_CLI_VERSION)"
# `tauri build` runs the UI build (beforeBuildCommand), `cargo build --release` with the
# bundled frontend, then the bundlers. The release profile in Cargo.toml keeps it small.
# `--features custom-protocol` makes the app crate's feature set the same as run.sh's and
# bench-app.sh's `cargo build` (APP_FEATURES), so they reuse this build instead of relinking.
tauri_cli build --ci --features custom-protocol --bundles "$BUNDLES"

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
BUNDLE_DIR="$TARGET_DIR/release/bundle"
VERSION=$(cargo metadata --format-version 1 --no-deps | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).packages.find(p=>p.name==="entra-onboard-app").version))')

say "Artefacts (version $VERSION)"
found=0
for f in "$BUNDLE_DIR"/deb/*_"$VERSION"_*.deb "$BUNDLE_DIR"/rpm/*-"$VERSION"-*.rpm \
  "$BUNDLE_DIR"/appimage/*_"$VERSION"_*.AppImage; do
  [ -f "$f" ] || continue
  found=1
  printf '  %-9s %s\n' "$(numfmt --to=iec --suffix=B "$(stat -c %s "$f")")" "$f"
done
BIN="$TARGET_DIR/release/entra-onboard-app"
[ -f "$BIN" ] && printf '  %-9s %s (the app binary inside them)\n' \
  "$(numfmt --to=iec --suffix=B "$(stat -c %s "$BIN")")" "$BIN"
if [ "$found" = 0 ]; then
  echo "No bundle for version $VERSION under $BUNDLE_DIR" >&2
  exit 1
fi
echo
echo "Install:  sudo apt install ./<file>.deb    or    sudo dnf install ./<file>.rpm"
echo "Inspect:  dpkg-deb -I <file>.deb; dpkg-deb -c <file>.deb; rpm -qip <file>.rpm"
