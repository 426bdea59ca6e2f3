# Shared by scripts/diag.sh and scripts/test.sh: install what is missing, start pcscd.
# Sourced, not run. Needs bash.

# Debian packages every build and test needs. libpcsclite-dev and pkg-config are
# needed even to build (the pcsc-sys build script asks pkg-config for libpcsclite).
CPS_PACKAGES=(pcscd libpcsclite-dev pkg-config vsmartcard-vpcd opensc)
CPS_RUST_MIN=1.88

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    die "missing Debian packages: ${missing[*]}
install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  command -v cargo >/dev/null || die "Rust is not installed: install Rust $CPS_RUST_MIN or later with rustup (https://rustup.rs), then run this again"
  local v
  v=$(rustc --version | awk '{print $2}')
  if [ "$(printf '%s\n%s\n' "$CPS_RUST_MIN" "$v" | sort -V | head -n1)" != "$CPS_RUST_MIN" ]; then
    die "rustc $v is too old: cps needs Rust $CPS_RUST_MIN or later (rustup update stable)"
  fi
}

# Starts pcscd in the foreground as our child, with the vpcd reader, unless one is
# already serving (a desktop's socket-activated pcscd also loads vpcd's config).
# Sets PCSCD_PID (empty when reusing) and PCSCD_LOG; stop_pcscd stops ours by PID.
PCSCD_PID=
PCSCD_LOG=
start_pcscd() {
  PCSCD_LOG=${PCSCD_LOG:-$(mktemp "${TMPDIR:-/tmp}/cps-pcscd.XXXXXX.log")}
  if pgrep -x pcscd >/dev/null && [ -S /run/pcscd/pcscd.comm ]; then
    say "using the pcscd already running (pid $(pgrep -x pcscd | head -n1))"
  else
    mkdir -p /run/pcscd
    # A stale socket from a killed pcscd makes the new one refuse to start.
    rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
    # --foreground: no fork, so $! is pcscd itself. Never --auto-exit: it would
    # quit after a minute without clients and drop the virtual card.
    pcscd --foreground --apdu >"$PCSCD_LOG" 2>&1 &
    PCSCD_PID=$!
    local _
    for _ in $(seq 500); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.01; done
    [ -S /run/pcscd/pcscd.comm ] || { cat "$PCSCD_LOG" >&2; die "pcscd did not create its socket"; }
  fi
  # vpcd listens on 35963/35964 once pcscd has loaded it; a port already in use
  # leaves pcscd with no reader at all.
  for _ in $(seq 300); do
    ss -ltn 2>/dev/null | grep -q ':35963 ' && return 0
    sleep 0.01
  done
  cat "$PCSCD_LOG" >&2
  die "vpcd is not listening on 127.0.0.1:35963 (is vsmartcard-vpcd installed, is the port free?)"
}

stop_pcscd() {
  if [ -n "$PCSCD_PID" ]; then
    kill -TERM "$PCSCD_PID" 2>/dev/null || true
    wait "$PCSCD_PID" 2>/dev/null || true
    PCSCD_PID=
  fi
}
