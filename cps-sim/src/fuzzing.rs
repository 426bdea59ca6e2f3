//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable test that
//! replays their corpus and crash artifacts (`tests/fuzz_replay.rs`).
//!
//! Not a stable API.
#![allow(missing_docs, clippy::missing_panics_doc)]

use std::io::Cursor;
use std::sync::{Mutex, OnceLock};

use crate::card::VirtualCard;
use crate::profile::Profile;
use crate::vpcd::{self, FrameError, MAX_FRAME_LEN};
use crate::{CardSide, Reply};

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every fuzz target of this crate, by the name of its directory under `fuzz/corpus`.
pub const TARGETS: &[(&str, Target)] =
    &[("card_dispatch", card_dispatch), ("vpcd_frame", vpcd_frame)];

/// The profiles the dispatcher target chooses from (first input byte).
const PROFILES: [&str; 4] = ["cps3", "cps4", "cps3-cl", "vitale"];

/// Cards are expensive to build (certificates are issued): one per profile, reset
/// before every input.
fn cards() -> &'static Mutex<Vec<VirtualCard>> {
    static CARDS: OnceLock<Mutex<Vec<VirtualCard>>> = OnceLock::new();
    CARDS.get_or_init(|| {
        Mutex::new(
            PROFILES
                .iter()
                .map(|name| {
                    Profile::builtin(name)
                        .ok()
                        .and_then(|p| VirtualCard::new(&p).ok())
                        .expect("a built-in profile builds")
                })
                .collect(),
        )
    })
}

/// The virtual card's command dispatcher, card side: a byte selects the profile, then
/// `[len][len bytes]` commands follow. Every command gets an answer of at least a status
/// word that fits a vpcd frame, and no single command moves a PIN or PUK counter by
/// more than one try (or an unblock's usage counter by more than one).
pub fn card_dispatch(data: &[u8]) {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let mut cards = cards().lock().unwrap_or_else(|e| e.into_inner());
    let index = usize::from(selector) % PROFILES.len();
    let card = &mut cards[index];
    let profile = card.profile().clone();
    card.set_counters(crate::state::Counters {
        pin_tries_left: profile.pin.tries_left,
        puk_tries_left: profile.puk.tries_left,
        puk_usage_left: profile.puk.usage_left,
    });
    card.power_on();
    while let Some((&len, tail)) = rest.split_first() {
        let (command, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        let before = card.counters();
        match card.process(command) {
            Reply::Data(answer) => {
                assert!(answer.len() >= 2, "an answer without a status word");
                assert!(answer.len() <= MAX_FRAME_LEN, "an answer too long for vpcd");
            }
            Reply::Mute | Reply::Removed => panic!("the card went silent"),
        }
        let after = card.counters();
        let dropped = |b: u8, a: u8| b.saturating_sub(a) <= 1;
        assert!(
            dropped(before.pin_tries_left, after.pin_tries_left),
            "two PIN tries spent"
        );
        assert!(
            dropped(before.puk_tries_left, after.puk_tries_left),
            "two PUK tries spent"
        );
        assert!(
            before.puk_usage_left.saturating_sub(after.puk_usage_left) <= 1,
            "two unblocks spent"
        );
        assert!(after.pin_tries_left <= profile.pin.tries_max);
        assert!(after.puk_tries_left <= profile.puk.tries_max);
    }
}

/// The vpcd frame reader on an arbitrary stream: the first two bytes are the size limit,
/// the rest is the stream. Never more than the limit per frame; what is read writes back
/// to the same bytes.
pub fn vpcd_frame(data: &[u8]) {
    let Some((limit, stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let max_len = usize::from(u16::from_be_bytes(*limit));
    let mut reader = Cursor::new(stream);
    let mut echoed = Vec::new();
    loop {
        let start = usize::try_from(reader.position()).expect("in memory");
        match vpcd::read_frame(&mut reader, max_len) {
            Ok(None) => {
                assert_eq!(start, stream.len(), "a clean end before the stream's end");
                break;
            }
            Ok(Some(frame)) => {
                assert!(frame.len() <= max_len, "frame over the limit");
                vpcd::write_frame(&mut echoed, &frame).expect("in memory");
                let end = usize::try_from(reader.position()).expect("in memory");
                assert_eq!(&echoed[..], &stream[..end], "a frame did not round-trip");
            }
            Err(FrameError::TooLong { len, max }) => {
                assert!(len > max);
                break;
            }
            Err(FrameError::Truncated { expected, received }) => {
                assert!(received < expected);
                break;
            }
            Err(e) => panic!("unexpected error on an in-memory stream: {e}"),
        }
    }
}
