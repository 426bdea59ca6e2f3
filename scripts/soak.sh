#!/usr/bin/env bash
# Soak test: many APDUs and many `cps status` runs through pcscd to a virtual card
# (`cps sim`, a process of its own), then checks that nothing failed and that neither
# the virtual card's process nor pcscd grew in memory.
#
#   scripts/soak.sh            100,000 APDUs and 10,000 `cps status` (3 to 10 minutes)
#   scripts/soak.sh --short    20,000 APDUs and 2,000 `cps status` (under a minute; CI,
#                              called by scripts/test.sh)
#   options: --apdus N --status N --slot 0|1 --batch N (APDUs per `cps apdu` run)
#
# APDUs go through `cps apdu` (one PC/SC transaction per batch), alternating SELECT MF
# and GET CHALLENGE; every answer must be 90 00. Every `cps status` must succeed and
# report 3 PIN tries. RSS (VmRSS) of the `cps sim` process and of pcscd is read after a
# warm-up and at the end; growth above GROWTH_KIB (default 1024) fails the run.
# Uses the running pcscd, or starts one (and stops it) like scripts/test.sh. Holds the
# slot's lock (/tmp/cps-vpcd-slot-<slot>.lock, as cps_sim::vpcd::SlotLock) meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

apdus=100000
statuses=10000
slot=1
batch=500
growth_kib=${GROWTH_KIB:-1024}
while [ $# -gt 0 ]; do
  case "$1" in
    --short) apdus=20000; statuses=2000 ;;
    --apdus) apdus=$2; shift ;;
    --status) statuses=$2; shift ;;
    --slot) slot=$2; shift ;;
    --batch) batch=$2; shift ;;
    *) die "unknown option $1 (see the top of $0)" ;;
  esac
  shift
done
reader="Virtual PCD 00 0$slot"

say "building cps"
cargo build -q -p cps-cli
cps="${CARGO_TARGET_DIR:-target}/debug/cps"
[ -x "$cps" ] || die "no cps binary at $cps"

start_pcscd
sim_pid=
cleanup() {
  if [ -n "$sim_pid" ]; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  stop_pcscd
}
trap cleanup EXIT

exec 9>"/tmp/cps-vpcd-slot-$slot.lock"
flock -w 600 9 || die "slot $slot stays busy (another test holds its lock)"

"$cps" sim --profile cps3 --slot "$slot" >/dev/null 2>&1 &
sim_pid=$!
for _ in $(seq 200); do
  "$cps" --reader "$reader" readers --json 2>/dev/null |
    tr -d ' \n' | grep -q "\"card_present\":true,\"index\":$slot," && break
  sleep 0.05
done
pcscd_pid=$(pgrep -x pcscd | head -n1)

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# One `cps apdu` run of $1 APDUs; fails unless every answer is 90 00.
apdu_batch() {
  local n=$1 args=() i
  for ((i = 0; i < n; i++)); do
    if ((i % 2)); then args+=("00 84 00 00 08"); else args+=("00 A4 00 0C 02 3F 00"); fi
  done
  local out ok
  out=$("$cps" --reader "$reader" --timeout 10 --json apdu "${args[@]}")
  ok=$(grep -c '"sw": "9000"' <<<"$out" || true)
  [ "$ok" -eq "$n" ] || { echo "$out" | grep '"sw"' | grep -v 9000 | head >&2; die "$((n - ok)) of $n APDUs failed"; }
}

status_once() {
  local out
  out=$("$cps" --reader "$reader" --timeout 10 status --json) || die "cps status failed: $out"
  tr -d ' \n' <<<"$out" | grep -q '"pin":{[^}]*"tries_left":3[,}]' ||
    die "cps status: unexpected PIN state: $out"
}

say "warming up (1,000 APDUs, 50 status)"
apdu_batch 1000
for _ in $(seq 50); do status_once; done
sim_before=$(rss "$sim_pid")
pcscd_before=$(rss "$pcscd_pid")

say "soak: $apdus APDUs in batches of $batch, then $statuses cps status"
started=$SECONDS
sent=0
while [ "$sent" -lt "$apdus" ]; do
  n=$((apdus - sent < batch ? apdus - sent : batch))
  apdu_batch "$n"
  sent=$((sent + n))
done
apdu_secs=$((SECONDS - started))
started=$SECONDS
for ((i = 1; i <= statuses; i++)); do
  status_once
  if ((i % 1000 == 0)); then say "$i status runs"; fi
done
status_secs=$((SECONDS - started))
sim_after=$(rss "$sim_pid")
pcscd_after=$(rss "$pcscd_pid")

printf 'soak: %d APDUs in %d s, %d cps status in %d s, no failure\n' \
  "$apdus" "$apdu_secs" "$statuses" "$status_secs"
printf 'RSS (KiB)   before   after   growth\n'
printf 'cps sim   %8d %7d %8d\n' "$sim_before" "$sim_after" $((sim_after - sim_before))
printf 'pcscd     %8d %7d %8d\n' "$pcscd_before" "$pcscd_after" $((pcscd_after - pcscd_before))
[ $((sim_after - sim_before)) -le "$growth_kib" ] || die "cps sim grew by more than $growth_kib KiB"
[ $((pcscd_after - pcscd_before)) -le "$growth_kib" ] || die "pcscd grew by more than $growth_kib KiB"
say "soak passed"
