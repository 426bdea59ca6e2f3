#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, and every test tier, including
# the ones that go through a real pcscd with the virtual card attached over vpcd.
# Run as root on Debian 12 (installs what is missing), or as a user with the
# packages already installed and pcscd running.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
# The real-card tier (cps-card/tests/real_card.rs) drives the card in
# CPS_TEST_READER when set; the suite rehearses it on the virtual card instead.
unset CPS_TEST_READER CPS_TEST_PIN

ensure_packages "${CPS_PACKAGES[@]}" iproute2 procps
ensure_rust

say "cargo fmt --check"
cargo fmt --all --check
cargo fmt --all --check --manifest-path fuzz/Cargo.toml

say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "cargo doc"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --locked

say "starting pcscd with vpcd"
trap stop_pcscd EXIT
start_pcscd

say "cargo test (all tiers; the pcscd tier is #[ignore]d outside this script)"
# regenerate_card_fixtures is a tool, not a check: it rewrites committed fixtures.
if ! cargo test --workspace --locked -- --include-ignored --skip regenerate_card_fixtures; then
  say "tests failed; pcscd log ($PCSCD_LOG):"
  tail -n 200 "$PCSCD_LOG" >&2
  exit 1
fi
scripts/soak.sh --short  # <1 min: 20,000 APDUs, 2,000 `cps status` via pcscd, no RSS growth
say "all tests passed"
