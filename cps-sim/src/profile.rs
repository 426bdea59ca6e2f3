//! Card profiles: who the virtual card belongs to, which generation and interface it
//! models, its counters and its validity — read from TOML or JSON, or built in.
//!
//! Every field but `name` has a default (the `cps3` test doctor), so a profile file only
//! states what differs:
//!
//! ```toml
//! name = "my-pharmacist"
//! generation = "cps4"
//! card_number = "8042410123"
//! serial = "42410123"
//! holder = { national_id = "899900099999", given_name = "ANNE", surname = "PHARMA TEST", profession_code = 21, profession_label = "Pharmacien" }
//! pin = { tries_left = 1 }
//! validity = { starts_days_ago = 100, ends_in_days = 5 }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cps_apdu::Atr;
use serde::{Deserialize, Serialize};

use crate::pki::CARD_KEY_COUNT;

/// Which card generation the profile models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// IAS-ECC card, basic channel, T=0 on contact (since 2011).
    #[default]
    Cps3,
    /// NXP "ChipDoc" card, PKI application on logical channel 1 (since 2024).
    Cps4,
}

/// How the card is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// ISO 7816-3 contacts.
    #[default]
    Contact,
    /// ISO 14443 (PC/SC pseudo-ATR, no T=0 procedure bytes).
    Contactless,
}

/// What sort of card sits in the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    /// A CPx card.
    #[default]
    Cps,
    /// A patient's Carte Vitale put in the CPS slot by mistake: an ATR, nothing else.
    Vitale,
    /// Some other card: an ATR and refusals.
    Unknown,
}

/// Real or test card (certificate product category, TRE_G01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A production card (category `00`).
    Real,
    /// A test card (category `80`), chaining to the test hierarchy.
    #[default]
    Test,
}

/// Card type (TRE_G02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CardType {
    /// Regulated health professional.
    #[default]
    #[serde(rename = "CPS")]
    Cps,
    /// Professional in training.
    #[serde(rename = "CPF")]
    Cpf,
    /// Establishment staff (also called CDE).
    #[serde(rename = "CPE", alias = "CDE")]
    Cpe,
    /// Authorised staff (also called CDA).
    #[serde(rename = "CPA", alias = "CDA")]
    Cpa,
}

impl CardType {
    /// The TRE_G02 code: 0 CPS, 1 CPF, 2 CPE, 3 CPA.
    pub const fn code(self) -> u8 {
        match self {
            CardType::Cps => 0,
            CardType::Cpf => 1,
            CardType::Cpe => 2,
            CardType::Cpa => 3,
        }
    }
}

/// A staff card's structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Structure {
    /// Structure identifier (certificate `OU`).
    pub id: String,
    /// Structure name (certificate `O`).
    pub name: String,
}

/// The card holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Holder {
    /// National identifier (idNat): type digit + base id, `8` + RPPS for a doctor.
    pub national_id: String,
    /// Given name.
    pub given_name: String,
    /// Surname.
    pub surname: String,
    /// Profession code (TRE_G15), absent for staff.
    pub profession_code: Option<u16>,
    /// Profession label (certificate `title`).
    pub profession_label: String,
    /// Card type.
    pub card_type: CardType,
    /// The structure, for staff cards.
    pub structure: Option<Structure>,
}

impl Default for Holder {
    fn default() -> Self {
        Holder {
            national_id: "899900418736".into(),
            given_name: "ALAIN".into(),
            surname: "MEDECIN TEST".into(),
            profession_code: Some(10),
            profession_label: "Médecin".into(),
            card_type: CardType::Cps,
            structure: None,
        }
    }
}

/// The code porteur (PIN, reference 1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PinSpec {
    /// The code: 4 to 8 digits.
    pub value: String,
    /// Tries left (0 = blocked).
    pub tries_left: u8,
    /// Tries after a successful presentation.
    pub tries_max: u8,
}

impl Default for PinSpec {
    fn default() -> Self {
        PinSpec {
            value: "1234".into(),
            tries_left: 3,
            tries_max: 3,
        }
    }
}

/// Only the length of a code is shown.
impl fmt::Debug for PinSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinSpec")
            .field("value", &format_args!("[{} digits]", self.value.len()))
            .field("tries_left", &self.tries_left)
            .field("tries_max", &self.tries_max)
            .finish()
    }
}

/// The code de déblocage (PUK, reference 2).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PukSpec {
    /// The code: 8 digits.
    pub value: String,
    /// Tries left (0 = blocked).
    pub tries_left: u8,
    /// Tries after a successful presentation.
    pub tries_max: u8,
    /// Unblocks left (0 = blocked for good: `69 84`).
    pub usage_left: u16,
    /// Unblocks a new card allows.
    pub usage_max: u16,
}

impl Default for PukSpec {
    fn default() -> Self {
        PukSpec {
            value: "12345678".into(),
            tries_left: 10,
            tries_max: 10,
            usage_left: 100,
            usage_max: 100,
        }
    }
}

/// Only the length of a code is shown.
impl fmt::Debug for PukSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PukSpec")
            .field("value", &format_args!("[{} digits]", self.value.len()))
            .field("tries_left", &self.tries_left)
            .field("tries_max", &self.tries_max)
            .field("usage_left", &self.usage_left)
            .field("usage_max", &self.usage_max)
            .finish()
    }
}

/// A date-time as written in a profile: RFC 3339 text (`2026-01-31T12:00:00Z`,
/// `2026-01-31T13:00:00+01:00`, or a bare date meaning midnight UTC); in TOML also an
/// unquoted date-time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "DateInput", into = "String")]
pub struct DateText(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum DateInput {
    Text(String),
    Toml(toml::value::Datetime),
}

impl From<DateInput> for DateText {
    fn from(input: DateInput) -> Self {
        match input {
            DateInput::Text(text) => DateText(text),
            DateInput::Toml(datetime) => DateText(datetime.to_string()),
        }
    }
}

impl From<DateText> for String {
    fn from(date: DateText) -> String {
        date.0
    }
}

impl DateText {
    /// The instant, or why the text is not an RFC 3339 date(-time).
    pub fn to_system_time(&self) -> Result<SystemTime, String> {
        parse_rfc3339(&self.0)
    }
}

/// Certificate validity: absolute dates, or days around the moment the card is built
/// (so `expiring` always has 10 days left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Validity {
    /// Relative to the card's construction.
    Relative {
        /// Start, in days before now (negative: not yet valid).
        starts_days_ago: i64,
        /// End, in days after now (negative: expired).
        ends_in_days: i64,
    },
    /// Fixed dates.
    Absolute {
        /// notBefore.
        not_before: DateText,
        /// notAfter.
        not_after: DateText,
    },
}

impl Default for Validity {
    fn default() -> Self {
        // Three years, like the real certificates, one month in.
        Validity::Relative {
            starts_days_ago: 30,
            ends_in_days: 3 * 365 - 30,
        }
    }
}

impl Validity {
    /// (notBefore, notAfter) as seen from `now`.
    pub fn window(&self, now: SystemTime) -> Result<(SystemTime, SystemTime), String> {
        match self {
            Validity::Relative {
                starts_days_ago,
                ends_in_days,
            } => Ok((
                shift_days(now, starts_days_ago.saturating_neg())?,
                shift_days(now, *ends_in_days)?,
            )),
            Validity::Absolute {
                not_before,
                not_after,
            } => Ok((not_before.to_system_time()?, not_after.to_system_time()?)),
        }
    }
}

fn shift_days(now: SystemTime, days: i64) -> Result<SystemTime, String> {
    let secs = days.unsigned_abs().saturating_mul(86_400);
    let delta = Duration::from_secs(secs);
    let shifted = if days >= 0 {
        now.checked_add(delta)
    } else {
        now.checked_sub(delta)
    };
    shifted.ok_or_else(|| format!("{days} days from now is out of range"))
}

/// EF_ACTUA (`3F00/D010`), the card-update stamp; absent on a card never updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfActua {
    /// Start of the update campaign (tag `81`).
    pub start: DateText,
    /// End of the update campaign (tag `82`).
    pub end: DateText,
}

impl EfActua {
    /// The file's content: template `EC` holding `81` (start) and `82` (end), each 7
    /// bytes of packed BCD `YYYYMMDDhhmmss` in UTC.
    pub fn file_content(&self) -> Result<Vec<u8>, String> {
        let mut inner = Vec::new();
        let start = bcd_timestamp(self.start.to_system_time()?)?;
        let end = bcd_timestamp(self.end.to_system_time()?)?;
        cps_apdu::tlv::push_ber(&mut inner, &[0x81], &start);
        cps_apdu::tlv::push_ber(&mut inner, &[0x82], &end);
        let mut out = Vec::new();
        cps_apdu::tlv::push_ber(&mut out, &[0xEC], &inner);
        Ok(out)
    }
}

/// A virtual card's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Short name (`cps3`, `blocked-pin`…).
    pub name: String,
    /// One line saying what the profile is for.
    pub description: String,
    /// CPS3 or CPS4.
    pub generation: Generation,
    /// Contact or contactless.
    pub interface: Interface,
    /// ATR override, hex (spaces and colons allowed); the generation's default otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atr: Option<String>,
    /// CPx, Vitale, or another card.
    pub kind: CardKind,
    /// The holder.
    pub holder: Holder,
    /// Real or test card.
    pub category: Category,
    /// The 10-digit card number (TokenInfo label, certificates).
    pub card_number: String,
    /// The 8 card digits of the PAN in EF.SN.ICC.
    pub serial: String,
    /// Certificate validity.
    pub validity: Validity,
    /// First of the three pool keys used: authentication, then signature, then technical.
    pub key_index: usize,
    /// The code porteur.
    pub pin: PinSpec,
    /// The code de déblocage.
    pub puk: PukSpec,
    /// EF_ACTUA content; `None`: the file does not exist (`6A 82`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef_actua: Option<EfActua>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: String::new(),
            description: String::new(),
            generation: Generation::Cps3,
            interface: Interface::Contact,
            atr: None,
            kind: CardKind::Cps,
            holder: Holder::default(),
            category: Category::Test,
            card_number: "2900412345".into(),
            serial: "99213845".into(),
            validity: Validity::default(),
            key_index: 0,
            pin: PinSpec::default(),
            puk: PukSpec::default(),
            ef_actua: None,
        }
    }
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profile {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file's extension is neither `.toml` nor `.json`.
    #[error("profile {}: unknown format, the file name must end in .toml or .json", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// TOML syntax, an unknown field, or a value of the wrong type (the source says
    /// which line and field).
    #[error("profile {origin}: invalid TOML")]
    Toml {
        /// The file (or "inline TOML").
        origin: String,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// JSON syntax, an unknown field, or a value of the wrong type (the source says
    /// where).
    #[error("profile {origin}: invalid JSON")]
    Json {
        /// The file (or "inline JSON").
        origin: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A field has a value the card cannot have.
    #[error("profile {origin}: field `{field}`: {reason}")]
    Invalid {
        /// The file, inline text or built-in profile.
        origin: String,
        /// The field, dotted (`pin.tries_left`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// [`Profile::builtin`] does not know the name.
    #[error("no built-in profile named `{name}` (known: {known})")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
}

/// Default ATRs (reference §1).
const ATR_CPS3_CONTACT: [u8; 17] = [
    0x3B, 0xAC, 0x00, 0x40, 0x2A, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x00, 0x03, 0x10, 0x00, 0x90,
    0x00,
];
const ATR_CPS3_CONTACTLESS: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x00, 0x31, 0xB8, 0x64, 0x04, 0xB0, 0xEC, 0xC1, 0x73, 0x94, 0x01, 0x80,
    0x82, 0x90, 0x00, 0x0E,
];
const ATR_CPS4: [u8; 17] = [
    0x3B, 0x9B, 0x18, 0x80, 0x01, 0x00, 0x12, 0x25, 0x00, 0x64, 0x80, 0x04, 0x01, 0x00, 0x00, 0x90,
    0x44,
];
const ATR_VITALE: [u8; 10] = [0x3B, 0x75, 0x13, 0x00, 0x00, 0x47, 0x09, 0xEA, 0x90, 0x00];
const ATR_UNKNOWN: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];

/// The built-in profiles: name, TOML source.
const BUILTINS: [(&str, &str); 10] = [
    ("cps3", include_str!("../profiles/cps3.toml")),
    ("cps4", include_str!("../profiles/cps4.toml")),
    ("cpe", include_str!("../profiles/cpe.toml")),
    ("blocked-pin", include_str!("../profiles/blocked-pin.toml")),
    (
        "puk-exhausted",
        include_str!("../profiles/puk-exhausted.toml"),
    ),
    ("expired", include_str!("../profiles/expired.toml")),
    ("expiring", include_str!("../profiles/expiring.toml")),
    ("cps3-cl", include_str!("../profiles/cps3-cl.toml")),
    ("vitale", include_str!("../profiles/vitale.toml")),
    ("unknown", include_str!("../profiles/unknown.toml")),
];

impl Profile {
    /// Parses and validates a TOML profile.
    pub fn from_toml_str(text: &str) -> Result<Profile, ProfileError> {
        Self::parse_toml(text, "(inline TOML)")
    }

    /// Parses and validates a JSON profile.
    pub fn from_json_str(text: &str) -> Result<Profile, ProfileError> {
        Self::parse_json(text, "(inline JSON)")
    }

    /// Reads a `.toml` or `.json` profile file. A profile without a name takes the
    /// file's stem.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile, ProfileError> {
        let path = path.as_ref();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let origin = path.display().to_string();
        let read = || {
            std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let mut profile = match extension.as_deref() {
            Some("toml") => Self::parse_toml(&read()?, &origin)?,
            Some("json") => Self::parse_json(&read()?, &origin)?,
            _ => {
                return Err(ProfileError::UnknownFormat {
                    path: path.to_owned(),
                });
            }
        };
        if profile.name.is_empty()
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            profile.name = stem.to_owned();
        }
        Ok(profile)
    }

    /// A built-in profile by name (see [`Profile::builtin_names`]).
    pub fn builtin(name: &str) -> Result<Profile, ProfileError> {
        let (_, text) = BUILTINS
            .iter()
            .find(|(known, _)| *known == name)
            .ok_or_else(|| ProfileError::UnknownBuiltin {
                name: name.to_owned(),
                known: BUILTINS.map(|(n, _)| n).join(", "),
            })?;
        Self::parse_toml(text, &format!("built-in `{name}`"))
    }

    /// The built-in profiles' names, each with its one-line description.
    pub fn builtin_names() -> Vec<(&'static str, String)> {
        BUILTINS
            .iter()
            .map(|(name, _)| {
                let description = Profile::builtin(name)
                    .map(|p| p.description)
                    .unwrap_or_default();
                (*name, description)
            })
            .collect()
    }

    /// The ATR the card answers: the override, or the default of its kind, generation
    /// and interface.
    pub fn atr_bytes(&self) -> Vec<u8> {
        if let Some(bytes) = self.atr.as_deref().and_then(|a| parse_hex(a).ok()) {
            return bytes;
        }
        match (self.kind, self.generation, self.interface) {
            (CardKind::Vitale, _, _) => ATR_VITALE.to_vec(),
            (CardKind::Unknown, _, _) => ATR_UNKNOWN.to_vec(),
            (CardKind::Cps, Generation::Cps4, _) => ATR_CPS4.to_vec(),
            (CardKind::Cps, Generation::Cps3, Interface::Contactless) => {
                ATR_CPS3_CONTACTLESS.to_vec()
            }
            (CardKind::Cps, Generation::Cps3, Interface::Contact) => ATR_CPS3_CONTACT.to_vec(),
        }
    }

    /// The PKCS#15 TokenInfo label: `CPS3v3-<card number>` or `CPS4v1-<card number>`.
    pub fn token_label(&self) -> String {
        let prefix = match self.generation {
            Generation::Cps3 => "CPS3v3",
            Generation::Cps4 => "CPS4v1",
        };
        format!("{prefix}-{}", self.card_number)
    }

    fn parse_toml(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|source| ProfileError::Toml {
            origin: origin.to_owned(),
            source,
        })?;
        profile.checked(origin)
    }

    fn parse_json(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = serde_json::from_str(text).map_err(|source| ProfileError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        profile.checked(origin)
    }

    /// Checks a profile built in code (its fields are public) like a parsed one.
    pub(crate) fn check(&self) -> Result<(), ProfileError> {
        self.validate()
            .map_err(|(field, reason)| ProfileError::Invalid {
                origin: format!("profile `{}`", self.name),
                field: field.to_owned(),
                reason,
            })
    }

    fn checked(self, origin: &str) -> Result<Profile, ProfileError> {
        match self.validate() {
            Ok(()) => Ok(self),
            Err((field, reason)) => Err(ProfileError::Invalid {
                origin: origin.to_owned(),
                field: field.to_owned(),
                reason,
            }),
        }
    }

    /// Checks every rule a card imposes; `Err((field, reason))` on the first broken.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(atr) = &self.atr {
            let bytes = parse_hex(atr).map_err(|reason| ("atr", reason))?;
            Atr::parse(&bytes).map_err(|e| ("atr", format!("not a valid ATR: {e}")))?;
        }
        if self.kind != CardKind::Cps {
            // An ATR and refusals: nothing else is used.
            return Ok(());
        }
        if self.generation == Generation::Cps4 && self.interface == Interface::Contactless {
            return Err((
                "interface",
                "the contactless interface is modelled for CPS3 only".into(),
            ));
        }
        digits("card_number", &self.card_number, 10..=10)?;
        digits("serial", &self.serial, 8..=8)?;
        if self.holder.national_id.trim().is_empty() {
            return Err(("holder.national_id", "must not be empty".into()));
        }
        if self.key_index.saturating_add(2) >= CARD_KEY_COUNT {
            return Err((
                "key_index",
                format!(
                    "uses keys {0}, {0}+1 and {0}+2 of a pool of {CARD_KEY_COUNT}: at most {1}",
                    self.key_index,
                    CARD_KEY_COUNT.saturating_sub(3)
                ),
            ));
        }
        digits("pin.value", &self.pin.value, 4..=8)?;
        counter("pin", self.pin.tries_left, self.pin.tries_max)?;
        digits("puk.value", &self.puk.value, 8..=8)?;
        counter("puk", self.puk.tries_left, self.puk.tries_max)?;
        if self.puk.usage_left > self.puk.usage_max {
            return Err((
                "puk.usage_left",
                format!(
                    "{} is above usage_max {}",
                    self.puk.usage_left, self.puk.usage_max
                ),
            ));
        }
        let (not_before, not_after) = self
            .validity
            .window(SystemTime::now())
            .map_err(|reason| ("validity", reason))?;
        if not_after <= not_before {
            return Err(("validity", "the end is not after the start".into()));
        }
        if let Some(actua) = &self.ef_actua {
            actua
                .file_content()
                .map_err(|reason| ("ef_actua", reason))?;
        }
        Ok(())
    }
}

fn digits(
    field: &'static str,
    value: &str,
    lengths: std::ops::RangeInclusive<usize>,
) -> Result<(), (&'static str, String)> {
    if !value.bytes().all(|b| b.is_ascii_digit()) || !lengths.contains(&value.len()) {
        let want = if lengths.start() == lengths.end() {
            format!("{}", lengths.start())
        } else {
            format!("{} to {}", lengths.start(), lengths.end())
        };
        return Err((field, format!("must be {want} digits")));
    }
    Ok(())
}

fn counter(code: &'static str, left: u8, max: u8) -> Result<(), (&'static str, String)> {
    let (left_field, max_field) = match code {
        "pin" => ("pin.tries_left", "pin.tries_max"),
        _ => ("puk.tries_left", "puk.tries_max"),
    };
    // `63 Cx` carries the count in four bits.
    if !(1..=15).contains(&max) {
        return Err((max_field, format!("{max} is not between 1 and 15")));
    }
    if left > max {
        return Err((left_field, format!("{left} is above tries_max {max}")));
    }
    Ok(())
}

/// Hex bytes, with optional spaces or colons between them.
pub(crate) fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    hex::decode(&compact).map_err(|e| format!("not hex: {e}"))
}

/// RFC 3339 date-time (`T`, `t` or a space between date and time; `Z` or an offset;
/// fractions ignored) or a bare date (midnight UTC).
pub(crate) fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let bad = || format!("`{text}` is not an RFC 3339 date or date-time");
    let number = |s: &str| -> Result<u16, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u16>().map_err(|_| bad())
    };
    let text = text.trim();
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(i) => (text.get(..i).ok_or_else(bad)?, text.get(i + 1..)),
        None => (text, None),
    };
    let mut date_parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
    ) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (year, month, day) = (number(y)?, number(m)?, number(d)?);
    let (mut hour, mut minute, mut second, mut offset) = (0u16, 0u16, 0u16, 0i64);
    if let Some(time) = time {
        // Split off the zone: Z, or ±hh:mm.
        let (clock, zone) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
            (clock, None)
        } else if let Some(i) = time.rfind(['+', '-']) {
            (time.get(..i).ok_or_else(bad)?, time.get(i..))
        } else {
            return Err(format!("`{text}`: a date-time needs a zone (Z or ±hh:mm)"));
        };
        let clock = clock.split('.').next().unwrap_or_default();
        let mut parts = clock.split(':');
        let (Some(h), Some(mi), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        (hour, minute, second) = (number(h)?, number(mi)?, number(s)?);
        if let Some(zone) = zone {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let mut zone_parts = zone.get(1..).ok_or_else(bad)?.split(':');
            let (Some(zh), Some(zm), None) =
                (zone_parts.next(), zone_parts.next(), zone_parts.next())
            else {
                return Err(bad());
            };
            offset = sign * (i64::from(number(zh)?) * 3600 + i64::from(number(zm)?) * 60);
        }
    }
    let narrow = |v: u16| u8::try_from(v).map_err(|_| bad());
    let datetime = der::DateTime::new(
        year,
        narrow(month)?,
        narrow(day)?,
        narrow(hour)?,
        narrow(minute)?,
        narrow(second)?,
    )
    .map_err(|_| bad())?;
    let local = datetime.to_system_time();
    // A positive offset means local time is ahead of UTC.
    let shift = Duration::from_secs(offset.unsigned_abs());
    let utc = if offset >= 0 {
        local.checked_sub(shift)
    } else {
        local.checked_add(shift)
    };
    utc.ok_or_else(bad)
}

/// A UTC instant as 7 bytes of packed BCD `YYYYMMDDhhmmss` (EF_ACTUA).
pub(crate) fn bcd_timestamp(time: SystemTime) -> Result<[u8; 7], String> {
    let datetime = der::DateTime::from_system_time(time)
        .map_err(|_| "the date is outside 1970–9999".to_owned())?;
    let bcd = |v: u16| -> u8 {
        let v = v % 100;
        // Two decimal digits per byte; v < 100 so both fit in a nibble.
        ((v / 10) as u8) << 4 | (v % 10) as u8
    };
    let year = datetime.year();
    Ok([
        bcd(year / 100),
        bcd(year),
        bcd(datetime.month().into()),
        bcd(datetime.day().into()),
        bcd(datetime.hour().into()),
        bcd(datetime.minutes().into()),
        bcd(datetime.seconds().into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn chain(e: &dyn std::error::Error) -> String {
        let mut out = e.to_string();
        let mut cur = e.source();
        while let Some(s) = cur {
            out.push_str(" / ");
            out.push_str(&s.to_string());
            cur = s.source();
        }
        out
    }

    #[test]
    fn every_builtin_parses_and_has_a_description() {
        let names = Profile::builtin_names();
        assert_eq!(names.len(), 10);
        for (name, description) in names {
            let p = Profile::builtin(name).unwrap();
            assert_eq!(p.name, name);
            assert!(!description.is_empty(), "{name}");
            assert!(!description.contains('\n'), "{name}");
        }
        let e = Profile::builtin("cps9").unwrap_err();
        assert!(e.to_string().contains("cps3, cps4, cpe"), "{e}");
    }

    #[test]
    fn builtin_specifics() {
        let cps3 = Profile::builtin("cps3").unwrap();
        assert_eq!(cps3.atr_bytes(), ATR_CPS3_CONTACT);
        assert_eq!(
            (cps3.pin.value.as_str(), cps3.puk.value.as_str()),
            ("1234", "12345678")
        );
        assert!(cps3.holder.national_id.starts_with("8999"));
        assert_eq!(cps3.holder.profession_code, Some(10));
        assert_eq!(cps3.category, Category::Test);
        assert_eq!(cps3.token_label(), format!("CPS3v3-{}", cps3.card_number));
        let cps4 = Profile::builtin("cps4").unwrap();
        assert_eq!(cps4.atr_bytes(), ATR_CPS4);
        assert!(cps4.token_label().starts_with("CPS4v1-"));
        let cpe = Profile::builtin("cpe").unwrap();
        assert_eq!(cpe.holder.card_type, CardType::Cpe);
        assert!(cpe.holder.structure.is_some());
        assert!(cpe.holder.national_id.contains('/'));
        assert_eq!(Profile::builtin("blocked-pin").unwrap().pin.tries_left, 0);
        let exhausted = Profile::builtin("puk-exhausted").unwrap();
        assert_eq!((exhausted.pin.tries_left, exhausted.puk.usage_left), (0, 0));
        let now = SystemTime::now();
        let (_, end) = Profile::builtin("expired")
            .unwrap()
            .validity
            .window(now)
            .unwrap();
        assert!(end < now);
        let (_, end) = Profile::builtin("expiring")
            .unwrap()
            .validity
            .window(now)
            .unwrap();
        let left = end.duration_since(now).unwrap().as_secs();
        assert!((9 * 86_400..=10 * 86_400).contains(&left), "{left}");
        let cl = Profile::builtin("cps3-cl").unwrap();
        assert_eq!(cl.interface, Interface::Contactless);
        assert_eq!(cl.atr_bytes(), ATR_CPS3_CONTACTLESS);
        assert_eq!(Profile::builtin("vitale").unwrap().atr_bytes(), ATR_VITALE);
        assert_eq!(
            Profile::builtin("unknown").unwrap().atr_bytes(),
            ATR_UNKNOWN
        );
        // Distinct card numbers keep middleware caches apart.
        let mut numbers: Vec<_> = Profile::builtin_names()
            .into_iter()
            .map(|(n, _)| Profile::builtin(n).unwrap())
            .filter(|p| p.kind == CardKind::Cps)
            .map(|p| p.card_number)
            .collect();
        let count = numbers.len();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), count);
    }

    #[test]
    fn toml_and_json_agree() {
        let toml = r#"
            name = "pharma"
            generation = "cps4"
            card_number = "8042410123"
            serial = "42410123"
            key_index = 3
            atr = "3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00"
            holder = { national_id = "899900099999", given_name = "ANNE", surname = "PHARMA", profession_code = 21, profession_label = "Pharmacien" }
            pin = { tries_left = 1 }
            validity = { not_before = 2024-01-01T00:00:00Z, not_after = "2027-01-01" }
            ef_actua = { start = "2025-03-01T08:00:00+01:00", end = "2025-03-31T18:00:00Z" }
        "#;
        let json = r#"{
            "name": "pharma", "generation": "cps4", "card_number": "8042410123",
            "serial": "42410123", "key_index": 3,
            "atr": "3B:DC:18:FF:00:00:12:25:00:64:80:00:04:01:00:90:00",
            "holder": {"national_id": "899900099999", "given_name": "ANNE", "surname": "PHARMA",
                       "profession_code": 21, "profession_label": "Pharmacien"},
            "pin": {"tries_left": 1},
            "validity": {"not_before": "2024-01-01T00:00:00Z", "not_after": "2027-01-01"},
            "ef_actua": {"start": "2025-03-01T08:00:00+01:00", "end": "2025-03-31T18:00:00Z"}
        }"#;
        let a = Profile::from_toml_str(toml).unwrap();
        let b = Profile::from_json_str(json).unwrap();
        assert_eq!(a.atr_bytes(), b.atr_bytes());
        assert_eq!(a.atr_bytes()[1], 0xDC);
        let (wa, wb) = (
            a.validity.window(SystemTime::now()).unwrap(),
            b.validity.window(SystemTime::now()).unwrap(),
        );
        assert_eq!(wa, wb);
        assert_eq!(a.pin.tries_left, 1);
        assert_eq!(a.pin.tries_max, 3);
        assert_eq!(a.puk, PukSpec::default());
        // Serialising and reading back gives the same profile.
        let again = Profile::from_toml_str(&toml::to_string(&b).unwrap()).unwrap();
        assert_eq!(again, b);
    }

    #[test]
    fn errors_name_the_origin_and_the_field() {
        let e = Profile::from_toml_str("serial = \"1234\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "profile (inline TOML): field `serial`: must be 8 digits"
        );
        let e = Profile::from_toml_str("pin = { tries_left = 4 }").unwrap_err();
        assert!(e.to_string().contains("`pin.tries_left`"), "{e}");
        let e = Profile::from_toml_str("[pin]\ntries_lef = 4").unwrap_err();
        assert!(chain(&e).contains("tries_lef"), "{}", chain(&e));
        let e = Profile::from_toml_str("generation = \"cps5\"").unwrap_err();
        assert!(chain(&e).contains("cps5"), "{}", chain(&e));
        let e = Profile::from_json_str("{\"key_index\": 14}").unwrap_err();
        assert!(e.to_string().contains("`key_index`"), "{e}");
        let e = Profile::from_json_str("{\"puk\": {\"value\": 1}}").unwrap_err();
        assert!(e.to_string().contains("inline JSON"), "{e}");
        assert!(e.source().is_some());
        let e = Profile::from_toml_str("atr = \"3B 00 zz\"").unwrap_err();
        assert!(e.to_string().contains("`atr`"), "{e}");
        let e = Profile::from_toml_str(
            "validity = { not_before = \"2024-13-01\", not_after = \"2025-01-01\" }",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`validity`"), "{e}");
        let e = Profile::from_toml_str("generation = \"cps4\"\ninterface = \"contactless\"")
            .unwrap_err();
        assert!(e.to_string().contains("`interface`"), "{e}");
    }

    #[test]
    fn load_chooses_by_extension_and_names_the_file() {
        let dir = std::env::temp_dir().join(format!("cps-sim-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("doc.toml");
        std::fs::write(&toml_path, "card_number = \"2900000001\"").unwrap();
        let p = Profile::load(&toml_path).unwrap();
        assert_eq!(
            (p.name.as_str(), p.card_number.as_str()),
            ("doc", "2900000001")
        );
        let json_path = dir.join("bad.JSON");
        std::fs::write(&json_path, "{\"serial\": \"x\"}").unwrap();
        let e = Profile::load(&json_path).unwrap_err();
        assert!(e.to_string().contains("bad.JSON"), "{e}");
        assert!(e.to_string().contains("`serial`"), "{e}");
        let e = Profile::load(dir.join("p.yaml")).unwrap_err();
        assert!(matches!(e, ProfileError::UnknownFormat { .. }), "{e}");
        let e = Profile::load(dir.join("missing.toml")).unwrap_err();
        assert!(matches!(e, ProfileError::Read { .. }) && e.source().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rfc3339() {
        let at = |s: &str| {
            parse_rfc3339(s)
                .unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        assert_eq!(at("1970-01-02"), 86_400);
        assert_eq!(at("2000-03-01T00:00:00Z"), 951_868_800);
        assert_eq!(at("2000-03-01T01:30:00+01:30"), 951_868_800);
        assert_eq!(at("2000-02-29t23:00:00.123-01:00"), 951_868_800);
        for bad in [
            "2000-02-30",
            "2000-1-01",
            "2000-01-01T00:00:00",
            "x",
            "2000-01-01T25:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        let actua = EfActua {
            start: DateText("2025-03-01T09:00:00+01:00".into()),
            end: DateText("2025-03-31T18:05:09Z".into()),
        };
        assert_eq!(
            hex::encode_upper(actua.file_content().unwrap()),
            "EC1281072025030108000082072025033118050 9".replace(' ', "")
        );
    }

    #[test]
    fn codes_are_not_printed() {
        let p =
            Profile::from_toml_str("pin = { value = \"9876\" }\npuk = { value = \"55554444\" }")
                .unwrap();
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("9876") && !debug.contains("55554444"),
            "{debug}"
        );
    }
}
