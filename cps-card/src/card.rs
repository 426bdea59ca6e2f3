//! The CPS card: identification, PIN status without spending a try, verify / change /
//! unblock under a last-try guard, certificates, holder, keys.
//!
//! Every file is read at most once per [`CpsCard`] (the PKCS#15 structures and the
//! certificates are cached), so the APDU count of an operation is the protocol's
//! minimum.

use std::collections::HashMap;

use cps_apdu::tlv::{self, TlvLimits};
use cps_apdu::{Command, Fcp, StatusWord, Transport};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cert::Certificate;
use crate::error::CardError;
use crate::exchange::{AID_IAS, Exchange, Recovery};
use crate::identify::{CardKind, Generation, SerialNumber};
use crate::pkcs15::{self, Application, AuthObject, Odf, PrivateKey, TokenInfo};
use crate::secret::{Pin, Puk};

/// The contact PKCS#15 application ("CPX IAS").
pub const AID_PKCS15_CONTACT: [u8; 13] = [
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x10,
];
/// The contactless PKCS#15 application ("CPX IAS CL").
pub const AID_PKCS15_CONTACTLESS: [u8; 13] = [
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x20,
];
const PATH_EF_SN: [u8; 4] = [0x3F, 0x00, 0xD0, 0x03];
const PATH_EF_DIR: [u8; 4] = [0x3F, 0x00, 0x2F, 0x00];
const PATH_EF_ACTUA: [u8; 4] = [0x3F, 0x00, 0xD0, 0x10];
const ODF_FID: [u8; 2] = [0x50, 0x31];
const TOKEN_INFO_FID: [u8; 2] = [0x50, 0x32];
/// Largest file this library reads from a card (a certificate is about 1.5 KiB).
const MAX_FILE: usize = 16 * 1024;

/// The state of a PIN or PUK counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterState {
    /// Every try left.
    Ok,
    /// Some tries spent, more than one left.
    Low,
    /// One try left: the next wrong code blocks it.
    FinalTry,
    /// No try left.
    Blocked,
    /// PUK only: its usage counter is exhausted, the card cannot be unblocked again.
    Exhausted,
}

/// A retry counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counter {
    /// Tries left.
    pub tries_left: u8,
    /// Tries when fresh.
    pub tries_max: u8,
    /// Unblocks left (PUK of a CPS3 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_left: Option<u16>,
    /// What the numbers mean.
    pub state: CounterState,
}

impl Counter {
    fn new(tries_left: u8, tries_max: u8, usage_left: Option<u16>) -> Counter {
        let state = if usage_left == Some(0) {
            CounterState::Exhausted
        } else {
            match tries_left {
                0 => CounterState::Blocked,
                1 => CounterState::FinalTry,
                n if n >= tries_max => CounterState::Ok,
                _ => CounterState::Low,
            }
        };
        Counter {
            tries_left,
            tries_max,
            usage_left,
            state,
        }
    }
}

/// PIN and PUK counters, read without spending a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PinStatus {
    /// The code porteur.
    pub pin: Counter,
    /// The code de déblocage.
    pub puk: Counter,
}

/// Whether an operation may spend the last try of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastTry {
    /// Refuse, sending nothing, when one try is left (the default).
    #[default]
    Refuse,
    /// The caller opted in, for this call only.
    Allow,
}

/// The outcome of presenting a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum VerifyOutcome {
    /// The PIN was right.
    Verified,
    /// The PIN was wrong.
    WrongPin {
        /// Tries left.
        tries_left: u8,
    },
    /// The PIN is now blocked.
    Blocked,
}

/// The outcome of an unblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UnblockOutcome {
    /// The PIN is unblocked and set to the new value.
    Unblocked,
    /// The unblock code was wrong.
    WrongPuk {
        /// Tries left on the unblock code.
        tries_left: u8,
    },
    /// The unblock code is now blocked: the card must be replaced.
    PukBlocked,
}

/// Which certificate of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// Authentication ("Certificat d'Authentification CPS").
    Auth,
    /// Signature ("Certificat de Signature CPS").
    Sign,
    /// Technical (contactless, "Certificat Technique CPS").
    Tech,
}

/// A certificate read from the card, with where it came from.
#[derive(Debug, Clone)]
pub struct CardCertificate {
    /// Its role.
    pub which: CertKind,
    /// The card's label for it.
    pub label: String,
    /// The certificate.
    pub certificate: Certificate,
}

/// What the card's PKCS#15 application declares, read once.
#[derive(Debug, Clone, Default)]
struct Discovery {
    app: Option<Application>,
    odf: Option<Odf>,
    token: Option<TokenInfo>,
    auth: Option<Vec<AuthObject>>,
    keys: Option<Vec<PrivateKey>>,
    certs: Option<Vec<pkcs15::CertificateObject>>,
}

/// A CPS card behind a transport.
#[derive(Debug)]
pub struct CpsCard<T> {
    ex: Exchange<T>,
    kind: CardKind,
    generation: Generation,
    serial: SerialNumber,
    discovery: Discovery,
    files: HashMap<Vec<u8>, Vec<u8>>,
    /// The path last selected, so that a second command on the same DF does not
    /// select it again.
    current: Option<Vec<u8>>,
}

impl<T: Transport> CpsCard<T> {
    /// Identifies the card: its ATR, then EF.SN.ICC (issuer number and Luhn digit).
    /// A Carte Vitale, an unknown card and a CPS2ter-era card are specific errors.
    pub fn open(transport: T) -> Result<CpsCard<T>, CardError> {
        let kind = CardKind::from_atr(transport.atr());
        let generation = kind.generation().ok_or(CardError::NotACps { kind })?;
        // pcscd derives T=0 from these ATRs; over T=0 a case-4 command goes
        // without Le.
        let t0 = matches!(kind, CardKind::Cps3Contact | CardKind::Cps4T0);
        let mut ex = Exchange::new(transport, t0);
        if generation == Generation::Cps4 {
            let select = Command::new(0x01, 0xA4, 0x04, 0x0C).with_data(AID_IAS);
            let sw = ex.transmit(&select)?.sw;
            if !sw.is_success() {
                return Err(CardError::Status {
                    operation: "selecting the CPS4 application on channel 1",
                    sw,
                });
            }
        }
        let mut card = CpsCard {
            ex,
            kind,
            generation,
            serial: SerialNumber {
                pan: String::new(),
                serial: String::new(),
                issuer_ok: false,
                luhn_ok: false,
            },
            discovery: Discovery::default(),
            files: HashMap::new(),
            current: None,
        };
        let sn = match card.read_file(&PATH_EF_SN) {
            Ok(bytes) => bytes,
            // A card with the CPS3 ATR but no EF.SN.ICC predates CPS3.
            Err(CardError::Status { sw, .. })
                if generation == Generation::Cps3 && sw == StatusWord::FileNotFound =>
            {
                return Err(CardError::Cps2ter);
            }
            Err(e) => return Err(e),
        };
        card.serial = SerialNumber::parse(&sn).map_err(|reason| CardError::Malformed {
            what: "EF.SN.ICC",
            reason,
        })?;
        if !card.serial.issuer_ok {
            return Err(if generation == Generation::Cps3 {
                CardError::Cps2ter
            } else {
                CardError::NotACps { kind }
            });
        }
        card.ex.set_recovery(match generation {
            Generation::Cps3 => Recovery::Cps3,
            Generation::Cps4 => Recovery::Cps4,
        });
        Ok(card)
    }

    /// What the ATR says the card is.
    pub fn kind(&self) -> CardKind {
        self.kind
    }

    /// CPS3 or CPS4.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// EF.SN.ICC, read when the card was opened.
    pub fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    /// The ATR.
    pub fn atr(&self) -> &[u8] {
        self.ex.transport().atr()
    }

    /// APDUs sent since the card was opened.
    pub fn apdus_sent(&self) -> usize {
        self.ex.apdus_sent()
    }

    /// The exchange layer, for experts.
    pub fn exchange(&mut self) -> &mut Exchange<T> {
        &mut self.ex
    }

    /// Gives the transport back (to disconnect it with the right disposition).
    pub fn into_transport(self) -> T {
        self.ex.into_inner()
    }

    fn cla(&self) -> u8 {
        match self.generation {
            Generation::Cps3 => 0x00,
            Generation::Cps4 => 0x01,
        }
    }

    fn chunk(&self) -> usize {
        match self.generation {
            Generation::Cps3 => 0xE7,
            Generation::Cps4 => 256,
        }
    }

    fn status(operation: &'static str, sw: StatusWord) -> CardError {
        CardError::Status { operation, sw }
    }

    /// Selects a file by absolute path (starting `3F00`) and returns its FCP.
    fn select(&mut self, path: &[u8], want_fcp: bool) -> Result<Option<Fcp>, CardError> {
        let command = match self.generation {
            Generation::Cps3 => Command::new(0x00, 0xA4, 0x09, if want_fcp { 0x04 } else { 0x0C })
                .with_data(path)
                .with_le(want_fcp.then_some(256)),
            Generation::Cps4 => {
                let rel = path.strip_prefix(&[0x3F, 0x00][..]).unwrap_or(path);
                if rel.is_empty() {
                    Command::new(0x01, 0xA4, 0x00, 0x0C).with_data(vec![0x3F, 0x00])
                } else {
                    Command::new(0x01, 0xA4, 0x08, if want_fcp { 0x00 } else { 0x0C })
                        .with_data(rel)
                        .with_le(want_fcp.then_some(256))
                }
            }
        };
        let response = self.ex.transmit(&command)?;
        if !response.is_success() {
            self.current = None;
            return Err(Self::status("selecting a file", response.sw));
        }
        self.current = Some(path.to_vec());
        if !want_fcp || response.data.is_empty() {
            return Ok(None);
        }
        Fcp::parse(&response.data)
            .map(Some)
            .map_err(|e| CardError::Malformed {
                what: "file control parameters",
                reason: e.to_string(),
            })
    }

    /// Reads a whole transparent file by absolute path, once per session.
    fn read_file(&mut self, path: &[u8]) -> Result<Vec<u8>, CardError> {
        if let Some(bytes) = self.files.get(path) {
            return Ok(bytes.clone());
        }
        let fcp = self.select(path, true)?;
        let size = fcp.and_then(|f| f.size).map(|s| s as usize);
        let mut out = Vec::new();
        let limit = size.unwrap_or(MAX_FILE);
        if limit > MAX_FILE {
            return Err(CardError::Malformed {
                what: "file size",
                reason: format!("{limit} bytes is more than any CPS file holds"),
            });
        }
        while out.len() < limit {
            let offset = u16::try_from(out.len())
                .map_err(|_| CardError::ResponseTooLong { limit: MAX_FILE })?;
            let le = (limit - out.len()).min(self.chunk());
            let [p1, p2] = offset.to_be_bytes();
            let read = Command::new(self.cla(), 0xB0, p1, p2).with_le(le);
            let response = self.ex.transmit(&read)?;
            let end = matches!(response.sw, StatusWord::EndOfFile | StatusWord::WrongP1P2);
            if !response.is_success() && !end {
                return Err(Self::status("reading a file", response.sw));
            }
            if response.data.is_empty() && !response.is_success() {
                break;
            }
            out.extend_from_slice(&response.data);
            if end || (size.is_none() && response.data.len() < le) || response.data.is_empty() {
                break;
            }
        }
        self.files.insert(path.to_vec(), out.clone());
        Ok(out)
    }

    fn application(&mut self) -> Result<Application, CardError> {
        if let Some(app) = &self.discovery.app {
            return Ok(app.clone());
        }
        let dir = self.read_file(&PATH_EF_DIR)?;
        let apps = pkcs15::parse_dir(&dir).map_err(malformed("EF.DIR"))?;
        let wanted = match self.kind {
            CardKind::Cps3Contactless => AID_PKCS15_CONTACTLESS,
            _ => AID_PKCS15_CONTACT,
        };
        let app = apps
            .into_iter()
            .find(|a| a.aid == wanted)
            .ok_or(CardError::Missing {
                what: "PKCS#15 application in EF.DIR",
            })?;
        self.discovery.app = Some(app.clone());
        Ok(app)
    }

    fn odf(&mut self) -> Result<Odf, CardError> {
        if let Some(odf) = &self.discovery.odf {
            return Ok(odf.clone());
        }
        let mut path = self.application()?.path;
        path.extend_from_slice(&ODF_FID);
        let odf = pkcs15::parse_odf(&self.read_file(&path)?).map_err(malformed("ODF"))?;
        self.discovery.odf = Some(odf.clone());
        Ok(odf)
    }

    /// TokenInfo: the token label (`CPS3v3-<card number>`) and manufacturer.
    pub fn token_info(&mut self) -> Result<TokenInfo, CardError> {
        if let Some(t) = &self.discovery.token {
            return Ok(t.clone());
        }
        let mut path = self.application()?.path;
        path.extend_from_slice(&TOKEN_INFO_FID);
        let token =
            pkcs15::parse_token_info(&self.read_file(&path)?).map_err(malformed("TokenInfo"))?;
        self.discovery.token = Some(token.clone());
        Ok(token)
    }

    fn auth_objects(&mut self) -> Result<Vec<AuthObject>, CardError> {
        if let Some(a) = &self.discovery.auth {
            return Ok(a.clone());
        }
        let mut all = Vec::new();
        for path in self.odf()?.auth_objects {
            all.extend(pkcs15::parse_aodf(&self.read_file(&path)?).map_err(malformed("AODF"))?);
            too_many(all.len(), "AODF")?;
        }
        self.discovery.auth = Some(all.clone());
        Ok(all)
    }

    /// The card's PIN and PUK objects, from its AODF.
    pub fn pin_objects(&mut self) -> Result<(AuthObject, AuthObject), CardError> {
        let objects = self.auth_objects()?;
        let puk = objects
            .iter()
            .find(|o| o.unblocking)
            .cloned()
            .ok_or(CardError::Missing {
                what: "unblock code (PUK) object in the AODF",
            })?;
        let pin = objects
            .into_iter()
            .find(|o| !o.unblocking)
            .ok_or(CardError::Missing {
                what: "PIN object in the AODF",
            })?;
        Ok((pin, puk))
    }

    /// The private keys, from the PrKDF.
    pub fn private_keys(&mut self) -> Result<Vec<PrivateKey>, CardError> {
        if let Some(k) = &self.discovery.keys {
            return Ok(k.clone());
        }
        let mut all = Vec::new();
        for path in self.odf()?.private_keys {
            all.extend(pkcs15::parse_prkdf(&self.read_file(&path)?).map_err(malformed("PrKDF"))?);
            too_many(all.len(), "PrKDF")?;
        }
        self.discovery.keys = Some(all.clone());
        Ok(all)
    }

    fn certificate_objects(&mut self) -> Result<Vec<pkcs15::CertificateObject>, CardError> {
        if let Some(c) = &self.discovery.certs {
            return Ok(c.clone());
        }
        let mut all = Vec::new();
        for path in self.odf()?.certificates {
            all.extend(pkcs15::parse_cdf(&self.read_file(&path)?).map_err(malformed("CDF"))?);
            too_many(all.len(), "CDF")?;
        }
        self.discovery.certs = Some(all.clone());
        Ok(all)
    }

    /// The card's certificates (authentication, signature, and technical on
    /// contactless), read from the paths its CDF gives.
    pub fn certificates(&mut self) -> Result<Vec<CardCertificate>, CardError> {
        let objects = self.certificate_objects()?;
        let keys = self.private_keys()?;
        let mut out = Vec::new();
        for object in objects {
            let key = keys.iter().find(|k| k.id == object.id);
            let which = if key.is_some_and(|k| k.non_repudiation) {
                CertKind::Sign
            } else if object.label.contains("Techni") {
                CertKind::Tech
            } else if key.is_some() || object.label.contains("Authentification") {
                CertKind::Auth
            } else if object.label.contains("Signature") {
                CertKind::Sign
            } else {
                CertKind::Auth
            };
            let der = self.read_file(&object.path)?;
            let name = match which {
                CertKind::Auth => "authentication",
                CertKind::Sign => "signature",
                CertKind::Tech => "technical",
            };
            let certificate =
                Certificate::from_der(&der).map_err(|source| CardError::Certificate {
                    which: name,
                    source: Box::new(source),
                })?;
            out.push(CardCertificate {
                which,
                label: object.label,
                certificate,
            });
        }
        Ok(out)
    }

    /// One certificate by role.
    pub fn certificate(&mut self, which: CertKind) -> Result<CardCertificate, CardError> {
        let objects = self.certificate_objects()?;
        let keys = self.private_keys()?;
        let wanted = objects.into_iter().find(|o| {
            let key = keys.iter().find(|k| k.id == o.id);
            match which {
                CertKind::Sign => key.is_some_and(|k| k.non_repudiation),
                CertKind::Tech => o.label.contains("Techni"),
                CertKind::Auth => {
                    key.is_some_and(|k| !k.non_repudiation) && !o.label.contains("Techni")
                }
            }
        });
        let object = wanted.ok_or(CardError::Missing {
            what: "certificate of that kind",
        })?;
        let der = self.read_file(&object.path)?;
        let certificate = Certificate::from_der(&der).map_err(|source| CardError::Certificate {
            which: "card",
            source: Box::new(source),
        })?;
        Ok(CardCertificate {
            which,
            label: object.label,
            certificate,
        })
    }

    /// EF_ACTUA (the card-update window) when the card has one; `None` before the
    /// card's first remote update.
    pub fn update_window(&mut self) -> Result<Option<Vec<u8>>, CardError> {
        match self.read_file(&PATH_EF_ACTUA) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(CardError::Status {
                sw: StatusWord::FileNotFound,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PIN and PUK counters. **Never spends a try**: GET DATA on CPS3, an empty
    /// VERIFY on CPS4.
    pub fn pin_status(&mut self) -> Result<PinStatus, CardError> {
        let (pin, puk) = self.pin_objects()?;
        match self.generation {
            Generation::Cps3 => {
                self.select_mf()?;
                let pin = self.counter_cps3(pin.reference)?;
                let puk = self.counter_cps3(puk.reference)?;
                Ok(PinStatus { pin, puk })
            }
            Generation::Cps4 => Ok(PinStatus {
                pin: self.counter_cps4(pin.reference, 3)?,
                puk: self.counter_cps4(puk.reference, 10)?,
            }),
        }
    }

    fn select_mf(&mut self) -> Result<(), CardError> {
        if self.current.as_deref() == Some(&[0x3F, 0x00]) {
            return Ok(());
        }
        let cla = self.cla();
        let response = self
            .ex
            .transmit(&Command::new(cla, 0xA4, 0x00, 0x0C).with_data(vec![0x3F, 0x00]))?;
        if !response.is_success() {
            self.current = None;
            return Err(Self::status("selecting the MF", response.sw));
        }
        self.current = Some(vec![0x3F, 0x00]);
        Ok(())
    }

    fn counter_cps3(&mut self, reference: u8) -> Result<Counter, CardError> {
        let request = vec![
            0x4D, 0x08, 0x70, 0x06, 0xBF, 0x81, reference, 0x02, 0xA0, 0x80,
        ];
        let response = self.ex.transmit(
            &Command::new(0x00, 0xCB, 0x3F, 0xFF)
                .with_data(request)
                .with_le(256),
        )?;
        if !response.is_success() {
            return Err(Self::status("reading a PIN counter", response.sw));
        }
        let objects = tlv::parse_ber(&response.data, TlvLimits::default()).map_err(|e| {
            CardError::Malformed {
                what: "PIN counter answer",
                reason: e.to_string(),
            }
        })?;
        let sdo = [0xBF, 0x81, reference];
        let malformed = |reason: String| CardError::Malformed {
            what: "PIN counter answer",
            reason,
        };
        // Counters are one byte, the usage counter one or two (reference §4): any other
        // length would be read as a number the card never said (an empty `9D` as "no
        // unblock left").
        let get = |tag: u8, widths: std::ops::RangeInclusive<usize>| {
            let Some(value) = tlv::find_path(&objects, &[&[0x70], &sdo, &[0xA0], &[tag]])
                .and_then(tlv::primitive_value)
            else {
                return Ok(None);
            };
            if !widths.contains(&value.len()) {
                return Err(malformed(format!(
                    "tag {tag:02X} is {} bytes long",
                    value.len()
                )));
            }
            Ok(Some(
                value.iter().fold(0u16, |acc, &b| acc << 8 | u16::from(b)),
            ))
        };
        let missing = || malformed("tags 9A/9B missing".into());
        let max = get(0x9A, 1..=1)?.ok_or_else(missing)?;
        let left = get(0x9B, 1..=1)?.ok_or_else(missing)?;
        let usage = get(0x9D, 1..=2)?;
        let clamp = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
        checked_counter(clamp(left), clamp(max), usage)
    }

    fn counter_cps4(&mut self, reference: u8, max: u8) -> Result<Counter, CardError> {
        let response = self
            .ex
            .transmit(&Command::new(0x01, 0x20, 0x00, reference))?;
        let left = match response.sw {
            StatusWord::Success => max,
            StatusWord::VerificationFailed { tries_left } => tries_left,
            StatusWord::AuthenticationBlocked | StatusWord::ReferenceDataNotUsable => 0,
            sw => return Err(Self::status("reading a PIN counter", sw)),
        };
        let usage = (response.sw == StatusWord::ReferenceDataNotUsable).then_some(0);
        checked_counter(left, max, usage)
    }

    fn pin_block(
        object: &AuthObject,
        digits: &[u8],
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        object.format.block(digits).ok_or(CardError::SecretFormat {
            what,
            min: object.format.min_len,
            max: object.format.max_len,
        })
    }

    /// Presents the PIN. The guard refuses, sending nothing, when the PIN is blocked
    /// and — unless `last_try` is [`LastTry::Allow`] — when one try is left.
    pub fn verify_pin(&mut self, pin: &Pin, last_try: LastTry) -> Result<VerifyOutcome, CardError> {
        let (object, _) = self.pin_objects()?;
        let block = Self::pin_block(&object, pin.as_bytes(), "PIN")?;
        let status = self.pin_status()?;
        guard(status.pin, last_try, "PIN (code porteur)")?;
        let command =
            Command::new(self.cla(), 0x20, 0x00, object.reference).with_data(block.to_vec());
        let response = self.ex.transmit(&command)?;
        pin_outcome(response.sw, "verifying the PIN")
    }

    /// Changes the PIN from `old` to `new`, under the same guard as
    /// [`verify_pin`](Self::verify_pin).
    pub fn change_pin(
        &mut self,
        old: &Pin,
        new: &Pin,
        last_try: LastTry,
    ) -> Result<VerifyOutcome, CardError> {
        let (object, _) = self.pin_objects()?;
        let old_block = Self::pin_block(&object, old.as_bytes(), "current PIN")?;
        let new_block = Self::pin_block(&object, new.as_bytes(), "new PIN")?;
        let status = self.pin_status()?;
        guard(status.pin, last_try, "PIN (code porteur)")?;
        let mut data = Zeroizing::new(Vec::with_capacity(old_block.len() * 2));
        data.extend_from_slice(&old_block);
        data.extend_from_slice(&new_block);
        let command =
            Command::new(self.cla(), 0x24, 0x00, object.reference).with_data(data.to_vec());
        let response = self.ex.transmit(&command)?;
        pin_outcome(response.sw, "changing the PIN")
    }

    /// Unblocks the PIN with the unblock code and sets `new_pin`. The guard refuses,
    /// sending nothing, when the unblock code is blocked or used up
    /// ([`CardError::PukExhausted`]) and — unless allowed — when it has one try left.
    pub fn unblock(
        &mut self,
        puk: &Puk,
        new_pin: &Pin,
        last_try: LastTry,
    ) -> Result<UnblockOutcome, CardError> {
        let (pin_object, puk_object) = self.pin_objects()?;
        let puk_block = Self::pin_block(&puk_object, puk.as_bytes(), "unblock code")?;
        let new_block = Self::pin_block(&pin_object, new_pin.as_bytes(), "new PIN")?;
        let status = self.pin_status()?;
        if matches!(
            status.puk.state,
            CounterState::Blocked | CounterState::Exhausted
        ) {
            return Err(CardError::PukExhausted);
        }
        guard(status.puk, last_try, "unblock code (code de déblocage)")?;
        let cla = self.cla();
        let verify =
            Command::new(cla, 0x20, 0x00, puk_object.reference).with_data(puk_block.to_vec());
        match self.ex.transmit(&verify)?.sw {
            StatusWord::Success => {}
            StatusWord::VerificationFailed { tries_left: 0 }
            | StatusWord::AuthenticationBlocked => {
                return Ok(UnblockOutcome::PukBlocked);
            }
            StatusWord::VerificationFailed { tries_left } => {
                return Ok(UnblockOutcome::WrongPuk { tries_left });
            }
            StatusWord::ReferenceDataNotUsable => return Err(CardError::PukExhausted),
            sw => return Err(Self::status("verifying the unblock code", sw)),
        }
        let sw = match self.generation {
            Generation::Cps3 => {
                let reset = Command::new(cla, 0x2C, 0x02, pin_object.reference)
                    .with_data(new_block.to_vec());
                self.ex.transmit(&reset)?.sw
            }
            Generation::Cps4 => {
                let reset = Command::new(cla, 0x2C, 0x03, pin_object.reference);
                let sw = self.ex.transmit(&reset)?.sw;
                if !sw.is_success() {
                    return Err(Self::status("resetting the PIN counter", sw));
                }
                let set = Command::new(cla, 0x24, 0x01, pin_object.reference)
                    .with_data(new_block.to_vec());
                self.ex.transmit(&set)?.sw
            }
        };
        match sw {
            StatusWord::Success => Ok(UnblockOutcome::Unblocked),
            StatusWord::ReferenceDataNotUsable => Err(CardError::PukExhausted),
            sw => Err(Self::status("setting the new PIN", sw)),
        }
    }

    fn key_reference(&mut self, signature: bool) -> Result<u8, CardError> {
        self.private_keys()?
            .into_iter()
            .find(|k| k.non_repudiation == signature && (signature || k.sign || k.decrypt))
            .map(|k| k.reference)
            .ok_or(CardError::Missing {
                what: "private key of that kind in the PrKDF",
            })
    }

    fn select_application_df(&mut self) -> Result<(), CardError> {
        let path = self.application()?.path;
        if self.current.as_deref() != Some(path.as_slice()) && self.generation == Generation::Cps3 {
            self.select(&path, false)?;
        }
        Ok(())
    }

    /// Has the authentication key sign `challenge` (raw PKCS#1 v1.5 type-1 padding,
    /// as a TLS client authentication does). Needs a verified PIN.
    pub fn authenticate(&mut self, challenge: &[u8]) -> Result<Vec<u8>, CardError> {
        let reference = self.key_reference(false)?;
        self.select_application_df()?;
        let cla = self.cla();
        match self.generation {
            Generation::Cps3 => {
                let mse = Command::new(cla, 0x22, 0x41, 0xA4)
                    .with_data(vec![0x80, 0x01, 0x02, 0x84, 0x01, reference]);
                self.expect_ok(&mse, "setting up the authentication key")?;
                let auth = Command::new(cla, 0x88, 0x00, 0x00)
                    .with_data(challenge)
                    .with_le(256);
                self.data_or_error(&auth, "authenticating with the card's key")
            }
            Generation::Cps4 => {
                // The reference's CPS4 sequence names the authentication key with a
                // fixed `83 01 20`; the PrKDF reference only proves the key exists.
                let _ = reference;
                let mse = Command::new(cla, 0x22, 0x41, 0xB8).with_data(vec![0x83, 0x01, 0x20]);
                self.expect_ok(&mse, "setting up the authentication key")?;
                let block = pkcs1_type1(challenge, 256).ok_or(CardError::Malformed {
                    what: "challenge",
                    reason: "too long for a 2048-bit key".into(),
                })?;
                let mut data = vec![0x00];
                data.extend_from_slice(&block);
                let decipher = Command::new(cla, 0x2A, 0x80, 0x86)
                    .with_data(data)
                    .with_le(256);
                self.data_or_error(&decipher, "authenticating with the card's key")
            }
        }
    }

    /// Has the signature key sign `message` with SHA-256 (PKCS#1 v1.5). On a CPS3 the
    /// card finishes the hash, as the vendor middleware has it do: the host sends the
    /// SHA-256 state of the full 64-byte blocks and the last 1–64 bytes (PSO HASH), then
    /// asks for the signature; a CPS4 signs the digest the host computed. Needs a
    /// verified PIN.
    pub fn sign_sha256(&mut self, message: &[u8]) -> Result<Vec<u8>, CardError> {
        let reference = self.key_reference(true)?;
        self.select_application_df()?;
        let cla = self.cla();
        match self.generation {
            Generation::Cps3 => {
                let mse_ht = Command::new(cla, 0x22, 0x41, 0xAA).with_data(vec![0x80, 0x01, 0x40]);
                self.expect_ok(&mse_ht, "setting up the hash")?;
                let hash = Command::new(cla, 0x2A, 0x90, 0xA0).with_data(pso_hash_data(message));
                self.expect_ok(&hash, "hashing on the card")?;
                let mse_dst = Command::new(cla, 0x22, 0x41, 0xB6)
                    .with_data(vec![0x80, 0x01, 0x42, 0x84, 0x01, reference]);
                self.expect_ok(&mse_dst, "setting up the signature key")?;
            }
            Generation::Cps4 => {
                let mse = Command::new(cla, 0x22, 0x81, 0xB6)
                    .with_data(vec![0x91, 0x02, 0x28, reference]);
                self.expect_ok(&mse, "setting up the signature key")?;
                // The CPS4 signs a digest computed by the host.
                use sha2::Digest;
                let digest = sha2::Sha256::digest(message).to_vec();
                let cds = Command::new(cla, 0x2A, 0x9E, 0x9A)
                    .with_data(digest)
                    .with_le(256);
                return self.data_or_error(&cds, "signing");
            }
        }
        let cds = Command::new(cla, 0x2A, 0x9E, 0x9A).with_le(256);
        self.data_or_error(&cds, "signing")
    }

    /// Random bytes from the card (GET CHALLENGE).
    pub fn challenge(&mut self, len: u8) -> Result<Vec<u8>, CardError> {
        let command = Command::new(self.cla(), 0x84, 0x00, 0x00).with_le(usize::from(len));
        self.data_or_error(&command, "asking the card for random bytes")
    }

    fn expect_ok(&mut self, command: &Command, operation: &'static str) -> Result<(), CardError> {
        let sw = self.ex.transmit(command)?.sw;
        if sw.is_success() {
            Ok(())
        } else {
            Err(Self::status(operation, sw))
        }
    }

    fn data_or_error(
        &mut self,
        command: &Command,
        operation: &'static str,
    ) -> Result<Vec<u8>, CardError> {
        let response = self.ex.transmit(command)?;
        if response.is_success() {
            Ok(response.data)
        } else {
            Err(Self::status(operation, response.sw))
        }
    }
}

fn malformed(what: &'static str) -> impl Fn(pkcs15::Pkcs15Error) -> CardError {
    move |e| CardError::Malformed {
        what,
        reason: e.to_string(),
    }
}

/// A counter as the card reports it, refused when it claims more tries left than its
/// maximum: shown as "ok", such a counter would hide a card that is not behaving.
fn checked_counter(left: u8, max: u8, usage: Option<u16>) -> Result<Counter, CardError> {
    if left > max {
        return Err(CardError::Malformed {
            what: "PIN counter answer",
            reason: format!("{left} tries left of {max}"),
        });
    }
    Ok(Counter::new(left, max, usage))
}

/// Objects of one kind across all the directory files the ODF lists: a real card
/// has a handful; more than one directory file may hold is not a CPS.
fn too_many(count: usize, what: &'static str) -> Result<(), CardError> {
    if count > pkcs15::MAX_ENTRIES {
        return Err(CardError::Malformed {
            what,
            reason: format!(
                "more than {} objects across its directory files",
                pkcs15::MAX_ENTRIES
            ),
        });
    }
    Ok(())
}

fn guard(counter: Counter, last_try: LastTry, what: &'static str) -> Result<(), CardError> {
    match counter.state {
        CounterState::Blocked | CounterState::Exhausted if what.starts_with("PIN") => {
            Err(CardError::PinBlocked)
        }
        CounterState::Blocked | CounterState::Exhausted => Err(CardError::PukExhausted),
        CounterState::FinalTry if last_try == LastTry::Refuse => Err(CardError::LastTry { what }),
        _ => Ok(()),
    }
}

fn pin_outcome(sw: StatusWord, operation: &'static str) -> Result<VerifyOutcome, CardError> {
    match sw {
        StatusWord::Success => Ok(VerifyOutcome::Verified),
        StatusWord::VerificationFailed { tries_left: 0 } | StatusWord::AuthenticationBlocked => {
            Ok(VerifyOutcome::Blocked)
        }
        StatusWord::VerificationFailed { tries_left } => Ok(VerifyOutcome::WrongPin { tries_left }),
        sw => Err(CardError::Status { operation, sw }),
    }
}

/// PKCS#1 v1.5 type-1 block of `len` bytes around `data`.
fn pkcs1_type1(data: &[u8], len: usize) -> Option<Vec<u8>> {
    let pad = len.checked_sub(data.len() + 3).filter(|&p| p >= 8)?;
    let mut block = Vec::with_capacity(len);
    block.extend_from_slice(&[0x00, 0x01]);
    block.extend(std::iter::repeat_n(0xFF, pad));
    block.push(0x00);
    block.extend_from_slice(data);
    Some(block)
}

/// The PSO HASH data field: `90 <SHA-256 state ‖ bit count>` (empty when no full
/// block precedes the tail) then `80 <last 1..64 bytes>`.
fn pso_hash_data(message: &[u8]) -> Vec<u8> {
    let full = message.len().saturating_sub(1) / 64 * 64;
    let (head, tail) = message.split_at(full);
    let mut data = Vec::with_capacity(4 + 40 + tail.len());
    if head.is_empty() {
        data.extend_from_slice(&[0x90, 0x00]);
    } else {
        let mut state = SHA256_IV;
        let blocks: Vec<_> = head
            .chunks_exact(64)
            .map(|b| *sha2::digest::generic_array::GenericArray::from_slice(b))
            .collect();
        sha2::compress256(&mut state, &blocks);
        data.extend_from_slice(&[0x90, 40]);
        for word in state {
            data.extend_from_slice(&word.to_be_bytes());
        }
        data.extend_from_slice(&((head.len() as u64) * 8).to_be_bytes());
    }
    data.push(0x80);
    // The tail is 1 to 64 bytes long (0 only for an empty message).
    data.push(tail.len() as u8);
    data.extend_from_slice(tail);
    data
}

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
