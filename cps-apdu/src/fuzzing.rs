//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable test that
//! replays their corpus and crash artifacts. Each one feeds arbitrary bytes to a
//! decoder and checks the invariants that must hold whatever the input: no panic,
//! and what decodes re-encodes consistently.
//!
//! Not a stable API.
#![allow(missing_docs, clippy::missing_panics_doc)]

use crate::command::{Command, LengthForm, trace_hex};
use crate::response::Response;
use crate::tlv::{self, TlvLimits};
use crate::{Atr, Fcp};

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Every fuzz target, by the name of its directory under `fuzz/corpus`.
pub const TARGETS: &[(&str, Target)] = &[
    ("command_decode", command),
    ("response_decode", response),
    ("atr", atr),
    ("tlv", tlv),
    ("fcp", fcp),
];

pub fn command(data: &[u8]) {
    let _ = trace_hex(data);
    if let Ok(c) = Command::decode(data) {
        let extended = data.len() > 5 && data.get(4) == Some(&0);
        let form = if extended {
            LengthForm::Extended
        } else {
            LengthForm::Short
        };
        let again = c.to_bytes_with(form).map(|b| b.to_vec());
        assert_eq!(again.as_deref(), Ok(data), "command did not re-encode");
        let _ = c.to_string();
    }
}

pub fn response(data: &[u8]) {
    if let Ok(r) = Response::decode(data) {
        assert_eq!(r.to_bytes(), data, "response did not re-encode");
        let _ = r.to_string();
    }
}

pub fn atr(data: &[u8]) {
    if let Ok(a) = Atr::parse(data) {
        assert_eq!(a.as_bytes(), data, "ATR bytes changed");
        let _ = (a.to_string(), a.protocols(), a.fi_di(), a.historical());
    }
}

pub fn tlv(data: &[u8]) {
    if let Ok(objects) = tlv::parse_ber(data, TlvLimits::default()) {
        let _ = tlv::find(&objects, &[0x8C]);
        let _ = tlv::find_constructed(&objects, &[0xA0]);
    }
    let _ = tlv::parse_simple(data, TlvLimits::default());
}

pub fn fcp(data: &[u8]) {
    if let Ok(f) = Fcp::parse(data) {
        let encoded = f.encode();
        assert_eq!(
            Fcp::parse(&encoded).as_ref(),
            Ok(&f),
            "FCP did not re-encode"
        );
    }
}
