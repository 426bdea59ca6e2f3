//! Scripted transports for unit tests.

use std::collections::VecDeque;

use cps_apdu::{Transport, TransportError};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

/// Expects exactly these commands, in order, and answers each with its response.
#[derive(Debug)]
pub(crate) struct Script {
    atr: Vec<u8>,
    steps: VecDeque<(Vec<u8>, Vec<u8>)>,
}

impl Script {
    pub(crate) fn new(steps: &[(&str, &str)]) -> Self {
        Script::with_atr("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", steps)
    }

    pub(crate) fn with_atr(atr: &str, steps: &[(&str, &str)]) -> Self {
        Script {
            atr: hex(atr),
            steps: steps.iter().map(|(c, r)| (hex(c), hex(r))).collect(),
        }
    }

    /// Panics unless every scripted command was sent.
    pub(crate) fn finish(self) {
        assert!(
            self.steps.is_empty(),
            "{} scripted commands were never sent",
            self.steps.len()
        );
    }
}

impl Transport for Script {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (expected, response) = self
            .steps
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected command {}", hex::encode_upper(command)));
        assert_eq!(
            hex::encode_upper(command),
            hex::encode_upper(&expected),
            "command differs from the script"
        );
        Ok(response)
    }

    fn atr(&self) -> &[u8] {
        &self.atr
    }
}

/// A hostile card that always has "one more byte" for GET RESPONSE.
#[derive(Debug)]
pub(crate) struct Endless61;

impl Transport for Endless61 {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut out = vec![0x55; 255];
        out.extend_from_slice(&[0x61, 0xFF]);
        Ok(out)
    }

    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }
}

/// Answers `61 00` alone to everything: more data announced, none given.
#[derive(Debug, Default)]
pub(crate) struct EmptyEndless61;

impl Transport for EmptyEndless61 {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(vec![0x61, 0x00])
    }

    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }
}
