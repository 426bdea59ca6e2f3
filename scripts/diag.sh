#!/usr/bin/env bash
# The main job: build cps and diagnose the built-in virtual card (a test CPS3), in
# process, including the key proof with the test card's PIN (1234, public).
# Extra arguments go to `cps diag` (e.g. `--lang fr`, `--json`, `--sim blocked-pin`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages "${CPS_PACKAGES[@]}" iproute2 procps
ensure_rust

say "building cps"
cargo build --release --locked --bin cps
say "cps diag --sim (the built-in virtual card)"
# The sim's PIN is public test material; a real card's PIN never goes through the
# environment of a shared shell.
CPS_SIM_TEST_PIN=1234 exec ./target/release/cps diag --sim --pin-env CPS_SIM_TEST_PIN --no-input "$@"
