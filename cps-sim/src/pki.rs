//! A test IGC-Santé PKI: the CAs that sign the virtual cards' certificates.
//!
//! The hierarchy mirrors the agency's **test** branch (`OU=IGC-SANTE TEST`): a root
//! `TEST AC RACINE IGC-SANTE STANDARD` (RSA-3072) signs an issuing CA
//! `TEST AC IGC-SANTE STANDARD PERSONNES` (RSA-2048, pathlen 0), which signs the card
//! certificates and the CRL. Card certificates follow the profile read from a real agency
//! test card (see `shared/docs/cps-card-reference.md`, section 6).
//!
//! Every key here is **public test material**: the CA keys and the pool of card keys are
//! committed in `fixtures/pki/` and embedded in the crate. They were generated from a fixed
//! seed by the `cps-sim-pki` example (`fixtures/pki/README.md` gives the command), so
//! loading the PKI never generates a key. Nothing signed by them is trusted anywhere.
//!
//! Signatures are RSA PKCS#1 v1.5 with SHA-256, which is deterministic: the same inputs give
//! the same DER, byte for byte.

use std::fmt;
use std::time::SystemTime;

use der::asn1::{
    BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString, PrintableStringRef,
    SetOfVec, UtcTime,
};
use der::referenced::OwnedToRef;
use der::{Any, DateTime, Decode, Encode, Tag};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use signature::{SignatureEncoding, Signer};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// Common name of the test root CA.
pub const ROOT_CA_NAME: &str = "TEST AC RACINE IGC-SANTE STANDARD";
/// Common name of the test issuing CA, which signs the card certificates and the CRL.
pub const ISSUING_CA_NAME: &str = "TEST AC IGC-SANTE STANDARD PERSONNES";
/// Certificate policy of the test personal-card certificates.
pub const TEST_CARD_POLICY_OID: &str = "1.2.250.1.213.1.7.2.1.1.1.1";
/// CPS (policy statement) URI of the test hierarchy.
pub const TEST_POLICY_URI: &str = "http://igc-sante.esante.gouv.fr/PC%20TEST";
/// CRL distribution point of the card certificates (the issuing CA's CRL).
pub const CARD_CRL_URL: &str = "http://igc-sante.esante.gouv.fr/CRL/ACI-ST-PP-TEST.crl";
/// AIA caIssuers URI of the card certificates (where the issuing CA certificate is).
pub const CARD_CA_ISSUERS_URL: &str =
    "http://igc-sante.esante.gouv.fr/AC%20TEST/ACI-ST-PP-TEST.cer";
/// CRL distribution point of the issuing CA certificate (the root's CRL, by analogy with
/// production `ACR-ST.crl`).
pub const ROOT_CRL_URL: &str = "http://igc-sante.esante.gouv.fr/CRL/ACR-ST-TEST.crl";
/// Domain of the UPN in the authentication certificate: `<national_id>@carte-cps.fr`.
pub const UPN_DOMAIN: &str = "carte-cps.fr";
/// Issuer part of the card number extension (`.3`): `8025000001/<card number>`.
pub const CARD_ISSUER_PREFIX: &str = "8025000001/";
/// Seed the committed fixtures were generated from (`"CPS TEST"` in ASCII).
pub const FIXTURE_SEED: u64 = 0x4350_5320_5445_5354;
/// Number of RSA-2048 card keys in the committed pool (see [`card_key`]).
pub const CARD_KEY_COUNT: usize = 16;

/// OIDs the profile needs, by name.
pub mod oid {
    use der::asn1::ObjectIdentifier;

    /// `countryName`.
    pub const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
    /// `organizationName`.
    pub const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
    /// `organizationalUnitName`.
    pub const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
    /// `commonName`.
    pub const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    /// `surname`.
    pub const SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
    /// `givenName`.
    pub const GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
    /// `title`.
    pub const TITLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.12");
    /// `sha256WithRSAEncryption`.
    pub const SHA256_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    /// Extension `basicConstraints`.
    pub const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
    /// Extension `keyUsage`.
    pub const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
    /// Extension `extKeyUsage`.
    pub const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
    /// Extension `certificatePolicies`.
    pub const CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
    /// Extension `subjectAltName`.
    pub const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
    /// Extension `cRLDistributionPoints`.
    pub const CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
    /// Extension `authorityInfoAccess`.
    pub const AUTHORITY_INFO_ACCESS: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
    /// Extension `subjectKeyIdentifier`.
    pub const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
    /// Extension `authorityKeyIdentifier`.
    pub const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.35");
    /// CRL extension `cRLNumber`.
    pub const CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
    /// Certificate policy of the test personal-card certificates
    /// ([`TEST_CARD_POLICY_OID`](super::TEST_CARD_POLICY_OID)).
    pub const TEST_CARD_POLICY: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.250.1.213.1.7.2.1.1.1.1");
    /// Policy `anyPolicy`.
    pub const ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32.0");
    /// Policy qualifier `id-qt-cps`.
    pub const QUALIFIER_CPS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.2.1");
    /// Access method `id-ad-caIssuers`.
    pub const CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
    /// EKU `id-kp-clientAuth`.
    pub const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
    /// EKU Microsoft smart-card logon.
    pub const SMART_CARD_LOGON: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.2");
    /// otherName Microsoft UPN.
    pub const UPN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3");
    /// Private extension `.5`: product category (TRE_G01), OCTET STRING of one byte.
    pub const CPS_CATEGORY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.250.1.71.1.2.5");
    /// Private extension `.2`: card type (TRE_G02), INTEGER.
    pub const CPS_CARD_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.250.1.71.1.2.2");
    /// Private extension `.3`: issuer and card number, PrintableString.
    pub const CPS_CARD_NUMBER: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.250.1.71.1.2.3");
    /// Private extension `.7`: profession code (TRE_G15), INTEGER.
    pub const CPS_PROFESSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.250.1.71.1.2.7");
}

/// Which of the card's keys a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertUsage {
    /// Authentication key: KeyUsage digitalSignature (critical), EKU clientAuth and
    /// smart-card logon, SAN UPN `<national_id>@carte-cps.fr`.
    Authentication,
    /// Signature key: KeyUsage nonRepudiation (critical).
    Signature,
    /// Technical key of the contactless application: KeyUsage digitalSignature (critical).
    Technical,
}

/// The structure (establishment) a staff card belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Structure {
    /// Structure identifier, the subject `OU` (e.g. `"30B0057881"`).
    pub id: String,
    /// Structure name, the subject `O`.
    pub name: String,
}

/// Who a card belongs to, as its certificates say it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CardIdentity {
    /// National identifier, the subject `CN`: `"810002813839"` ("8" + RPPS) or a
    /// structure-based id such as `"30B0057881/CPET0002"`.
    pub national_id: String,
    /// Given name, the subject `GN`.
    pub given_name: String,
    /// Surname, the subject `SN`.
    pub surname: String,
    /// Profession code (TRE_G15, e.g. 10 = Médecin), extension `.7`; `None` for staff
    /// without a profession (the extension is then left out).
    pub profession_code: Option<u16>,
    /// Profession label, the subject `title` (e.g. "Médecin", "Personnel santé ou social").
    pub profession_label: String,
    /// Card type (TRE_G02: 0 CPS, 1 CPF, 2 CPE/CDE, 3 CPA/CDA), extension `.2`.
    pub card_type: u8,
    /// Test card: extension `.5` is `0x80` when true, `0x00` (real CPx) when false.
    pub test_card: bool,
    /// Card number, 10 digits; extension `.3` is `"8025000001/"` followed by it.
    pub card_number: String,
    /// Establishment of a staff card: subject `O` (name) and `OU` (identifier).
    pub structure: Option<Structure>,
}

/// What went wrong while loading the test PKI or issuing from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// An embedded key fixture is not a valid PKCS#8 RSA private key.
    #[error("key fixture {name} does not decode")]
    KeyFixture {
        /// Fixture file name.
        name: &'static str,
        /// Why it does not decode.
        #[source]
        source: rsa::pkcs8::Error,
    },
    /// An embedded certificate fixture is not a valid DER certificate.
    #[error("certificate fixture {name} does not decode")]
    CertificateFixture {
        /// Fixture file name.
        name: &'static str,
        /// Why it does not decode.
        #[source]
        source: der::Error,
    },
    /// The fixtures do not fit together (a key that is not the certificate's, a missing
    /// extension).
    #[error("inconsistent PKI fixtures: {0}")]
    InconsistentFixtures(&'static str),
    /// A card key index past the end of the pool.
    #[error("no card key {index}: the pool holds {count} keys")]
    NoSuchCardKey {
        /// The index asked for.
        index: usize,
        /// Size of the pool.
        count: usize,
    },
    /// The identity cannot go into a certificate as it is.
    #[error("invalid card identity: {field} {reason}")]
    InvalidIdentity {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `not_after` is before `not_before` (or `next_update` before `this_update`).
    #[error("validity period ends before it starts")]
    InvalidValidity,
    /// A time cannot be encoded (before 1970 or past 9999).
    #[error("time cannot be encoded in a certificate")]
    Time(#[source] der::Error),
    /// DER encoding failed.
    #[error("DER encoding failed")]
    Encoding(#[from] der::Error),
    /// The subject public key cannot be encoded.
    #[error("public key cannot be encoded")]
    PublicKey(#[from] spki::Error),
    /// The CA failed to sign.
    #[error("signing failed")]
    Signing(#[from] signature::Error),
    /// RSA key generation failed (fixture generation only).
    #[error("RSA key generation failed")]
    KeyGeneration(#[source] rsa::Error),
    /// A generated key cannot be encoded as PKCS#8 (fixture generation only).
    #[error("PKCS#8 encoding failed")]
    KeyEncoding(#[source] rsa::pkcs8::Error),
}

/// File names of the fixtures, relative to `fixtures/pki/`.
pub mod fixture {
    /// Root CA certificate (DER).
    pub const ROOT_CERT: &str = "root-ca.cert.der";
    /// Root CA private key (PKCS#8 DER, RSA-3072).
    pub const ROOT_KEY: &str = "root-ca.key.der";
    /// Issuing CA certificate (DER).
    pub const ISSUING_CERT: &str = "issuing-ca.cert.der";
    /// Issuing CA private key (PKCS#8 DER, RSA-2048).
    pub const ISSUING_KEY: &str = "issuing-ca.key.der";

    /// File name of card key `index` (PKCS#8 DER, RSA-2048): `card-key-00.der` …
    pub fn card_key(index: usize) -> String {
        format!("card-key-{index:02}.der")
    }
}

const ROOT_CERT_DER: &[u8] = include_bytes!("../fixtures/pki/root-ca.cert.der");
const ISSUING_CERT_DER: &[u8] = include_bytes!("../fixtures/pki/issuing-ca.cert.der");
const ISSUING_KEY_DER: &[u8] = include_bytes!("../fixtures/pki/issuing-ca.key.der");

const CARD_KEYS_DER: [&[u8]; CARD_KEY_COUNT] = [
    include_bytes!("../fixtures/pki/card-key-00.der"),
    include_bytes!("../fixtures/pki/card-key-01.der"),
    include_bytes!("../fixtures/pki/card-key-02.der"),
    include_bytes!("../fixtures/pki/card-key-03.der"),
    include_bytes!("../fixtures/pki/card-key-04.der"),
    include_bytes!("../fixtures/pki/card-key-05.der"),
    include_bytes!("../fixtures/pki/card-key-06.der"),
    include_bytes!("../fixtures/pki/card-key-07.der"),
    include_bytes!("../fixtures/pki/card-key-08.der"),
    include_bytes!("../fixtures/pki/card-key-09.der"),
    include_bytes!("../fixtures/pki/card-key-10.der"),
    include_bytes!("../fixtures/pki/card-key-11.der"),
    include_bytes!("../fixtures/pki/card-key-12.der"),
    include_bytes!("../fixtures/pki/card-key-13.der"),
    include_bytes!("../fixtures/pki/card-key-14.der"),
    include_bytes!("../fixtures/pki/card-key-15.der"),
];

/// Card key `index` of the committed pool of RSA-2048 keys (`0..CARD_KEY_COUNT`).
///
/// The keys are public test material: two virtual cards built with the same index share
/// a key, which is what a test wants when it compares runs.
pub fn card_key(index: usize) -> Result<RsaPrivateKey, PkiError> {
    let der = CARD_KEYS_DER.get(index).ok_or(PkiError::NoSuchCardKey {
        index,
        count: CARD_KEY_COUNT,
    })?;
    RsaPrivateKey::from_pkcs8_der(der).map_err(|source| PkiError::KeyFixture {
        name: "card-key-NN.der",
        source,
    })
}

/// The test PKI: the issuing CA's key and both CA certificates, from the committed
/// fixtures.
#[derive(Clone)]
pub struct TestPki {
    root_der: Vec<u8>,
    issuing_der: Vec<u8>,
    issuing_name: Name,
    issuing_key_id: OctetString,
    signer: SigningKey<Sha256>,
}

impl fmt::Debug for TestPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs even though it is test material.
        f.debug_struct("TestPki")
            .field("issuing_ca", &self.issuing_name.to_string())
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// Loads the PKI from the fixtures embedded in the crate. Fast: it decodes one key and
    /// two certificates, and generates nothing.
    pub fn load() -> Result<TestPki, PkiError> {
        let root = Certificate::from_der(ROOT_CERT_DER).map_err(|source| {
            PkiError::CertificateFixture {
                name: fixture::ROOT_CERT,
                source,
            }
        })?;
        let issuing = Certificate::from_der(ISSUING_CERT_DER).map_err(|source| {
            PkiError::CertificateFixture {
                name: fixture::ISSUING_CERT,
                source,
            }
        })?;
        if issuing.tbs_certificate.issuer != root.tbs_certificate.subject {
            return Err(PkiError::InconsistentFixtures(
                "the issuing CA is not issued by the root",
            ));
        }
        let key = RsaPrivateKey::from_pkcs8_der(ISSUING_KEY_DER).map_err(|source| {
            PkiError::KeyFixture {
                name: fixture::ISSUING_KEY,
                source,
            }
        })?;
        let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key())?;
        if spki != issuing.tbs_certificate.subject_public_key_info {
            return Err(PkiError::InconsistentFixtures(
                "the issuing CA key does not match its certificate",
            ));
        }
        let issuing_key_id = issuing
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|ext| ext.extn_id == oid::SUBJECT_KEY_IDENTIFIER)
            .map(|ext| OctetString::from_der(ext.extn_value.as_bytes()))
            .transpose()?
            .ok_or(PkiError::InconsistentFixtures(
                "the issuing CA certificate has no subject key identifier",
            ))?;
        Ok(TestPki {
            root_der: ROOT_CERT_DER.to_vec(),
            issuing_der: ISSUING_CERT_DER.to_vec(),
            issuing_name: issuing.tbs_certificate.subject,
            issuing_key_id,
            signer: SigningKey::<Sha256>::new(key),
        })
    }

    /// DER of the root CA certificate, "TEST AC RACINE IGC-SANTE STANDARD".
    pub fn root_certificate(&self) -> &[u8] {
        &self.root_der
    }

    /// DER of the issuing CA certificate, "TEST AC IGC-SANTE STANDARD PERSONNES".
    pub fn issuing_certificate(&self) -> &[u8] {
        &self.issuing_der
    }

    /// Issues the DER certificate of one card key, signed by the issuing CA.
    ///
    /// The subject is `C=FR`, `O` and `OU` for a staff card, `title`, then one
    /// multi-valued RDN `GN + CN + SN` (its attributes in DER SET order). Times are
    /// truncated to the second; UTCTime until 2049, GeneralizedTime after.
    /// Deterministic: the same arguments give the same bytes.
    pub fn issue(
        &self,
        id: &CardIdentity,
        usage: CertUsage,
        public_key: &RsaPublicKey,
        not_before: SystemTime,
        not_after: SystemTime,
        serial: u64,
    ) -> Result<Vec<u8>, PkiError> {
        validate(id)?;
        if not_after < not_before {
            return Err(PkiError::InvalidValidity);
        }
        let spki = SubjectPublicKeyInfoOwned::from_key(public_key.clone())?;
        let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())?;

        let mut extensions = Vec::new();
        let key_usage = match usage {
            CertUsage::Authentication | CertUsage::Technical => KeyUsages::DigitalSignature,
            CertUsage::Signature => KeyUsages::NonRepudiation,
        };
        extensions.push(extension(
            oid::KEY_USAGE,
            true,
            &KeyUsage(key_usage.into()),
        )?);
        if usage == CertUsage::Authentication {
            extensions.push(extension(
                oid::EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![oid::CLIENT_AUTH, oid::SMART_CARD_LOGON]),
            )?);
        }
        extensions.push(policies(oid::TEST_CARD_POLICY, TEST_POLICY_URI)?);
        if usage == CertUsage::Authentication {
            let upn = format!("{}@{UPN_DOMAIN}", id.national_id);
            let san = SubjectAltName(vec![GeneralName::OtherName(OtherName {
                type_id: oid::UPN,
                value: utf8(&upn)?,
            })]);
            extensions.push(extension(oid::SUBJECT_ALT_NAME, false, &san)?);
        }
        extensions.push(crl_distribution_points(&[CARD_CRL_URL])?);
        let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
            access_method: oid::CA_ISSUERS,
            access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(
                CARD_CA_ISSUERS_URL,
            )?),
        }]);
        extensions.push(extension(oid::AUTHORITY_INFO_ACCESS, false, &aia)?);
        extensions.push(extension(oid::SUBJECT_KEY_IDENTIFIER, false, &ski)?);
        extensions.push(authority_key_id(&self.issuing_key_id)?);
        let category = OctetString::new([if id.test_card { 0x80 } else { 0x00 }])?;
        extensions.push(extension(oid::CPS_CATEGORY, false, &category)?);
        extensions.push(extension(oid::CPS_CARD_TYPE, false, &id.card_type)?);
        let number = format!("{CARD_ISSUER_PREFIX}{}", id.card_number);
        extensions.push(extension(
            oid::CPS_CARD_NUMBER,
            false,
            &PrintableStringRef::new(&number)?,
        )?);
        if let Some(code) = id.profession_code {
            extensions.push(extension(oid::CPS_PROFESSION, false, &code)?);
        }

        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::from(serial),
            signature: sha256_with_rsa(),
            issuer: self.issuing_name.clone(),
            validity: Validity {
                not_before: time(not_before)?,
                not_after: time(not_after)?,
            },
            subject: card_subject(id)?,
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        sign_certificate(&self.signer, tbs)
    }

    /// Issues a DER CRL (v2) signed by the issuing CA, revoking the given card certificate
    /// serials at the given dates. It carries an authority key identifier and a CRL number
    /// (the Unix time of `this_update`, so later CRLs have larger numbers). An empty list
    /// gives a CRL without revoked certificates. Deterministic.
    pub fn issue_crl(
        &self,
        revoked: &[(u64, SystemTime)],
        this_update: SystemTime,
        next_update: SystemTime,
    ) -> Result<Vec<u8>, PkiError> {
        if next_update < this_update {
            return Err(PkiError::InvalidValidity);
        }
        let entries = revoked
            .iter()
            .map(|&(serial, date)| {
                Ok(RevokedCert {
                    serial_number: SerialNumber::from(serial),
                    revocation_date: time(date)?,
                    crl_entry_extensions: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let crl_number = this_update
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let tbs = TbsCertList {
            version: Version::V2,
            signature: sha256_with_rsa(),
            issuer: self.issuing_name.clone(),
            this_update: time(this_update)?,
            next_update: Some(time(next_update)?),
            revoked_certificates: if entries.is_empty() {
                None
            } else {
                Some(entries)
            },
            crl_extensions: Some(vec![
                authority_key_id(&self.issuing_key_id)?,
                extension(oid::CRL_NUMBER, false, &crl_number)?,
            ]),
        };
        let signature = sign(&self.signer, &tbs.to_der()?)?;
        let crl = CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: sha256_with_rsa(),
            signature,
        };
        Ok(crl.to_der()?)
    }
}

/// One generated fixture file: its name in `fixtures/pki/` and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureFile {
    /// File name (see [`fixture`]).
    pub name: String,
    /// DER content.
    pub der: Vec<u8>,
}

/// Generates the whole test PKI from `seed`: root and issuing CA keys and certificates,
/// then the pool of [`CARD_KEY_COUNT`] card keys. Slow (RSA key generation, seconds in a
/// release build): for the `cps-sim-pki` generator, never for tests.
///
/// Each key comes from its own RNG, seeded with SHA-256 of the seed and the file name, so
/// the output depends only on `seed` (and on the locked versions of `rand` and `rsa`).
pub fn generate_fixtures(seed: u64) -> Result<Vec<FixtureFile>, PkiError> {
    let root_key = generate_key(seed, fixture::ROOT_KEY, 3072)?;
    let issuing_key = generate_key(seed, fixture::ISSUING_KEY, 2048)?;
    let root_signer = SigningKey::<Sha256>::new(root_key.clone());

    let root_name = ca_name(ROOT_CA_NAME)?;
    let issuing_name = ca_name(ISSUING_CA_NAME)?;
    let root_spki = SubjectPublicKeyInfoOwned::from_key(root_key.to_public_key())?;
    let issuing_spki = SubjectPublicKeyInfoOwned::from_key(issuing_key.to_public_key())?;
    let root_ski = SubjectKeyIdentifier::try_from(root_spki.owned_to_ref())?;
    let issuing_ski = SubjectKeyIdentifier::try_from(issuing_spki.owned_to_ref())?;
    let ca_validity = |last_day: u8| -> Result<Validity, PkiError> {
        Ok(Validity {
            not_before: UtcTime::from_date_time(DateTime::new(2013, 6, 25, 0, 0, 0)?)?.into(),
            not_after: UtcTime::from_date_time(DateTime::new(2043, 6, last_day, 0, 0, 0)?)?.into(),
        })
    };
    let ca_key_usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);

    let root_tbs = TbsCertificate {
        version: Version::V3,
        serial_number: ca_serial(seed, fixture::ROOT_CERT)?,
        signature: sha256_with_rsa(),
        issuer: root_name.clone(),
        validity: ca_validity(25)?,
        subject: root_name.clone(),
        subject_public_key_info: root_spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(vec![
            extension(
                oid::BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
            )?,
            extension(oid::KEY_USAGE, true, &ca_key_usage)?,
            policies(oid::ANY_POLICY, TEST_POLICY_URI)?,
            extension(oid::SUBJECT_KEY_IDENTIFIER, false, &root_ski)?,
            authority_key_id(&root_ski.0)?,
        ]),
    };
    let root_ldap = format!(
        "ldap://annuaire-igc.esante.gouv.fr/CN={},OU=IGC-SANTE%20TEST,OU=0002%20187512751,\
         O=ASIP-SANTE,C=FR?certificaterevocationlist;binary?base?objectclass=pkiCa",
        ROOT_CA_NAME.replace(' ', "%20")
    );
    let issuing_tbs = TbsCertificate {
        version: Version::V3,
        serial_number: ca_serial(seed, fixture::ISSUING_CERT)?,
        signature: sha256_with_rsa(),
        issuer: root_name,
        validity: ca_validity(24)?,
        subject: issuing_name,
        subject_public_key_info: issuing_spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(vec![
            extension(
                oid::BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?,
            extension(oid::KEY_USAGE, true, &ca_key_usage)?,
            policies(oid::ANY_POLICY, TEST_POLICY_URI)?,
            crl_distribution_points(&[ROOT_CRL_URL, &root_ldap])?,
            extension(oid::SUBJECT_KEY_IDENTIFIER, false, &issuing_ski)?,
            authority_key_id(&root_ski.0)?,
        ]),
    };

    let mut files = vec![
        FixtureFile {
            name: fixture::ROOT_CERT.into(),
            der: sign_certificate(&root_signer, root_tbs)?,
        },
        FixtureFile {
            name: fixture::ROOT_KEY.into(),
            der: pkcs8(&root_key)?,
        },
        FixtureFile {
            name: fixture::ISSUING_CERT.into(),
            der: sign_certificate(&root_signer, issuing_tbs)?,
        },
        FixtureFile {
            name: fixture::ISSUING_KEY.into(),
            der: pkcs8(&issuing_key)?,
        },
    ];
    for index in 0..CARD_KEY_COUNT {
        let name = fixture::card_key(index);
        let key = generate_key(seed, &name, 2048)?;
        files.push(FixtureFile {
            der: pkcs8(&key)?,
            name,
        });
    }
    Ok(files)
}

fn validate(id: &CardIdentity) -> Result<(), PkiError> {
    let invalid = |field, reason| Err(PkiError::InvalidIdentity { field, reason });
    if id.card_number.len() != 10 || !id.card_number.bytes().all(|b| b.is_ascii_digit()) {
        return invalid("card_number", "must be 10 digits");
    }
    for (field, value) in [
        ("national_id", &id.national_id),
        ("given_name", &id.given_name),
        ("surname", &id.surname),
        ("profession_label", &id.profession_label),
    ] {
        if value.is_empty() {
            return invalid(field, "must not be empty");
        }
    }
    if let Some(structure) = &id.structure {
        if structure.id.is_empty() {
            return invalid("structure.id", "must not be empty");
        }
        if structure.name.is_empty() {
            return invalid("structure.name", "must not be empty");
        }
    }
    Ok(())
}

fn card_subject(id: &CardIdentity) -> Result<Name, PkiError> {
    let mut rdns = vec![single_rdn(oid::COUNTRY, printable("FR")?)?];
    if let Some(structure) = &id.structure {
        rdns.push(single_rdn(oid::ORGANIZATION, utf8(&structure.name)?)?);
        rdns.push(single_rdn(oid::ORGANIZATIONAL_UNIT, utf8(&structure.id)?)?);
    }
    rdns.push(single_rdn(oid::TITLE, utf8(&id.profession_label)?)?);
    let person = SetOfVec::try_from(vec![
        atv(oid::GIVEN_NAME, utf8(&id.given_name)?),
        atv(oid::COMMON_NAME, utf8(&id.national_id)?),
        atv(oid::SURNAME, utf8(&id.surname)?),
    ])?;
    rdns.push(RelativeDistinguishedName(person));
    Ok(RdnSequence(rdns))
}

fn ca_name(common_name: &str) -> Result<Name, PkiError> {
    Ok(RdnSequence(vec![
        single_rdn(oid::COUNTRY, printable("FR")?)?,
        single_rdn(oid::ORGANIZATION, utf8("ASIP-SANTE")?)?,
        single_rdn(oid::ORGANIZATIONAL_UNIT, utf8("0002 187512751")?)?,
        single_rdn(oid::ORGANIZATIONAL_UNIT, utf8("IGC-SANTE TEST")?)?,
        single_rdn(oid::COMMON_NAME, utf8(common_name)?)?,
    ]))
}

fn atv(oid: ObjectIdentifier, value: Any) -> AttributeTypeAndValue {
    AttributeTypeAndValue { oid, value }
}

fn single_rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, PkiError> {
    Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![atv(
        oid, value,
    )])?))
}

fn utf8(value: &str) -> Result<Any, PkiError> {
    Ok(Any::new(Tag::Utf8String, value.as_bytes())?)
}

fn printable(value: &str) -> Result<Any, PkiError> {
    Ok(Any::encode_from(&PrintableStringRef::new(value)?)?)
}

fn extension<T: Encode>(
    extn_id: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn policies(policy: ObjectIdentifier, cps_uri: &str) -> Result<Extension, PkiError> {
    let qualifier = PolicyQualifierInfo {
        policy_qualifier_id: oid::QUALIFIER_CPS,
        qualifier: Some(Any::encode_from(&Ia5String::new(cps_uri)?)?),
    };
    let policies = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: policy,
        policy_qualifiers: Some(vec![qualifier]),
    }]);
    extension(oid::CERTIFICATE_POLICIES, false, &policies)
}

/// One distribution point per URI, as the production certificates have them.
fn crl_distribution_points(uris: &[&str]) -> Result<Extension, PkiError> {
    let points = uris
        .iter()
        .map(|uri| {
            Ok(DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?),
                ])),
                reasons: None,
                crl_issuer: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    extension(
        oid::CRL_DISTRIBUTION_POINTS,
        false,
        &CrlDistributionPoints(points),
    )
}

fn authority_key_id(key_id: &OctetString) -> Result<Extension, PkiError> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(key_id.clone()),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    extension(oid::AUTHORITY_KEY_IDENTIFIER, false, &aki)
}

fn sha256_with_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256_WITH_RSA,
        parameters: Some(Any::null()),
    }
}

/// RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
fn time(at: SystemTime) -> Result<Time, PkiError> {
    let date = DateTime::from_system_time(at).map_err(PkiError::Time)?;
    if date.year() < 2050 {
        Ok(UtcTime::from_date_time(date)
            .map_err(PkiError::Time)?
            .into())
    } else {
        Ok(GeneralizedTime::from_date_time(date).into())
    }
}

fn sign(signer: &SigningKey<Sha256>, tbs_der: &[u8]) -> Result<BitString, PkiError> {
    let signature = signer.try_sign(tbs_der)?;
    Ok(BitString::from_bytes(&signature.to_bytes())?)
}

fn sign_certificate(signer: &SigningKey<Sha256>, tbs: TbsCertificate) -> Result<Vec<u8>, PkiError> {
    let signature = sign(signer, &tbs.to_der()?)?;
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sha256_with_rsa(),
        signature,
    };
    Ok(certificate.to_der()?)
}

fn labelled_seed(seed: u64, label: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"cps-sim test PKI\0");
    hash.update(seed.to_be_bytes());
    hash.update(label.as_bytes());
    hash.finalize().into()
}

fn generate_key(seed: u64, label: &str, bits: usize) -> Result<RsaPrivateKey, PkiError> {
    let mut rng = StdRng::from_seed(labelled_seed(seed, label));
    RsaPrivateKey::new(&mut rng, bits).map_err(PkiError::KeyGeneration)
}

/// 18 bytes like the production CA serials, the first one `0x11` (positive, no padding).
fn ca_serial(seed: u64, label: &str) -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 18];
    bytes[0] = 0x11;
    bytes[1..].copy_from_slice(&labelled_seed(seed, label)[..17]);
    Ok(SerialNumber::new(&bytes)?)
}

fn pkcs8(key: &RsaPrivateKey) -> Result<Vec<u8>, PkiError> {
    let document = key.to_pkcs8_der().map_err(PkiError::KeyEncoding)?;
    Ok(document.as_bytes().to_vec())
}
