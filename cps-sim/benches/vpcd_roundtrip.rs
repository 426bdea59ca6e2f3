//! Round-trip time of one APDU through the whole PC/SC stack: `pcsc` crate → libpcsclite →
//! pcscd → vpcd → TCP → the vpcd client → a card that answers SELECT with `90 00`.
//!
//! Needs pcscd running with the vpcd driver (see "Attaching to pcscd" in the README):
//!
//! ```text
//! cargo bench -p cps-sim --bench vpcd_roundtrip                  # with the TCP_QUICKACK fix
//! cargo bench -p cps-sim --bench vpcd_roundtrip -- --compare     # and without it
//! cargo bench -p cps-sim --bench vpcd_roundtrip -- --no-quickack --count 100 --slot 1
//! ```

use std::error::Error;
use std::ffi::CString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cps_sim::vpcd::{self, SlotLock, VpcdOptions};
use cps_sim::{CardSide, Reply};
use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

/// SELECT by AID, as `cps-card` sends it.
const SELECT: [u8; 13] = [
    0x00, 0xA4, 0x04, 0x00, 0x08, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x01, 0x00,
];
const ATR: [u8; 4] = [0x3B, 0x80, 0x01, 0x81];
const WARM_UP: usize = 20;
const STATE_LIMIT: Duration = Duration::from_secs(5);

/// SELECT → 90 00, anything else → 6D 00.
struct SelectCard;

impl CardSide for SelectCard {
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn process(&mut self, command: &[u8]) -> Reply {
        match command.get(1) {
            Some(0xA4) => Reply::Data(vec![0x90, 0x00]),
            _ => Reply::Data(vec![0x6D, 0x00]),
        }
    }
}

struct Args {
    count: usize,
    slow_count: usize,
    slot: u8,
    quickack: Vec<bool>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        count: 1000,
        slow_count: 100,
        slot: 0,
        quickack: vec![true],
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--count" => args.count = given.next().ok_or("--count N")?.parse()?,
            "--slow-count" => args.slow_count = given.next().ok_or("--slow-count N")?.parse()?,
            "--slot" => args.slot = given.next().ok_or("--slot 0|1")?.parse()?,
            "--no-quickack" => args.quickack = vec![false],
            "--compare" => args.quickack = vec![true, false],
            // cargo bench passes --bench; other harness flags mean nothing here.
            _ => {}
        }
    }
    Ok(args)
}

fn wait_for(ctx: &Context, reader: &CString, want: State) -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + STATE_LIMIT;
    let mut states = [ReaderState::new(reader.clone(), State::UNAWARE)];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => {
                return Err(format!("{reader:?} never became {want:?}").into());
            }
            Err(e) => return Err(e.into()),
        }
        if states[0].event_state().contains(want) {
            return Ok(());
        }
        states[0].sync_current_state();
    }
}

/// Round-trip times of `count` SELECTs, in milliseconds.
fn measure(slot: u8, count: usize, quickack: bool) -> Result<Vec<f64>, Box<dyn Error>> {
    let _slot = SlotLock::acquire(slot, Duration::from_secs(120))?;
    let ctx = Context::establish(Scope::User)?;
    let reader = CString::new(vpcd::reader_name(slot))?;
    wait_for(&ctx, &reader, State::EMPTY)?;
    let options = VpcdOptions::default().with_quickack(quickack);
    let handle = vpcd::attach(Box::new(SelectCard), vpcd::slot_addr(slot), options)?;
    wait_for(&ctx, &reader, State::PRESENT)?;
    let card = ctx.connect(&reader, ShareMode::Shared, Protocols::ANY)?;
    if card.status2_owned()?.atr() != ATR {
        return Err(format!("another process's card is in slot {slot}").into());
    }
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
    let mut times = Vec::with_capacity(count);
    for i in 0..WARM_UP + count {
        let started = Instant::now();
        let answer = card.transmit(&SELECT, &mut buf)?;
        let elapsed = started.elapsed();
        if answer != [0x90, 0x00] {
            return Err(format!("unexpected answer {answer:02X?}").into());
        }
        if i >= WARM_UP {
            times.push(elapsed.as_secs_f64() * 1e3);
        }
    }
    card.disconnect(Disposition::LeaveCard)
        .map_err(|(_, e)| e)?;
    handle.shutdown()?;
    wait_for(&ctx, &reader, State::EMPTY)?;
    Ok(times)
}

fn report(quickack: bool, times: &mut [f64]) {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let mean = times.iter().sum::<f64>() / n.max(1) as f64;
    let at = |q: f64| {
        times
            .get(((n as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{:<22} {n:>5} SELECTs: mean {mean:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        if quickack {
            "with TCP_QUICKACK:"
        } else {
            "without TCP_QUICKACK:"
        },
        at(0.50),
        at(0.99),
        times.last().copied().unwrap_or(f64::NAN),
    );
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("vpcd_roundtrip: {e}");
            return ExitCode::from(2);
        }
    };
    for &quickack in &args.quickack {
        // Without the fix each APDU costs ~40 ms: measure fewer.
        let count = if quickack {
            args.count
        } else {
            args.slow_count.min(args.count)
        };
        match measure(args.slot, count, quickack) {
            Ok(mut times) => report(quickack, &mut times),
            Err(e) => {
                eprintln!("vpcd_roundtrip: {e} (is pcscd running with the vpcd driver?)");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
