#!/usr/bin/env bash
# The main job: build cps and diagnose the built-in virtual card.
# Until the virtual card and the diagnosis land (issues #3 and #5) this builds the
# tool and prints its help.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages "${CPS_PACKAGES[@]}" iproute2 procps
ensure_rust

say "building cps"
cargo build --release --locked --bin cps
./target/release/cps --help
