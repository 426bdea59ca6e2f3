//! The holder's identity as the card certificate states it (reference section 6).

use std::fmt;

use der::{Decode, Tag, Tagged};
use serde::{Serialize, Serializer};

use super::name::{
    OID_COMMON_NAME, OID_GIVEN_NAME, OID_ORGANIZATION, OID_ORGANIZATIONAL_UNIT, OID_SURNAME,
    OID_TITLE,
};
use super::{CertError, Certificate};

/// Arc of the agency's private certificate extensions.
pub const OID_CPS_ARC: &str = "1.2.250.1.71.1.2";
/// Card type (TRE_G02), INTEGER.
pub const OID_CPS_CARD_TYPE: &str = "1.2.250.1.71.1.2.2";
/// Issuer and card number, PrintableString `8025000001/<card number>`.
pub const OID_CPS_CARD_NUMBER: &str = "1.2.250.1.71.1.2.3";
/// Product category (TRE_G01), OCTET STRING of one byte.
pub const OID_CPS_CATEGORY: &str = "1.2.250.1.71.1.2.5";
/// Profession code (TRE_G15), INTEGER.
pub const OID_CPS_PROFESSION: &str = "1.2.250.1.71.1.2.7";
/// Responsibility level (TRE_G04).
pub const OID_CPS_RESPONSIBILITY: &str = "1.2.250.1.71.1.2.12";

/// The agency's issuer number, first part of extension `.3` and of the card's PAN.
pub const AGENCY_ISSUER_NUMBER: &str = "8025000001";

/// The professions of TRE_G15, with the agency's French labels.
const PROFESSIONS: &[(u16, &str)] = &[
    (10, "Médecin"),
    (21, "Pharmacien"),
    (26, "Audioprothésiste"),
    (28, "Opticien-Lunetier"),
    (31, "Assistant dentaire"),
    (32, "Physicien médical"),
    (35, "Aide-soignant"),
    (36, "Ambulancier"),
    (37, "Auxiliaire de puériculture"),
    (38, "Préparateur en pharmacie hospitalière"),
    (39, "Préparateur en pharmacie"),
    (40, "Chirurgien-Dentiste"),
    (50, "Sage-Femme"),
    (60, "Infirmier"),
    (69, "Infirmier psychiatrique"),
    (70, "Masseur-Kinésithérapeute"),
    (80, "Pédicure-Podologue"),
    (81, "Orthoprothésiste"),
    (82, "Podo-Orthésiste"),
    (83, "Orthopédiste-Orthésiste"),
    (84, "Oculariste"),
    (85, "Epithésiste"),
    (86, "Technicien de laboratoire médical"),
    (91, "Orthophoniste"),
    (92, "Orthoptiste"),
    (94, "Ergothérapeute"),
    (95, "Diététicien"),
    (96, "Psychomotricien"),
    (98, "Manipulateur ERM"),
];

/// The French label of a TRE_G15 profession code, if the code is in the table.
pub fn profession_name(code: u16) -> Option<&'static str> {
    PROFESSIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// What the national identifier (the certificate's CN) is built on, from its first digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum IdKind {
    /// `8` + RPPS number (regulated professions).
    #[serde(rename = "RPPS")]
    Rpps,
    /// `0` + ADELI number.
    #[serde(rename = "ADELI")]
    Adeli,
    /// `1`, `3`, `4`, `5` or `6` + a structure identifier, `/`, a local identifier (staff
    /// cards); [`Holder::structure_kind`] says which structure identifier.
    #[serde(rename = "structure")]
    Structure,
    /// Any other first character.
    #[serde(rename = "unknown")]
    Unknown,
}

impl IdKind {
    /// `RPPS`, `ADELI`, `structure` or `unknown`, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Rpps => "RPPS",
            IdKind::Adeli => "ADELI",
            IdKind::Structure => "structure",
            IdKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The structure identifier a structure-based national identifier starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum StructureKind {
    /// `1`: a practice (cabinet) identified by an ADELI number.
    #[serde(rename = "cabinet ADELI")]
    CabinetAdeli,
    /// `3`: an establishment identified by its FINESS number.
    #[serde(rename = "FINESS")]
    Finess,
    /// `4`: a company identified by its SIREN number.
    #[serde(rename = "SIREN")]
    Siren,
    /// `5`: an establishment identified by its SIRET number.
    #[serde(rename = "SIRET")]
    Siret,
    /// `6`: a practice (cabinet) identified by an RPPS number.
    #[serde(rename = "cabinet RPPS")]
    CabinetRpps,
}

impl StructureKind {
    /// `cabinet ADELI`, `FINESS`, `SIREN`, `SIRET` or `cabinet RPPS`, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            StructureKind::CabinetAdeli => "cabinet ADELI",
            StructureKind::Finess => "FINESS",
            StructureKind::Siren => "SIREN",
            StructureKind::Siret => "SIRET",
            StructureKind::CabinetRpps => "cabinet RPPS",
        }
    }
}

impl fmt::Display for StructureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Card type (extension `.2`, TRE_G02). Serialised as `CPS`, `CPF`, `CPE`, `CPA`, or
/// `unknown(N)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardType {
    /// `0`: Carte de Professionnel de Santé (regulated professional).
    Cps,
    /// `1`: Carte de Professionnel de santé en Formation (student).
    Cpf,
    /// `2`: Carte de Directeur / Personnel d'Établissement (CDE/CPE, establishment staff).
    Cpe,
    /// `3`: Carte de Directeur / Personnel Autorisé (CDA/CPA, authorised staff).
    Cpa,
    /// Any other value.
    Unknown(i64),
}

impl CardType {
    /// The type for a TRE_G02 code.
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => CardType::Cps,
            1 => CardType::Cpf,
            2 => CardType::Cpe,
            3 => CardType::Cpa,
            other => CardType::Unknown(other),
        }
    }

    /// The TRE_G02 code.
    pub fn code(self) -> i64 {
        match self {
            CardType::Cps => 0,
            CardType::Cpf => 1,
            CardType::Cpe => 2,
            CardType::Cpa => 3,
            CardType::Unknown(code) => code,
        }
    }
}

impl fmt::Display for CardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardType::Cps => f.write_str("CPS"),
            CardType::Cpf => f.write_str("CPF"),
            CardType::Cpe => f.write_str("CPE"),
            CardType::Cpa => f.write_str("CPA"),
            CardType::Unknown(code) => write!(f, "unknown({code})"),
        }
    }
}

impl Serialize for CardType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Product category (extension `.5`, TRE_G01). Serialised in snake case (`real`, `test`,
/// `security_module`, …, `unknown(XX)` with XX in hex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// `00`: a real CPx card.
    Real,
    /// `02`: a security module.
    SecurityModule,
    /// `03`: a software certificate.
    Software,
    /// `80`: a test CPx card.
    Test,
    /// `82`: a test security module.
    TestSecurityModule,
    /// `83`: a test software certificate.
    TestSoftware,
    /// Any other byte.
    Unknown(u8),
}

impl Category {
    /// The category for a TRE_G01 byte.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x00 => Category::Real,
            0x02 => Category::SecurityModule,
            0x03 => Category::Software,
            0x80 => Category::Test,
            0x82 => Category::TestSecurityModule,
            0x83 => Category::TestSoftware,
            other => Category::Unknown(other),
        }
    }

    /// The TRE_G01 byte.
    pub fn code(self) -> u8 {
        match self {
            Category::Real => 0x00,
            Category::SecurityModule => 0x02,
            Category::Software => 0x03,
            Category::Test => 0x80,
            Category::TestSecurityModule => 0x82,
            Category::TestSoftware => 0x83,
            Category::Unknown(code) => code,
        }
    }

    /// Whether this is one of the test categories: the agency sets bit 7 for them.
    pub fn is_test(self) -> bool {
        self.code() & 0x80 != 0
    }

    /// A short English description.
    pub fn label_en(self) -> &'static str {
        match self {
            Category::Real => "real card",
            Category::SecurityModule => "security module",
            Category::Software => "software certificate",
            Category::Test => "test card",
            Category::TestSecurityModule => "test security module",
            Category::TestSoftware => "test software certificate",
            Category::Unknown(_) => "unknown category",
        }
    }

    /// A short French description.
    pub fn label_fr(self) -> &'static str {
        match self {
            Category::Real => "carte réelle",
            Category::SecurityModule => "module de sécurité",
            Category::Software => "certificat logiciel",
            Category::Test => "carte de test",
            Category::TestSecurityModule => "module de sécurité de test",
            Category::TestSoftware => "certificat logiciel de test",
            Category::Unknown(_) => "catégorie inconnue",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Category::Real => f.write_str("real"),
            Category::SecurityModule => f.write_str("security_module"),
            Category::Software => f.write_str("software"),
            Category::Test => f.write_str("test"),
            Category::TestSecurityModule => f.write_str("test_security_module"),
            Category::TestSoftware => f.write_str("test_software"),
            Category::Unknown(code) => write!(f, "unknown({code:02X})"),
        }
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The card holder as the card certificate names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// The national identifier (idNat), the certificate's CN: `810002813839`,
    /// `30B0057881/CPET0002`.
    pub national_id: String,
    /// What the national identifier is built on.
    pub id_kind: IdKind,
    /// For [`IdKind::Structure`], which structure identifier.
    pub structure_kind: Option<StructureKind>,
    /// The national identifier without its kind digit, and without the local part for
    /// structure-based ones: the RPPS, ADELI, FINESS, … number.
    pub base_id: String,
    /// For structure-based identifiers, the local identifier after `/`.
    pub local_id: Option<String>,
    /// Given name (GN).
    pub given_name: String,
    /// Surname (SN).
    pub surname: String,
    /// Profession label from the subject's `title` ("Médecin", "Personnel santé ou social").
    pub profession_label: Option<String>,
    /// Profession code (extension `.7`, TRE_G15); staff cards have none.
    pub profession_code: Option<u16>,
    /// Card type (extension `.2`).
    pub card_type: Option<CardType>,
    /// Product category (extension `.5`).
    pub category: Option<Category>,
    /// Whether the category is a test one.
    pub test_card: bool,
    /// Whether the national identifier is in the ranges test identities use (`8997…`,
    /// `8999…`); a hint, the category is authoritative.
    pub test_identity: bool,
    /// Card number (extension `.3`, the digits after `8025000001/`).
    pub card_number: Option<String>,
    /// Issuer number (extension `.3`, before `/`; `8025000001` for the agency).
    pub issuer_number: Option<String>,
    /// Structure name (subject `O`, staff cards).
    pub structure_name: Option<String>,
    /// Structure identifier (subject `OU`, staff cards).
    pub structure_id: Option<String>,
    /// Responsibility level (extension `.12`, TRE_G04).
    pub responsibility_level: Option<u32>,
}

impl Holder {
    /// The French profession name for [`Holder::profession_code`] from TRE_G15.
    pub fn profession_name(&self) -> Option<&'static str> {
        self.profession_code.and_then(profession_name)
    }

    /// True if the category or the identifier says test.
    pub fn is_test(&self) -> bool {
        self.test_card || self.test_identity
    }

    /// One line in English: `Médecin — DUPONT Jean (RPPS 10002813839), CPS, test card`.
    pub fn summary_en(&self) -> String {
        self.summary(", test card")
    }

    /// One line in French: `Médecin — DUPONT Jean (RPPS 10002813839), CPS, carte de test`.
    pub fn summary_fr(&self) -> String {
        self.summary(", carte de test")
    }

    fn summary(&self, test_suffix: &str) -> String {
        let mut out = String::new();
        let label = self
            .profession_label
            .as_deref()
            .or_else(|| self.profession_name());
        if let Some(label) = label {
            out.push_str(label);
            out.push_str(" — ");
        }
        out.push_str(&self.surname);
        out.push(' ');
        out.push_str(&self.given_name);
        out.push_str(" (");
        match (self.id_kind, self.structure_kind) {
            (IdKind::Rpps | IdKind::Adeli, _) => {
                out.push_str(self.id_kind.as_str());
                out.push(' ');
                out.push_str(&self.base_id);
            }
            (IdKind::Structure, Some(kind)) => {
                out.push_str(kind.as_str());
                out.push(' ');
                out.push_str(&self.base_id);
                if let Some(local) = &self.local_id {
                    out.push_str(" / ");
                    out.push_str(local);
                }
            }
            _ => out.push_str(&self.national_id),
        }
        out.push(')');
        if let Some(card_type) = self.card_type {
            out.push_str(", ");
            out.push_str(&card_type.to_string());
        }
        if let Some(structure) = &self.structure_name {
            out.push_str(", ");
            out.push_str(structure);
        }
        if self.is_test() {
            out.push_str(test_suffix);
        }
        out
    }
}

/// Splits a national identifier into kind, structure kind, base id and local id.
pub(crate) fn classify_national_id(
    id: &str,
) -> (IdKind, Option<StructureKind>, String, Option<String>) {
    let mut chars = id.chars();
    let first = chars.next();
    let rest = chars.as_str();
    let structure = |kind| {
        let (base, local) = match rest.split_once('/') {
            Some((base, local)) => (base.to_owned(), Some(local.to_owned())),
            None => (rest.to_owned(), None),
        };
        (IdKind::Structure, Some(kind), base, local)
    };
    match first {
        Some('8') => (IdKind::Rpps, None, rest.to_owned(), None),
        Some('0') => (IdKind::Adeli, None, rest.to_owned(), None),
        Some('1') => structure(StructureKind::CabinetAdeli),
        Some('3') => structure(StructureKind::Finess),
        Some('4') => structure(StructureKind::Siren),
        Some('5') => structure(StructureKind::Siret),
        Some('6') => structure(StructureKind::CabinetRpps),
        _ => (IdKind::Unknown, None, id.to_owned(), None),
    }
}

pub(crate) fn holder_of(cert: &Certificate) -> Result<Holder, CertError> {
    let subject = cert.subject_name();
    let cps_extensions = cert
        .extensions()
        .iter()
        .any(|e| e.oid.starts_with(OID_CPS_ARC) && e.oid[OID_CPS_ARC.len()..].starts_with('.'));
    let not_card = |reason| CertError::NotCardCertificate {
        subject: subject.to_string(),
        reason,
    };
    if cert.is_ca() {
        return Err(not_card("it is a certification authority certificate"));
    }
    // The card layout puts GN, CN and SN in one multi-valued RDN; single-valued ones are
    // accepted when the agency's extensions vouch for a card certificate.
    let identity_rdn = subject
        .rdns()
        .iter()
        .find(|rdn| rdn.len() > 1 && rdn.iter().any(|a| a.oid == OID_COMMON_NAME));
    if identity_rdn.is_none() && !cps_extensions {
        return Err(not_card(
            "it has neither the GN+CN+SN name nor the 1.2.250.1.71.1.2 extensions",
        ));
    }
    let find = |oid: &str| match identity_rdn {
        Some(rdn) => rdn.iter().find(|a| a.oid == oid).map(|a| a.value.clone()),
        None => subject.first(oid).map(str::to_owned),
    };
    let required = |oid: &str, attribute: &'static str| {
        find(oid)
            .filter(|v| !v.trim().is_empty())
            .ok_or(CertError::MissingAttribute { attribute })
    };
    let national_id = required(OID_COMMON_NAME, "CN (national identifier)")?;
    let given_name = required(OID_GIVEN_NAME, "GN (given name)")?;
    let surname = required(OID_SURNAME, "SN (surname)")?;

    let (id_kind, structure_kind, base_id, local_id) = classify_national_id(&national_id);
    let test_identity = national_id.starts_with("8997") || national_id.starts_with("8999");

    let category = cert
        .cps_extension(OID_CPS_CATEGORY)?
        .map(decode_category)
        .transpose()?;
    let card_type = cert
        .cps_extension(OID_CPS_CARD_TYPE)?
        .map(|v| decode_integer(OID_CPS_CARD_TYPE, "card type", v).map(CardType::from_code))
        .transpose()?;
    let profession_code = cert
        .cps_extension(OID_CPS_PROFESSION)?
        .map(|v| {
            let code = decode_integer(OID_CPS_PROFESSION, "profession code", v)?;
            u16::try_from(code).map_err(|_| {
                bad(
                    OID_CPS_PROFESSION,
                    "profession code",
                    format!("{code} is out of range"),
                    None,
                )
            })
        })
        .transpose()?;
    let (issuer_number, card_number) = match cert.cps_extension(OID_CPS_CARD_NUMBER)? {
        Some(v) => {
            let (issuer, number) = decode_card_number(v)?;
            (Some(issuer), Some(number))
        }
        None => (None, None),
    };
    let responsibility_level = cert
        .cps_extension(OID_CPS_RESPONSIBILITY)?
        .map(decode_responsibility)
        .transpose()?;

    Ok(Holder {
        national_id,
        id_kind,
        structure_kind,
        base_id,
        local_id,
        given_name,
        surname,
        profession_label: subject.first(OID_TITLE).map(str::to_owned),
        profession_code,
        card_type,
        test_card: category.is_some_and(Category::is_test),
        category,
        test_identity,
        card_number,
        issuer_number,
        structure_name: subject.first(OID_ORGANIZATION).map(str::to_owned),
        structure_id: subject.first(OID_ORGANIZATIONAL_UNIT).map(str::to_owned),
        responsibility_level,
    })
}

fn bad(
    oid: &'static str,
    what: &'static str,
    detail: String,
    source: Option<der::Error>,
) -> CertError {
    CertError::BadExtension {
        oid,
        what,
        detail,
        source,
    }
}

fn decode_category(value: &[u8]) -> Result<Category, CertError> {
    let what = "product category";
    let octets = der::asn1::OctetStringRef::from_der(value).map_err(|e| {
        bad(
            OID_CPS_CATEGORY,
            what,
            "not a DER OCTET STRING".into(),
            Some(e),
        )
    })?;
    match octets.as_bytes() {
        [code] => Ok(Category::from_code(*code)),
        other => Err(bad(
            OID_CPS_CATEGORY,
            what,
            format!("{} bytes where one is expected", other.len()),
            None,
        )),
    }
}

fn decode_integer(oid: &'static str, what: &'static str, value: &[u8]) -> Result<i64, CertError> {
    i64::from_der(value).map_err(|e| {
        bad(
            oid,
            what,
            "not a DER INTEGER within 64 bits".into(),
            Some(e),
        )
    })
}

/// TRE_G04's encoding is not documented: an INTEGER like its siblings, or one byte like
/// the category.
fn decode_responsibility(value: &[u8]) -> Result<u32, CertError> {
    let what = "responsibility level";
    if let Ok(octets) = der::asn1::OctetStringRef::from_der(value)
        && let [level] = octets.as_bytes()
    {
        return Ok(u32::from(*level));
    }
    let level = decode_integer(OID_CPS_RESPONSIBILITY, what, value)?;
    u32::try_from(level).map_err(|_| {
        bad(
            OID_CPS_RESPONSIBILITY,
            what,
            format!("{level} is out of range"),
            None,
        )
    })
}

fn decode_card_number(value: &[u8]) -> Result<(String, String), CertError> {
    let what = "issuer and card number";
    let any = der::AnyRef::from_der(value)
        .map_err(|e| bad(OID_CPS_CARD_NUMBER, what, "not DER".into(), Some(e)))?;
    if !matches!(
        any.tag(),
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String
    ) {
        return Err(bad(
            OID_CPS_CARD_NUMBER,
            what,
            format!("{} where a PrintableString is expected", any.tag()),
            None,
        ));
    }
    let text = std::str::from_utf8(any.value())
        .map_err(|_| bad(OID_CPS_CARD_NUMBER, what, "not text".into(), None))?;
    let well_formed = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('/') {
        Some((issuer, number)) if well_formed(issuer) && well_formed(number) => {
            Ok((issuer.to_owned(), number.to_owned()))
        }
        _ => Err(bad(
            OID_CPS_CARD_NUMBER,
            what,
            format!("{text:?} is not <issuer digits>/<card digits>"),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_id_kinds() {
        assert_eq!(
            classify_national_id("810002813839"),
            (IdKind::Rpps, None, "10002813839".into(), None)
        );
        assert_eq!(
            classify_national_id("0751234567"),
            (IdKind::Adeli, None, "751234567".into(), None)
        );
        assert_eq!(
            classify_national_id("30B0057881/CPET0002"),
            (
                IdKind::Structure,
                Some(StructureKind::Finess),
                "0B0057881".into(),
                Some("CPET0002".into())
            )
        );
        assert_eq!(
            classify_national_id("512345678900012/A1").1,
            Some(StructureKind::Siret)
        );
        assert_eq!(classify_national_id("").0, IdKind::Unknown);
        assert_eq!(classify_national_id("É").0, IdKind::Unknown);
    }

    #[test]
    fn code_tables() {
        assert_eq!(profession_name(10), Some("Médecin"));
        assert_eq!(profession_name(98), Some("Manipulateur ERM"));
        assert_eq!(profession_name(11), None);
        for code in [0x00, 0x02, 0x03, 0x80, 0x82, 0x83, 0x42] {
            assert_eq!(Category::from_code(code).code(), code);
        }
        assert!(Category::TestSoftware.is_test());
        assert!(!Category::Software.is_test());
        for code in -1..5 {
            assert_eq!(CardType::from_code(code).code(), code);
        }
        assert_eq!(CardType::Cpe.to_string(), "CPE");
        assert_eq!(CardType::Unknown(7).to_string(), "unknown(7)");
        assert_eq!(Category::Unknown(5).to_string(), "unknown(05)");
    }

    #[test]
    fn card_number_forms() {
        // PrintableString "8025000001/0123456789"
        let mut v = vec![0x13, 21];
        v.extend_from_slice(b"8025000001/0123456789");
        assert_eq!(
            decode_card_number(&v).ok(),
            Some(("8025000001".into(), "0123456789".into()))
        );
        let mut v = vec![0x13, 10];
        v.extend_from_slice(b"8025000001");
        assert!(matches!(
            decode_card_number(&v),
            Err(CertError::BadExtension {
                oid: OID_CPS_CARD_NUMBER,
                ..
            })
        ));
        assert!(decode_card_number(&[0x02, 0x01, 0x00]).is_err());
    }

    #[test]
    fn integer_and_category_values() {
        assert_eq!(
            decode_integer(OID_CPS_CARD_TYPE, "t", &[0x02, 0x01, 0x02]).ok(),
            Some(2)
        );
        assert!(decode_integer(OID_CPS_CARD_TYPE, "t", &[0x04, 0x01, 0x02]).is_err());
        assert_eq!(
            decode_category(&[0x04, 0x01, 0x80]).ok(),
            Some(Category::Test)
        );
        assert!(decode_category(&[0x04, 0x02, 0x80, 0x00]).is_err());
        assert_eq!(decode_responsibility(&[0x02, 0x01, 0x03]).ok(), Some(3));
        assert_eq!(decode_responsibility(&[0x04, 0x01, 0x01]).ok(), Some(1));
        assert!(decode_responsibility(&[0x02, 0x01, 0xFF]).is_err());
    }
}
