#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after the other, then
# minimises each corpus. Prints the executions, duration and peak RSS libFuzzer reports.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(command_decode response_decode atr tlv fcp pkcs15 cert card_host card_dispatch vpcd_frame)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="fuzz-$t.log"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || { echo "$t: CRASH, see $log"; continue; }
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  rss=$(grep -E '^stat::peak_rss_mb' "$log" | awk '{print $2}')
  echo "$t: ${secs}s, ${runs} executions, peak RSS ${rss} MB, no crash"
  cargo +nightly fuzz cmin "$t" "corpus/$t" >>"$log" 2>&1
done
