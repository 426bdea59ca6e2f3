//! Readers as listed, and choosing one of them.

use std::fmt;

use super::PcscError;

/// One reader as PC/SC reported it at listing time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderInfo {
    /// Position in the PC/SC reader list (what [`ReaderSelector::Index`] selects).
    pub index: usize,
    /// The reader's PC/SC name, as [`PcscTransport::connect`](super::PcscTransport::connect)
    /// wants it.
    pub name: String,
    /// A card is in the reader (it may still be mute).
    pub card_present: bool,
    /// The card's answer to reset; `None` without a card or when the card is mute.
    pub atr: Option<Vec<u8>>,
    /// Another application holds the card exclusively.
    pub exclusive: bool,
    /// At least one application (possibly this one) is connected to the card.
    pub in_use: bool,
    /// The card does not answer to reset (inserted upside down, dirty contacts, not a
    /// smart card).
    pub mute: bool,
    /// The reader is not usable right now (being unplugged, driver trouble).
    pub unavailable: bool,
}

impl ReaderInfo {
    /// An empty, available reader; for callers and tests that build reader lists.
    pub fn new(index: usize, name: impl Into<String>) -> Self {
        ReaderInfo {
            index,
            name: name.into(),
            card_present: false,
            atr: None,
            exclusive: false,
            in_use: false,
            mute: false,
            unavailable: false,
        }
    }

    /// The same reader, holding a card that answered `atr`.
    #[must_use]
    pub fn with_card(mut self, atr: impl Into<Vec<u8>>) -> Self {
        self.card_present = true;
        self.atr = Some(atr.into());
        self
    }

    pub(crate) fn from_state(index: usize, state: &::pcsc::ReaderState) -> Self {
        use ::pcsc::State;
        let s = state.event_state();
        let card_present = s.contains(State::PRESENT);
        let mute = s.contains(State::MUTE);
        let atr = (card_present && !mute && !state.atr().is_empty()).then(|| state.atr().to_vec());
        ReaderInfo {
            index,
            name: state.name().to_string_lossy().into_owned(),
            card_present,
            atr,
            exclusive: s.contains(State::EXCLUSIVE),
            in_use: s.contains(State::INUSE),
            mute,
            unavailable: s.intersects(State::UNAVAILABLE | State::UNKNOWN),
        }
    }
}

/// A predicate over a card's ATR, for [`ReaderSelector::HoldingCard`].
pub type AtrPredicate = Box<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Which reader the user means.
///
/// [`parse`](Self::parse) reads a command-line value; [`resolve`](Self::resolve)
/// picks the reader from a list, with an error that lists the candidates or the
/// readers present when the choice is ambiguous or matches nothing.
#[derive(Default)]
#[non_exhaustive]
pub enum ReaderSelector {
    /// The reader at this position in the PC/SC list (0-based, as `pcsc_scan -r` and
    /// `opensc-tool -l` number them).
    Index(usize),
    /// The reader with exactly this name.
    Exact(String),
    /// The reader with exactly this name if there is one, otherwise the only reader
    /// whose name contains this text, ignoring case.
    Substring(String),
    /// The only reader holding a card whose ATR satisfies the predicate ("the reader
    /// holding a CPS": card identification lives above this module).
    HoldingCard(AtrPredicate),
    /// The first reader listed.
    #[default]
    First,
}

impl ReaderSelector {
    /// Reads a `--reader` value: a number selects by index, anything else by name
    /// (exact, then case-insensitive substring: see [`ReaderSelector::Substring`]).
    pub fn parse(value: &str) -> Self {
        match value.trim().parse::<usize>() {
            Ok(index) => ReaderSelector::Index(index),
            Err(_) => ReaderSelector::Substring(value.to_owned()),
        }
    }

    /// Selects the reader holding a card whose ATR satisfies `predicate`.
    pub fn holding_card(predicate: impl Fn(&[u8]) -> bool + Send + Sync + 'static) -> Self {
        ReaderSelector::HoldingCard(Box::new(predicate))
    }

    /// Picks the reader this selector means from `readers` (as
    /// [`PcscContext::list_readers`](super::PcscContext::list_readers) returns them).
    ///
    /// # Errors
    ///
    /// [`PcscError::NoReaders`] for an empty list, [`PcscError::AmbiguousReader`] when a
    /// substring or the card predicate matches several readers,
    /// [`PcscError::ReaderNotFound`] (listing the readers present) when nothing matches.
    pub fn resolve<'r>(&self, readers: &'r [ReaderInfo]) -> Result<&'r ReaderInfo, PcscError> {
        let first = readers.first().ok_or(PcscError::NoReaders)?;
        let not_found = || PcscError::ReaderNotFound {
            wanted: self.to_string(),
            available: readers.iter().map(|r| r.name.clone()).collect(),
        };
        match self {
            ReaderSelector::First => Ok(first),
            ReaderSelector::Index(i) => {
                readers.iter().find(|r| r.index == *i).ok_or_else(not_found)
            }
            ReaderSelector::Exact(name) => readers
                .iter()
                .find(|r| r.name == *name)
                .ok_or_else(not_found),
            ReaderSelector::Substring(text) => {
                // An exact name wins even when it is part of longer names
                // ("Reader" next to "Reader 2").
                if let Some(exact) = readers.iter().find(|r| r.name == *text) {
                    return Ok(exact);
                }
                let text = text.to_lowercase();
                self.only_one(
                    readers
                        .iter()
                        .filter(|r| r.name.to_lowercase().contains(&text)),
                    not_found,
                )
            }
            ReaderSelector::HoldingCard(predicate) => self.only_one(
                readers
                    .iter()
                    .filter(|r| r.atr.as_deref().is_some_and(predicate)),
                not_found,
            ),
        }
    }

    fn only_one<'r>(
        &self,
        mut matches: impl Iterator<Item = &'r ReaderInfo>,
        not_found: impl FnOnce() -> PcscError,
    ) -> Result<&'r ReaderInfo, PcscError> {
        let Some(found) = matches.next() else {
            return Err(not_found());
        };
        let others: Vec<&ReaderInfo> = matches.collect();
        if others.is_empty() {
            return Ok(found);
        }
        Err(PcscError::AmbiguousReader {
            wanted: self.to_string(),
            candidates: std::iter::once(found)
                .chain(others)
                .map(|r| r.name.clone())
                .collect(),
        })
    }
}

/// The selector in words, as errors quote it: "reader 2", "reader matching \"pcd\"".
impl fmt::Display for ReaderSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReaderSelector::Index(i) => write!(f, "reader {i}"),
            ReaderSelector::Exact(name) => write!(f, "reader \"{name}\""),
            ReaderSelector::Substring(text) => write!(f, "reader matching \"{text}\""),
            ReaderSelector::HoldingCard(_) => f.write_str("reader holding a matching card"),
            ReaderSelector::First => f.write_str("first reader"),
        }
    }
}

impl fmt::Debug for ReaderSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReaderSelector::Index(i) => f.debug_tuple("Index").field(i).finish(),
            ReaderSelector::Exact(name) => f.debug_tuple("Exact").field(name).finish(),
            ReaderSelector::Substring(text) => f.debug_tuple("Substring").field(text).finish(),
            ReaderSelector::HoldingCard(_) => f.write_str("HoldingCard(..)"),
            ReaderSelector::First => f.write_str("First"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPS3: &[u8] = &[
        0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00,
        0x90, 0x00,
    ];
    const VITALE: &[u8] = &[0x3B, 0x65, 0x00, 0x00, 0x9C, 0x11, 0x01, 0x01, 0x03];

    fn readers(names: &[&str]) -> Vec<ReaderInfo> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| ReaderInfo::new(i, *n))
            .collect()
    }

    fn name(selector: &ReaderSelector, list: &[ReaderInfo]) -> String {
        selector.resolve(list).unwrap().name.clone()
    }

    #[test]
    fn parse_numbers_as_indexes_and_the_rest_as_names() {
        assert!(matches!(
            ReaderSelector::parse("2"),
            ReaderSelector::Index(2)
        ));
        assert!(matches!(
            ReaderSelector::parse(" 0 "),
            ReaderSelector::Index(0)
        ));
        assert!(
            matches!(ReaderSelector::parse("Virtual PCD"), ReaderSelector::Substring(s) if s == "Virtual PCD")
        );
        assert!(matches!(
            ReaderSelector::parse("-1"),
            ReaderSelector::Substring(_)
        ));
        assert!(matches!(
            ReaderSelector::parse("00 01"),
            ReaderSelector::Substring(_)
        ));
    }

    #[test]
    fn index_selects_by_position() {
        let list = readers(&["Virtual PCD 00 00", "Virtual PCD 00 01"]);
        assert_eq!(
            name(&ReaderSelector::parse("1"), &list),
            "Virtual PCD 00 01"
        );
        assert_eq!(name(&ReaderSelector::First, &list), "Virtual PCD 00 00");
        match ReaderSelector::parse("2").resolve(&list) {
            Err(PcscError::ReaderNotFound { wanted, available }) => {
                assert_eq!(wanted, "reader 2");
                assert_eq!(available, ["Virtual PCD 00 00", "Virtual PCD 00 01"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn substring_is_case_insensitive_and_must_be_unique() {
        let list = readers(&[
            "Gemalto PC Twin Reader 00 00",
            "Ingenico Prox'n Roll 01 00",
            "Ingenico Prox'n Roll 01 01",
        ]);
        assert_eq!(
            name(&ReaderSelector::parse("gemalto"), &list),
            "Gemalto PC Twin Reader 00 00"
        );
        assert_eq!(
            name(&ReaderSelector::parse("roll 01 01"), &list),
            "Ingenico Prox'n Roll 01 01"
        );
        match ReaderSelector::parse("ingenico").resolve(&list) {
            Err(e @ PcscError::AmbiguousReader { .. }) => {
                let PcscError::AmbiguousReader { candidates, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(
                    candidates,
                    &["Ingenico Prox'n Roll 01 00", "Ingenico Prox'n Roll 01 01"]
                );
                assert!(
                    e.to_string().contains("reader matching \"ingenico\""),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        match ReaderSelector::parse("omnikey").resolve(&list) {
            Err(e @ PcscError::ReaderNotFound { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("1 \"Ingenico Prox'n Roll 01 00\""), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_exact_name_beats_longer_names_containing_it() {
        let list = readers(&["Reader 2", "Reader"]);
        assert_eq!(name(&ReaderSelector::parse("Reader"), &list), "Reader");
        // Case differs: no exact match, so the substring rule applies and is ambiguous.
        assert!(matches!(
            ReaderSelector::parse("reader").resolve(&list),
            Err(PcscError::AmbiguousReader { .. })
        ));
        assert!(matches!(
            ReaderSelector::Exact("reader".into()).resolve(&list),
            Err(PcscError::ReaderNotFound { .. })
        ));
        assert_eq!(
            name(&ReaderSelector::Exact("Reader 2".into()), &list),
            "Reader 2"
        );
    }

    #[test]
    fn holding_card_uses_the_atr_predicate() {
        let is_cps3 = |atr: &[u8]| atr == CPS3;
        let mut list = readers(&["SESAM-Vitale 00 00", "SESAM-Vitale 00 01", "Other 01 00"]);
        list[0] = list[0].clone().with_card(VITALE);
        list[1] = list[1].clone().with_card(CPS3);
        let selector = ReaderSelector::holding_card(is_cps3);
        assert_eq!(name(&selector, &list), "SESAM-Vitale 00 01");

        list[2] = list[2].clone().with_card(CPS3);
        assert!(matches!(
            selector.resolve(&list),
            Err(PcscError::AmbiguousReader { candidates, .. }) if candidates.len() == 2
        ));

        let list = readers(&["Empty"]);
        match selector.resolve(&list) {
            Err(e @ PcscError::ReaderNotFound { .. }) => {
                assert!(
                    e.to_string()
                        .starts_with("no reader holding a matching card"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mute_card_never_matches_a_card_predicate() {
        let mut reader = ReaderInfo::new(0, "R");
        reader.card_present = true;
        reader.mute = true;
        assert!(
            ReaderSelector::holding_card(|_| true)
                .resolve(&[reader])
                .is_err()
        );
    }

    #[test]
    fn no_readers_is_its_own_error() {
        for selector in [
            ReaderSelector::First,
            ReaderSelector::Index(0),
            ReaderSelector::parse("x"),
        ] {
            assert!(matches!(selector.resolve(&[]), Err(PcscError::NoReaders)));
        }
    }

    #[test]
    fn debug_and_display_never_call_the_predicate() {
        let s = ReaderSelector::holding_card(|_| panic!("called"));
        assert_eq!(format!("{s:?}"), "HoldingCard(..)");
        assert_eq!(s.to_string(), "reader holding a matching card");
    }
}
