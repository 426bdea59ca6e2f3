//! A tiny host for the tests: hex in, (data, status word) out, with T=0 GET RESPONSE.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use cps_apdu::Transport;
use cps_sim::card::VirtualCard;
use cps_sim::pki::CertUsage;
use cps_sim::profile::Profile;
use cps_sim::transport::SimTransport;
use rsa::RsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// Hex with spaces; `"text"` words stand for their ASCII bytes (`~` is a space).
pub fn h(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in s.split_whitespace() {
        if let Some(text) = part.strip_prefix('"') {
            out.extend(text.trim_end_matches('"').replace('~', " ").bytes());
        } else {
            out.extend(hex::decode(part).unwrap_or_else(|e| panic!("{part}: {e}")));
        }
    }
    out
}

pub fn hx(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub struct Host {
    pub t: SimTransport<VirtualCard>,
}

impl Host {
    pub fn new(profile: &str) -> Host {
        Host::with(&Profile::builtin(profile).unwrap())
    }

    pub fn with(profile: &Profile) -> Host {
        Host {
            t: SimTransport::from_profile(profile).unwrap(),
        }
    }

    pub fn card(&self) -> &VirtualCard {
        self.t.card()
    }

    /// Sends exactly these bytes; returns exactly what the card answered.
    pub fn raw(&mut self, command: &[u8]) -> Vec<u8> {
        self.t.transmit(command).unwrap()
    }

    /// Sends one command, returns (data, SW) of that command alone.
    pub fn one(&mut self, command: &str) -> (Vec<u8>, u16) {
        split(self.raw(&h(command)))
    }

    /// Sends a command and, like a T=0 host, fetches `61 xx` data with GET RESPONSE.
    pub fn send_bytes(&mut self, command: &[u8]) -> (Vec<u8>, u16) {
        let (mut data, mut sw) = split(self.raw(command));
        while sw >> 8 == 0x61 {
            let cla = command.first().copied().unwrap_or_default() & 0x03;
            let (more, next) = split(self.raw(&[cla, 0xC0, 0x00, 0x00, sw as u8]));
            data.extend(more);
            sw = next;
        }
        (data, sw)
    }

    pub fn send(&mut self, command: &str) -> (Vec<u8>, u16) {
        self.send_bytes(&h(command))
    }

    /// Sends and checks the final status word; returns the data.
    #[track_caller]
    pub fn expect(&mut self, command: &str, sw: u16) -> Vec<u8> {
        let (data, got) = self.send(command);
        assert_eq!(got, sw, "{command} → {got:04X}, data {}", hx(&data));
        data
    }

    /// Checks the raw answer of one command, GET RESPONSE not followed.
    #[track_caller]
    pub fn exchange(&mut self, command: &str, answer: &str) {
        let got = self.raw(&h(command));
        assert_eq!(hx(&got), hx(&h(answer)), "{command}");
    }

    /// Reads a whole EF after selecting it by absolute path, like the Cryptolib (E7 chunks).
    pub fn read_file(&mut self, path: &str) -> Vec<u8> {
        let path = h(path);
        let mut select = vec![0x00, 0xA4, 0x09, 0x04, path.len() as u8];
        select.extend(&path);
        let (fcp, sw) = self.send_bytes(&select);
        assert_eq!(sw, 0x9000, "select {}", hx(&path));
        let size = fcp_size(&fcp);
        let mut out = Vec::new();
        while out.len() < size {
            let offset = out.len();
            let le = (size - offset).min(0xE7);
            let (chunk, sw) =
                self.send_bytes(&[0x00, 0xB0, (offset >> 8) as u8, offset as u8, le as u8]);
            assert_eq!(sw, 0x9000);
            out.extend(chunk);
        }
        out
    }
}

pub fn split(mut bytes: Vec<u8>) -> (Vec<u8>, u16) {
    assert!(bytes.len() >= 2, "short answer {}", hx(&bytes));
    let lo = bytes.pop().unwrap();
    let hi = bytes.pop().unwrap();
    (bytes, u16::from_be_bytes([hi, lo]))
}

/// Tag 80 of an FCP (file size).
pub fn fcp_size(fcp: &[u8]) -> usize {
    let parsed = cps_apdu::Fcp::parse(fcp).unwrap();
    parsed.size.unwrap() as usize
}

/// `"1234"` → ASCII padded with FF to 8 bytes, hex.
pub fn block(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    bytes.resize(8, 0xFF);
    hx(&bytes)
}

/// The public key of one of the card's certificates.
pub fn public_key(card: &Host, usage: CertUsage) -> RsaPublicKey {
    let der = card
        .card()
        .certificates()
        .into_iter()
        .find(|(u, _)| same_usage(u, &usage))
        .unwrap()
        .1;
    let cert = Certificate::from_der(&der).unwrap();
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    RsaPublicKey::from_public_key_der(&spki).unwrap()
}

/// Selects the MF and presents the test PIN, like the Cryptolib.
pub fn login(card: &mut Host) {
    card.exchange("00 A4 02 0C 02 3F 00", "90 00");
    card.exchange(&format!("00 20 00 01 08 {}", block("1234")), "90 00");
}

/// Compares usages without relying on the PKI's derives.
pub fn same_usage(a: &CertUsage, b: &CertUsage) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}
