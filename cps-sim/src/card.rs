//! The virtual card: a CPS3 (contact or contactless) or CPS4 card, a Carte Vitale or an
//! unknown card, answering like the real one down to the status words.
//!
//! How a command travels: [`CardSide::process`] checks the class (CPS2ter `A0`, logical
//! channel, secure messaging, chaining), runs the instruction, then delivers the answer
//! the way the card's protocol does it: over T=0 (CPS3 contact, CPS4 `3B DC`) a command
//! with a data field that produces data answers `61 xx` and the data waits for GET
//! RESPONSE; over T=1 and contactless the data comes back at once.

mod cps2ter;
mod crypto;
mod fs;
mod pins;
mod pkcs15;

use std::fmt;
use std::time::SystemTime;

use cps_apdu::atr::Protocol;
use cps_apdu::{Atr, Cla, Command};
use rsa::{RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use crate::pki::{self, CardIdentity, CertUsage, PkiError, TestPki};
use crate::profile::{CardKind, Category, Generation, Interface, Profile, ProfileError};
use crate::{CardSide, Reply};
use fs::{FileSystem, MF, NodeId};

/// Status words, as `u16`.
pub(crate) mod sw {
    pub(crate) const OK: u16 = 0x9000;
    pub(crate) const END_OF_FILE: u16 = 0x6282;
    pub(crate) const MEMORY_FAILURE: u16 = 0x6581;
    pub(crate) const WRONG_LENGTH: u16 = 0x6700;
    pub(crate) const CHANNEL_NOT_SUPPORTED: u16 = 0x6881;
    pub(crate) const SM_NOT_SUPPORTED: u16 = 0x6882;
    pub(crate) const CHAINING_NOT_SUPPORTED: u16 = 0x6884;
    pub(crate) const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    pub(crate) const BLOCKED: u16 = 0x6983;
    pub(crate) const REFERENCE_DATA_UNUSABLE: u16 = 0x6984;
    pub(crate) const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    pub(crate) const NO_CURRENT_EF: u16 = 0x6986;
    pub(crate) const INCORRECT_DATA: u16 = 0x6A80;
    pub(crate) const FILE_NOT_FOUND: u16 = 0x6A82;
    pub(crate) const WRONG_P1P2: u16 = 0x6A86;
    pub(crate) const LC_INCONSISTENT: u16 = 0x6A87;
    pub(crate) const DATA_NOT_FOUND: u16 = 0x6A88;
    pub(crate) const WRONG_OFFSET: u16 = 0x6B00;
    pub(crate) const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub(crate) const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    pub(crate) const NO_DIAGNOSIS: u16 = 0x6F00;

    /// `6C xx`: resend with Le = `n` (256 is `00`).
    pub(crate) fn wrong_le(n: usize) -> u16 {
        0x6C00 | (n & 0xFF) as u16
    }

    /// `61 xx`: `n` bytes wait for GET RESPONSE (`00` for 256 or more).
    pub(crate) fn bytes_available(n: usize) -> u16 {
        0x6100 | if n >= 256 { 0 } else { n as u16 }
    }

    /// `63 Cx`.
    pub(crate) fn tries_left(n: u8) -> u16 {
        0x63C0 | u16::from(n & 0x0F)
    }
}

/// The counters a real card keeps in EEPROM: what a state file persists.
pub use crate::state::{CodeDigests, Counters};

/// Why a virtual card could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The profile breaks a rule (checked again here: its fields are public).
    #[error("invalid card profile")]
    Profile(#[from] ProfileError),
    /// A key or certificate could not be obtained from the test PKI.
    #[error("the test PKI failed for the card's {what}")]
    Pki {
        /// Which key or certificate.
        what: &'static str,
        /// The PKI's error.
        #[source]
        source: PkiError,
    },
}

/// The persistence hook: called with the new counters before the card answers.
pub type CountersHook = Box<dyn FnMut(&Counters) -> std::io::Result<()> + Send>;

/// The codes' persistence hook: called when the PIN or PUK changes, before the card
/// answers, with the new digests and the counters that go with them (an unblock that
/// sets a new PIN also re-arms the PIN and spends a PUK use), so that one write keeps
/// both.
pub type CodesHook = Box<dyn FnMut(&Counters, &CodeDigests) -> std::io::Result<()> + Send>;

/// A command's outcome before delivery.
#[derive(Debug)]
pub(crate) struct Answer {
    data: Vec<u8>,
    sw: u16,
    /// Already shaped for the wire (READ BINARY, GET RESPONSE): no `61 xx`, no `6C xx`.
    exact: bool,
}

impl Answer {
    pub(crate) fn ok(data: Vec<u8>) -> Self {
        Answer {
            data,
            sw: sw::OK,
            exact: false,
        }
    }

    pub(crate) fn sw(sw: u16) -> Self {
        Answer {
            data: Vec::new(),
            sw,
            exact: false,
        }
    }

    pub(crate) fn exact(data: Vec<u8>, sw: u16) -> Self {
        Answer {
            data,
            sw,
            exact: true,
        }
    }
}

/// Whether a command reaches the application.
enum Route {
    Execute,
    /// Answered by the channel logic with this status word.
    Answer(u16),
}

/// Data waiting for GET RESPONSE, and the status word that ends it.
#[derive(Debug)]
struct Pending {
    data: Zeroizing<Vec<u8>>,
    sw: u16,
}

/// What is selected on CPS4's logical channel 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel1 {
    Closed,
    /// Open, with no application or another one than ChipDoc (ISD, CPS2ter).
    Other,
    /// The ChipDoc PKI application.
    ChipDoc,
}

/// Everything a reset or a power cycle forgets.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) current_df: NodeId,
    pub(crate) current_ef: Option<NodeId>,
    pub(crate) pin_verified: bool,
    pub(crate) puk_verified: bool,
    pending: Option<Pending>,
    channel1: Channel1,
    pub(crate) se: crypto::SecurityEnv,
    pub(crate) cps2ter: cps2ter::Cps2terSession,
}

impl Session {
    fn new() -> Self {
        Session {
            current_df: MF,
            current_ef: None,
            pin_verified: false,
            puk_verified: false,
            pending: None,
            channel1: Channel1::Closed,
            se: crypto::SecurityEnv::default(),
            cps2ter: cps2ter::Cps2terSession::default(),
        }
    }
}

/// What a key and its certificate are for (the PKI's `CertUsage`, which needs no
/// derives this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    Authentication,
    Signature,
    Technical,
}

impl Usage {
    fn cert_usage(self) -> CertUsage {
        match self {
            Usage::Authentication => CertUsage::Authentication,
            Usage::Signature => CertUsage::Signature,
            Usage::Technical => CertUsage::Technical,
        }
    }

    fn key_reference(self) -> u8 {
        match self {
            Usage::Authentication => pkcs15::KEY_AUTH,
            Usage::Signature => pkcs15::KEY_SIGN,
            Usage::Technical => pkcs15::KEY_TECH,
        }
    }
}

/// One of the card's RSA-2048 private keys.
struct KeySlot {
    reference: u8,
    key: RsaPrivateKey,
}

/// A virtual CPx card (or a Vitale / unknown card), built from a [`Profile`].
///
/// Keys come from the test PKI's pool, certificates are issued at construction;
/// nothing is cached between cards.
pub struct VirtualCard {
    profile: Profile,
    atr: Vec<u8>,
    /// T=0 delivery (`61 xx` + GET RESPONSE); otherwise data comes back at once.
    t0: bool,
    powered: bool,
    fs: FileSystem,
    cps2ter: cps2ter::Cps2ter,
    keys: Vec<KeySlot>,
    certificates: Vec<(Usage, Vec<u8>)>,
    counters: Counters,
    on_counters_changed: Option<CountersHook>,
    /// The PIN and PUK, as salted digests only.
    codes: CodeDigests,
    on_codes_changed: Option<CodesHook>,
    session: Session,
}

impl fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualCard")
            .field("profile", &self.profile.name)
            .field("atr", &hex::encode_upper(&self.atr))
            .field("t0", &self.t0)
            .field("powered", &self.powered)
            .field("counters", &self.counters)
            .field("persistence", &self.on_counters_changed.is_some())
            .field("codes_persistence", &self.on_codes_changed.is_some())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    /// Builds the card: checks the profile, takes its keys from the pool and issues its
    /// certificates through the test PKI.
    pub fn new(profile: &Profile) -> Result<VirtualCard, SimError> {
        profile.check()?;
        let atr = profile.atr_bytes();
        let contactless = profile.interface == Interface::Contactless;
        let t0 = !contactless
            && Atr::parse(&atr)
                .map(|a| !a.transmission_protocols().contains(&Protocol::T1))
                .unwrap_or(true);
        let counters = Counters {
            pin_tries_left: profile.pin.tries_left,
            puk_tries_left: profile.puk.tries_left,
            puk_usage_left: profile.puk.usage_left,
        };
        let mut card = VirtualCard {
            profile: profile.clone(),
            atr,
            t0,
            powered: false,
            fs: FileSystem::build_empty(),
            cps2ter: cps2ter::Cps2ter::build(profile),
            keys: Vec::new(),
            certificates: Vec::new(),
            counters,
            on_counters_changed: None,
            codes: pins::digests(&profile.pin.value, &profile.puk.value),
            on_codes_changed: None,
            session: Session::new(),
        };
        if profile.kind != CardKind::Cps {
            return Ok(card);
        }

        let pki_error = |what| move |source| SimError::Pki { what, source };
        let mut usages = vec![Usage::Authentication, Usage::Signature];
        if contactless {
            usages.push(Usage::Technical);
        }
        let pki = TestPki::load().map_err(pki_error("certificates"))?;
        let identity = identity(profile);
        let (not_before, not_after) =
            profile
                .validity
                .window(SystemTime::now())
                .map_err(|reason| ProfileError::Invalid {
                    origin: format!("profile `{}`", profile.name),
                    field: "validity".into(),
                    reason,
                })?;
        for (offset, usage) in usages.into_iter().enumerate() {
            let key = pki::card_key(profile.key_index.saturating_add(offset))
                .map_err(pki_error("keys"))?;
            // Unique per card and usage: the card number then the usage digit.
            let serial = profile
                .card_number
                .parse::<u64>()
                .unwrap_or_default()
                .saturating_mul(10)
                .saturating_add(offset as u64 + 1);
            let der = pki
                .issue(
                    &identity,
                    usage.cert_usage(),
                    &RsaPublicKey::from(&key),
                    not_before,
                    not_after,
                    serial,
                )
                .map_err(pki_error("certificates"))?;
            card.certificates.push((usage, der));
            card.keys.push(KeySlot {
                reference: usage.key_reference(),
                key,
            });
        }
        let certificate = |usage| {
            card.certificates
                .iter()
                .find(|(u, _)| *u == usage)
                .map(|(_, der)| der.as_slice())
        };
        let certs = fs::Certificates {
            authentication: certificate(Usage::Authentication).unwrap_or_default(),
            signature: certificate(Usage::Signature).unwrap_or_default(),
            technical: certificate(Usage::Technical),
        };
        card.fs = FileSystem::build(profile, &certs).map_err(|reason| ProfileError::Invalid {
            origin: format!("profile `{}`", profile.name),
            field: "serial".into(),
            reason,
        })?;
        Ok(card)
    }

    /// The profile the card was built from.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The card's certificates (DER): authentication, signature, and the technical one on
    /// a contactless card.
    pub fn certificates(&self) -> Vec<(CertUsage, Vec<u8>)> {
        self.certificates
            .iter()
            .map(|(usage, der)| (usage.cert_usage(), der.clone()))
            .collect()
    }

    /// The PIN and PUK counters now.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Restores counters (from a state file). Values above the profile's maxima are
    /// clamped to them; the persistence hook is not called.
    pub fn set_counters(&mut self, counters: Counters) {
        self.counters = Counters {
            pin_tries_left: counters.pin_tries_left.min(self.profile.pin.tries_max),
            puk_tries_left: counters.puk_tries_left.min(self.profile.puk.tries_max),
            puk_usage_left: counters.puk_usage_left.min(self.profile.puk.usage_max),
        };
    }

    /// Installs the persistence hook, called with the new values every time a counter
    /// changes and before the card answers, except when a code changes with them (an
    /// unblock that sets a new PIN): with a codes hook installed
    /// ([`on_codes_changed`](Self::on_codes_changed)), that change goes to it alone, so
    /// the codes hook must keep the counters it is given too. When the hook fails the
    /// card answers `65 81` (memory failure) and keeps the old values.
    pub fn on_counters_changed(&mut self, hook: CountersHook) {
        self.on_counters_changed = Some(hook);
    }

    /// The PIN and PUK as the card keeps them: salted digests (for a state file).
    pub fn codes(&self) -> &CodeDigests {
        &self.codes
    }

    /// Restores the codes (from a state file) in place of the profile's; the
    /// persistence hook is not called.
    pub fn set_codes(&mut self, codes: CodeDigests) {
        self.codes = codes;
    }

    /// Installs the codes' persistence hook, called with the new digests every time the
    /// PIN or the PUK changes (CHANGE REFERENCE DATA, an unblock with a new PIN) and
    /// before the card answers, with the counters as they are after the command. Such a
    /// change goes to this hook alone, never also to the counters hook, so that an
    /// unblock with a new PIN is one write: all of it or none. When it fails the card
    /// answers `65 81` and keeps the old code and counters.
    pub fn on_codes_changed(&mut self, hook: CodesHook) {
        self.on_codes_changed = Some(hook);
    }

    /// Replaces the content of the file at `path` (absolute: `3F 00`, then file
    /// identifiers), for hostile-card tests ([`crate::hostile`]); the FCP follows the new
    /// size. `false` when there is no such file.
    pub fn replace_file(&mut self, path: &[u8], content: Vec<u8>) -> bool {
        self.fs.replace_ef(path, content)
    }

    /// The content of the file at `path` (absolute), as built from the profile.
    pub fn file(&mut self, path: &[u8]) -> Option<Vec<u8>> {
        self.fs.ef_content(path)
    }

    /// Whether responses follow T=0 (`61 xx` and GET RESPONSE).
    pub fn is_t0(&self) -> bool {
        self.t0
    }

    /// Forgets the application's security state: selecting the IAS root / ChipDoc
    /// application again starts a new application session (ISO 7816-4 §5.3.1): verified
    /// codes are lost. Selecting DF `0001` (by path, FID or PKCS#15 AID) does not do this:
    /// both middlewares reselect it between VERIFY and the signature.
    fn reselect_application(&mut self) {
        self.session.pin_verified = false;
        self.session.puk_verified = false;
        self.session.current_df = MF;
        self.session.current_ef = None;
        self.session.se = crypto::SecurityEnv::default();
    }

    /// One command, answered as the wire carries it.
    fn respond(&mut self, raw: &[u8]) -> Vec<u8> {
        let Some((&cla, rest)) = raw.split_first() else {
            return sw_bytes(sw::WRONG_LENGTH);
        };
        let ins = rest.first().copied().unwrap_or_default();
        // T=0 keeps response data only until the next command.
        let pending = self.session.pending.take();
        match self.profile.kind {
            CardKind::Cps => {}
            CardKind::Vitale | CardKind::Unknown => return sw_bytes(self.foreign(cla, ins, raw)),
        }
        if raw.len() < 4 {
            return sw_bytes(sw::WRONG_LENGTH);
        }
        if cla == 0xA0 {
            // The CPS2ter side exists on the contact interface only.
            return match self.profile.interface {
                Interface::Contact => self.cps2ter(raw),
                Interface::Contactless => sw_bytes(sw::CLA_NOT_SUPPORTED),
            };
        }
        self.session.cps2ter.response = None;
        let class = Cla(cla);
        let Some(channel) = class.channel() else {
            return sw_bytes(sw::CLA_NOT_SUPPORTED);
        };
        let secure_messaging = if cla & 0x40 == 0 {
            cla & 0x0C != 0
        } else {
            cla & 0x20 != 0
        };
        if secure_messaging {
            return sw_bytes(sw::SM_NOT_SUPPORTED);
        }
        // A CPS knows short APDUs only (reference §2): an extended length (`00` where a
        // short Lc or Le would be, followed by more bytes) is a wrong length. Honoured,
        // an extended Le of 65,536 made an answer longer than a vpcd frame can carry.
        if raw.len() > 5 && raw.get(4) == Some(&0) {
            return sw_bytes(sw::WRONG_LENGTH);
        }
        let command = match Command::decode(raw) {
            Ok(command) => command,
            Err(_) => return sw_bytes(sw::WRONG_LENGTH),
        };
        if ins != 0x2A {
            // Any other command interrupts a chain.
            self.session.se.end_chain();
        }
        let channel_exists = match self.profile.generation {
            Generation::Cps3 => channel == 0,
            Generation::Cps4 => channel <= 1,
        };
        if !channel_exists {
            return sw_bytes(sw::CHANNEL_NOT_SUPPORTED);
        }
        if ins == 0xC0 {
            // Whatever channel asks: the data wait on the interface.
            return self.get_response(&command, pending);
        }
        let chaining = class.is_chaining();
        if chaining && ins != 0x2A {
            return sw_bytes(sw::CHAINING_NOT_SUPPORTED);
        }
        if let Route::Answer(word) = self.route(channel, &command) {
            return sw_bytes(word);
        }
        let answer = self.execute(&command, chaining);
        self.deliver(&command, answer)
    }

    /// Logical channel rules. CPS3: the basic channel only. CPS4: channel 0 carries the
    /// CPS2ter side (and the recovery SELECTs); the PKI lives on channel 1, opened by
    /// SELECTing an application there; channels 2 and up do not exist.
    fn route(&mut self, channel: u8, command: &Command) -> Route {
        match (self.profile.generation, channel) {
            (Generation::Cps3, 0) => Route::Execute,
            (Generation::Cps4, 0) => self.cps4_basic_channel(command),
            (Generation::Cps4, 1) => self.cps4_channel1(command),
            _ => Route::Answer(sw::CHANNEL_NOT_SUPPORTED),
        }
    }

    /// CPS4 channel 0: the CPS2ter side and the issuer security domain can be selected
    /// (the vendor library's recovery sequence); there is no PKI here.
    fn cps4_basic_channel(&mut self, command: &Command) -> Route {
        let aid = command.data();
        match (command.ins, command.p1) {
            (0xA4, 0x04) if aid == pkcs15::AID_CPS2TER || aid == pkcs15::AID_ISD => {
                Route::Answer(sw::OK)
            }
            (0xA4, _) => Route::Answer(sw::FILE_NOT_FOUND),
            (0x70, _) => Route::Execute,
            _ => Route::Answer(sw::CONDITIONS_NOT_SATISFIED),
        }
    }

    /// CPS4 channel 1: a SELECT by AID opens it and chooses what it runs; every other
    /// command needs ChipDoc there, `68 81` otherwise (what makes the vendor library run
    /// its recovery sequence).
    fn cps4_channel1(&mut self, command: &Command) -> Route {
        if command.ins == 0xA4 && command.p1 == 0x04 {
            let aid = command.data();
            if aid == pkcs15::AID_IAS {
                self.session.channel1 = Channel1::ChipDoc;
                return Route::Execute;
            }
            if aid == pkcs15::AID_ISD || aid == pkcs15::AID_CPS2TER {
                self.session.channel1 = Channel1::Other;
                self.reselect_application();
                return Route::Answer(sw::OK);
            }
        }
        match self.session.channel1 {
            Channel1::ChipDoc => Route::Execute,
            Channel1::Closed | Channel1::Other => Route::Answer(sw::CHANNEL_NOT_SUPPORTED),
        }
    }

    /// Runs one ISO command.
    fn execute(&mut self, command: &Command, chaining: bool) -> Answer {
        let (p1, p2, data) = (command.p1, command.p2, command.data());
        let cps3 = self.profile.generation == Generation::Cps3;
        match command.ins {
            0xA4 => self.select(p1, p2, command.data()),
            0xB0 => self.read_binary(p1, p2, command.data(), command.le()),
            0x70 => self.manage_channel(command),
            0x20 => self.verify(p1, p2, command.data()),
            0x24 => self.change_reference_data(p1, p2, command.data()),
            0x2C => self.reset_retry_counter(p1, p2, command.data()),
            0xCB => self.get_data(p1, p2, command.data()),
            0x22 => self.manage_security_environment(p1, p2, data),
            0x2A => self.perform_security_operation(p1, p2, data, chaining),
            // The CPS4 has no INTERNAL AUTHENTICATE (it authenticates by DECIPHER).
            0x88 if cps3 => self.internal_authenticate(p1, p2, data),
            0x84 => self.get_challenge(p1, p2, data, command.le()),
            _ => Answer::sw(sw::INS_NOT_SUPPORTED),
        }
    }

    /// MANAGE CHANNEL (`70`), CPS4 only: open or close channel 1.
    fn manage_channel(&mut self, command: &Command) -> Answer {
        if self.profile.generation != Generation::Cps4 {
            return Answer::sw(sw::CHANNEL_NOT_SUPPORTED);
        }
        match (command.p1, command.p2) {
            // Open: channel 1 asked explicitly, or chosen by the card (answered).
            (0x00, 0x01) => {
                if self.session.channel1 == Channel1::Closed {
                    self.session.channel1 = Channel1::Other;
                }
                Answer::ok(Vec::new())
            }
            (0x00, 0x00) => {
                if self.session.channel1 != Channel1::Closed {
                    // The only extra channel is taken.
                    return Answer::sw(sw::CHANNEL_NOT_SUPPORTED);
                }
                self.session.channel1 = Channel1::Other;
                Answer::exact(vec![0x01], sw::OK)
            }
            (0x80, 0x01) => {
                self.session.channel1 = Channel1::Closed;
                self.reselect_application();
                Answer::ok(Vec::new())
            }
            (0x00 | 0x80, _) => Answer::sw(sw::CHANNEL_NOT_SUPPORTED),
            _ => Answer::sw(sw::WRONG_P1P2),
        }
    }

    /// Shapes an answer for the wire: T=0 `61 xx` for commands that carried data, `6C xx`
    /// for a case-2 Le that does not match; over T=1, a short Le leaves the rest for GET
    /// RESPONSE.
    fn deliver(&mut self, command: &Command, answer: Answer) -> Vec<u8> {
        let Answer { data, sw, exact } = answer;
        if exact || data.is_empty() {
            return [data, sw_bytes(sw)].concat();
        }
        let le = command.le();
        if self.t0 {
            if !command.data().is_empty() || le.is_none() {
                let available = data.len();
                self.session.pending = Some(Pending {
                    data: Zeroizing::new(data),
                    sw,
                });
                return sw_bytes(sw::bytes_available(available));
            }
            // Case 2: Le must be the exact length.
            let le = le.unwrap_or(256);
            if le != data.len() {
                return sw_bytes(sw::wrong_le(data.len()));
            }
            return [data, sw_bytes(sw)].concat();
        }
        match le {
            Some(le) if le < data.len() => {
                let rest = data.get(le..).unwrap_or_default().to_vec();
                let first = data.get(..le).unwrap_or_default().to_vec();
                let available = rest.len();
                self.session.pending = Some(Pending {
                    data: Zeroizing::new(rest),
                    sw,
                });
                [first, sw_bytes(sw::bytes_available(available))].concat()
            }
            _ => [data, sw_bytes(sw)].concat(),
        }
    }

    /// GET RESPONSE (`C0`): serves what a `61 xx` announced, possibly in smaller pieces
    /// (the Cryptolib asks `E7` of a `61 00`).
    fn get_response(&mut self, command: &Command, pending: Option<Pending>) -> Vec<u8> {
        if (command.p1, command.p2) != (0x00, 0x00) {
            self.session.pending = pending;
            return sw_bytes(sw::WRONG_P1P2);
        }
        let Some(pending) = pending else {
            return sw_bytes(sw::CONDITIONS_NOT_SATISFIED);
        };
        let le = command.le().unwrap_or(256);
        let available = pending.data.len();
        if le > available {
            let answer = sw_bytes(sw::wrong_le(available));
            self.session.pending = Some(pending);
            return answer;
        }
        let (first, rest) = pending.data.split_at(le);
        let mut out = first.to_vec();
        if rest.is_empty() {
            out.extend(sw_bytes(pending.sw));
        } else {
            out.extend(sw_bytes(sw::bytes_available(rest.len())));
            self.session.pending = Some(Pending {
                data: Zeroizing::new(rest.to_vec()),
                sw: pending.sw,
            });
        }
        out
    }

    /// A Carte Vitale or an unknown card: CPS SELECTs fail, the rest is not understood.
    fn foreign(&self, cla: u8, ins: u8, raw: &[u8]) -> u16 {
        if raw.len() < 4 {
            return sw::WRONG_LENGTH;
        }
        if cla & 0x80 != 0 || Cla(cla).channel().is_none() {
            return sw::CLA_NOT_SUPPORTED;
        }
        if Cla(cla).channel() != Some(0) {
            return sw::CHANNEL_NOT_SUPPORTED;
        }
        match ins {
            0xA4 => sw::FILE_NOT_FOUND,
            0xB0 if self.profile.kind == CardKind::Vitale => {
                if raw.get(2).is_some_and(|p1| p1 & 0x80 != 0) {
                    sw::FILE_NOT_FOUND
                } else {
                    sw::NO_CURRENT_EF
                }
            }
            _ => sw::INS_NOT_SUPPORTED,
        }
    }
}

impl CardSide for VirtualCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn power_on(&mut self) {
        self.powered = true;
        self.session = Session::new();
    }

    fn power_off(&mut self) {
        self.powered = false;
        self.session = Session::new();
    }

    fn reset(&mut self) {
        self.powered = true;
        self.session = Session::new();
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        if !self.powered {
            // An unpowered card says nothing.
            return Reply::Mute;
        }
        Reply::Data(self.respond(command))
    }
}

fn sw_bytes(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

/// The certificate identity of a profile.
fn identity(profile: &Profile) -> CardIdentity {
    let holder = &profile.holder;
    CardIdentity {
        national_id: holder.national_id.clone(),
        given_name: holder.given_name.clone(),
        surname: holder.surname.clone(),
        profession_code: holder.profession_code,
        profession_label: holder.profession_label.clone(),
        card_type: holder.card_type.code(),
        test_card: profile.category == Category::Test,
        card_number: profile.card_number.clone(),
        structure: holder.structure.as_ref().map(|s| pki::Structure {
            id: s.id.clone(),
            name: s.name.clone(),
        }),
    }
}
