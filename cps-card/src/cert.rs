//! X.509 certificates of the card and the IGC-Santé PKI, and the holder's identity they
//! carry (reference section 6).
//!
//! A [`Certificate`] owns its DER and is parsed once, with x509-parser, into owned values;
//! [`Certificate::holder`] reads the card profile (subject `GN+CN+SN`, the agency's private
//! extensions under `1.2.250.1.71.1.2`) into a [`Holder`].
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), cps_card::cert::CertError> {
//! use cps_card::cert::Certificate;
//! let cert = Certificate::from_file_bytes(bytes)?;
//! println!("{} ({})", cert.subject(), cert.sha256_fingerprint());
//! if let Ok(holder) = cert.holder() {
//!     println!("{}", holder.summary_en());
//! }
//! # Ok(()) }
//! ```

mod holder;
mod name;
mod pem;
mod time;

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

pub use holder::{
    AGENCY_ISSUER_NUMBER, CardType, Category, Holder, IdKind, OID_CPS_ARC, OID_CPS_CARD_NUMBER,
    OID_CPS_CARD_TYPE, OID_CPS_CATEGORY, OID_CPS_PROFESSION, OID_CPS_RESPONSIBILITY, StructureKind,
    profession_name,
};
pub use name::{
    Attribute, DistinguishedName, OID_COMMON_NAME, OID_COUNTRY, OID_GIVEN_NAME, OID_ORGANIZATION,
    OID_ORGANIZATIONAL_UNIT, OID_STATE, OID_SURNAME, OID_TITLE, short_name,
};

/// Microsoft's User Principal Name, the SAN otherName of authentication certificates.
pub const OID_UPN: &str = "1.3.6.1.4.1.311.20.2.3";
/// Microsoft smart-card logon extended key usage.
pub const OID_SMART_CARD_LOGON: &str = "1.3.6.1.4.1.311.20.2.2";
const OID_AIA_CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";
const OID_AIA_OCSP: &str = "1.3.6.1.5.5.7.48.1";

/// What can go wrong reading a certificate or its holder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The bytes are neither PEM text nor a DER SEQUENCE.
    #[error("not a certificate: neither PEM text nor DER")]
    NotPemOrDer,
    /// PEM text with no `CERTIFICATE` block.
    #[error("no CERTIFICATE block in the PEM text{}", found_labels(.other_labels))]
    NoPemCertificate {
        /// Labels of the other blocks found (`PRIVATE KEY`, `X509 CRL`, …).
        other_labels: Vec<String>,
    },
    /// A PEM block is not well formed.
    #[error("PEM block {block}: {reason}")]
    BadPem {
        /// 1-based index of the block in the text.
        block: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A PEM certificate block is not valid base64.
    #[error("PEM block {block}: bad base64")]
    Base64 {
        /// 1-based index of the block in the text.
        block: usize,
        /// The decoder's error.
        #[source]
        source: data_encoding::DecodeError,
    },
    /// x509-parser rejected the DER.
    #[error("not a valid X.509 certificate")]
    Parse {
        /// The parser's error (truncated input shows as a BER `Incomplete` error).
        #[source]
        source: X509Error,
    },
    /// Bytes follow the certificate's DER.
    #[error("{len} bytes of trailing data after the certificate")]
    TrailingData {
        /// How many bytes.
        len: usize,
    },
    /// The certificate is not a CPx card certificate (a CA, a server certificate, …).
    #[error("not a card certificate: {subject}: {reason}")]
    NotCardCertificate {
        /// The certificate's subject.
        subject: String,
        /// Why it is not one.
        reason: &'static str,
    },
    /// The card certificate's subject lacks a required attribute.
    #[error("card certificate without {attribute} in its subject")]
    MissingAttribute {
        /// The attribute, e.g. `SN (surname)`.
        attribute: &'static str,
    },
    /// A private extension of the agency has a value that does not follow the profile.
    #[error("extension {oid} ({what}): {detail}")]
    BadExtension {
        /// Dotted OID of the extension.
        oid: &'static str,
        /// What the extension carries.
        what: &'static str,
        /// What is wrong with the value.
        detail: String,
        /// The DER decoder's error, when there is one.
        #[source]
        source: Option<der::Error>,
    },
}

fn found_labels(labels: &[String]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!(" (found {})", labels.join(", "))
    }
}

/// Key usages (RFC 5280 4.2.1.3) as named flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyUsage {
    /// `digitalSignature`: authentication certificates.
    pub digital_signature: bool,
    /// `nonRepudiation` (contentCommitment): signature certificates.
    pub non_repudiation: bool,
    /// `keyEncipherment`.
    pub key_encipherment: bool,
    /// `dataEncipherment`.
    pub data_encipherment: bool,
    /// `keyAgreement`.
    pub key_agreement: bool,
    /// `keyCertSign`: CAs.
    pub key_cert_sign: bool,
    /// `cRLSign`: CAs.
    pub crl_sign: bool,
    /// `encipherOnly`.
    pub encipher_only: bool,
    /// `decipherOnly`.
    pub decipher_only: bool,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

impl KeyUsage {
    /// The RFC 5280 names of the usages set, in bit order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.digital_signature, "digitalSignature"),
            (self.non_repudiation, "nonRepudiation"),
            (self.key_encipherment, "keyEncipherment"),
            (self.data_encipherment, "dataEncipherment"),
            (self.key_agreement, "keyAgreement"),
            (self.key_cert_sign, "keyCertSign"),
            (self.crl_sign, "cRLSign"),
            (self.encipher_only, "encipherOnly"),
            (self.decipher_only, "decipherOnly"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

/// Serialised as the list of names.
impl Serialize for KeyUsage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

/// One extended key usage. Serialised as its name (or dotted OID).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExtKeyUsage {
    /// `serverAuth`.
    ServerAuth,
    /// `clientAuth`: authentication certificates.
    ClientAuth,
    /// `codeSigning`.
    CodeSigning,
    /// `emailProtection`.
    EmailProtection,
    /// `timeStamping`.
    TimeStamping,
    /// `OCSPSigning`.
    OcspSigning,
    /// `anyExtendedKeyUsage`.
    Any,
    /// Microsoft smart-card logon (`msSmartcardLogin`, 1.3.6.1.4.1.311.20.2.2).
    SmartCardLogon,
    /// Any other purpose, as a dotted OID.
    Other(String),
}

impl ExtKeyUsage {
    /// The usual name (OpenSSL's short names), or the dotted OID.
    pub fn name(&self) -> &str {
        match self {
            ExtKeyUsage::ServerAuth => "serverAuth",
            ExtKeyUsage::ClientAuth => "clientAuth",
            ExtKeyUsage::CodeSigning => "codeSigning",
            ExtKeyUsage::EmailProtection => "emailProtection",
            ExtKeyUsage::TimeStamping => "timeStamping",
            ExtKeyUsage::OcspSigning => "OCSPSigning",
            ExtKeyUsage::Any => "anyExtendedKeyUsage",
            ExtKeyUsage::SmartCardLogon => "msSmartcardLogin",
            ExtKeyUsage::Other(oid) => oid,
        }
    }
}

impl fmt::Display for ExtKeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ExtKeyUsage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What a card certificate is for, guessed from its usages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertRole {
    /// Client authentication: digitalSignature without nonRepudiation, or clientAuth.
    Authentication,
    /// Qualified-style signature: nonRepudiation.
    Signature,
    /// Some other end-entity usage (key encipherment, key agreement, …).
    Technical,
    /// No usable hint, or a CA certificate.
    Unknown,
}

/// Where a point in time stands relative to a certificate's validity period (bounds
/// included, as RFC 5280 says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Before `notBefore`: often a wrong system clock.
    NotYetValid,
    /// Within the period.
    Valid {
        /// Time left until `notAfter`.
        expires_in: Duration,
    },
    /// After `notAfter`.
    Expired {
        /// Time elapsed since `notAfter`.
        since: Duration,
    },
}

/// An extension as encoded: OID, criticality and the DER of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Dotted OID.
    pub oid: String,
    /// The critical flag.
    pub critical: bool,
    /// DER of the extension value (the content of the extnValue OCTET STRING).
    pub value: Vec<u8>,
}

/// A serialisable view of a certificate's profile, for `--json` outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertProfile {
    /// Subject, as [`Certificate::subject`].
    pub subject: String,
    /// Issuer, as [`Certificate::issuer`].
    pub issuer: String,
    /// Serial number, uppercase hex.
    pub serial: String,
    /// `notBefore`, RFC 3339.
    pub not_before: String,
    /// `notAfter`, RFC 3339.
    pub not_after: String,
    /// SHA-256 of the DER, uppercase hex without separators.
    pub sha256: String,
    /// Signature algorithm name (or dotted OID).
    pub signature_algorithm: String,
    /// Public key algorithm name (or dotted OID).
    pub key_algorithm: String,
    /// Public key size in bits, when known.
    pub key_bits: Option<usize>,
    /// Key usage names, when the extension is present.
    pub key_usage: Option<KeyUsage>,
    /// Extended key usages, when the extension is present.
    pub extended_key_usage: Option<Vec<ExtKeyUsage>>,
    /// Whether this is a CA certificate.
    pub is_ca: bool,
    /// The guessed role.
    pub role: CertRole,
    /// Whether the issuer is in the IGC-Santé test hierarchy.
    pub test_hierarchy: bool,
    /// The UPN, when present.
    pub upn: Option<String>,
    /// CRL distribution point URLs.
    pub crl_urls: Vec<String>,
    /// AIA caIssuers URLs.
    pub ca_issuer_urls: Vec<String>,
    /// AIA OCSP URLs.
    pub ocsp_urls: Vec<String>,
    /// Certificate policy OIDs.
    pub policies: Vec<String>,
}

/// A parsed X.509 certificate that owns its DER.
///
/// Everything is extracted at construction, so accessors cannot fail and the type is
/// `'static`; [`Certificate::x509`] re-parses for anything not exposed here.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Vec<u8>,
    signature_algorithm: String,
    signature: Vec<u8>,
    serial: Vec<u8>,
    subject: DistinguishedName,
    issuer: DistinguishedName,
    not_before: i64,
    not_after: i64,
    spki: Vec<u8>,
    key_algorithm: String,
    key_bits: Option<usize>,
    rsa_modulus_bits: Option<usize>,
    extensions: Vec<Extension>,
    key_usage: Option<KeyUsage>,
    extended_key_usage: Option<Vec<ExtKeyUsage>>,
    is_ca: bool,
    crl_urls: Vec<String>,
    ca_issuer_urls: Vec<String>,
    ocsp_urls: Vec<String>,
    policies: Vec<String>,
    upn: Option<String>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial_hex())
            .field("not_after", &self.not_after_rfc3339())
            .field("sha256", &self.sha256_fingerprint())
            .finish_non_exhaustive()
    }
}

/// Two certificates are equal when their DER is.
impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl Certificate {
    /// Parses one DER certificate; trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        let (rest, x509) = X509Certificate::from_der(der).map_err(|e| CertError::Parse {
            source: X509Error::from(e),
        })?;
        if !rest.is_empty() {
            return Err(CertError::TrailingData { len: rest.len() });
        }
        Ok(Certificate::extract(der, &x509))
    }

    /// Parses the first certificate of PEM text.
    pub fn from_pem(text: &str) -> Result<Certificate, CertError> {
        let ders = pem::certificate_ders(text)?;
        match ders.first() {
            Some(der) => Certificate::from_der(der),
            None => Err(CertError::NoPemCertificate {
                other_labels: Vec::new(),
            }),
        }
    }

    /// Parses every `CERTIFICATE` block of PEM text (a chain, a bundle), in order. Other
    /// blocks are skipped; no certificate block at all is an error.
    pub fn from_pem_all(text: &str) -> Result<Vec<Certificate>, CertError> {
        pem::certificate_ders(text)?
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect()
    }

    /// Parses a certificate file's contents, PEM or DER (the first certificate of a PEM
    /// bundle).
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Certificate, CertError> {
        let mut all = Certificate::from_file_bytes_all(bytes)?;
        // from_file_bytes_all never returns an empty list.
        if all.is_empty() {
            return Err(CertError::NotPemOrDer);
        }
        Ok(all.swap_remove(0))
    }

    /// Parses every certificate of a file's contents: all blocks of PEM text, or the one DER
    /// certificate.
    pub fn from_file_bytes_all(bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
        if pem::looks_like_pem(bytes) {
            // Only the base64 needs to be ASCII; comments around it may be in any charset.
            return Certificate::from_pem_all(&String::from_utf8_lossy(bytes));
        }
        if bytes.first() == Some(&0x30) {
            return Certificate::from_der(bytes).map(|c| vec![c]);
        }
        Err(CertError::NotPemOrDer)
    }

    /// Re-parses the DER with x509-parser, for anything not exposed here (signature
    /// verification with its `verify` feature, raw extensions).
    pub fn x509(&self) -> Result<X509Certificate<'_>, CertError> {
        X509Certificate::from_der(&self.der)
            .map(|(_, x509)| x509)
            .map_err(|e| CertError::Parse {
                source: X509Error::from(e),
            })
    }

    fn extract(der: &[u8], x509: &X509Certificate<'_>) -> Certificate {
        let tbs = &x509.tbs_certificate;
        let spki = &tbs.subject_pki;
        let (key_bits, rsa_modulus_bits) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let bits = bit_length(rsa.modulus);
                (Some(bits), Some(bits))
            }
            Ok(key) => (Some(key.key_size()).filter(|&b| b > 0), None),
            Err(_) => (None, None),
        };
        let mut cert = Certificate {
            der: der.to_vec(),
            tbs: tbs.as_ref().to_vec(),
            signature_algorithm: oid_name(&x509.signature_algorithm.algorithm),
            signature: x509.signature_value.data.to_vec(),
            serial: tbs.raw_serial().to_vec(),
            subject: DistinguishedName::from_x509(tbs.subject()),
            issuer: DistinguishedName::from_x509(tbs.issuer()),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            spki: spki.raw.to_vec(),
            key_algorithm: oid_name(&spki.algorithm.algorithm),
            key_bits,
            rsa_modulus_bits,
            extensions: Vec::new(),
            key_usage: None,
            extended_key_usage: None,
            is_ca: false,
            crl_urls: Vec::new(),
            ca_issuer_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            policies: Vec::new(),
            upn: None,
        };
        for ext in tbs.extensions() {
            cert.extensions.push(Extension {
                oid: ext.oid.to_id_string(),
                critical: ext.critical,
                value: ext.value.to_vec(),
            });
            // A malformed standard extension (ParseError) leaves its accessor empty; the
            // raw value stays in `extensions()` for whoever wants to report it.
            match ext.parsed_extension() {
                ParsedExtension::KeyUsage(ku) if cert.key_usage.is_none() => {
                    cert.key_usage = Some(KeyUsage {
                        digital_signature: ku.digital_signature(),
                        non_repudiation: ku.non_repudiation(),
                        key_encipherment: ku.key_encipherment(),
                        data_encipherment: ku.data_encipherment(),
                        key_agreement: ku.key_agreement(),
                        key_cert_sign: ku.key_cert_sign(),
                        crl_sign: ku.crl_sign(),
                        encipher_only: ku.encipher_only(),
                        decipher_only: ku.decipher_only(),
                        critical: ext.critical,
                    });
                }
                ParsedExtension::ExtendedKeyUsage(eku) if cert.extended_key_usage.is_none() => {
                    let mut list = Vec::new();
                    for (set, usage) in [
                        (eku.any, ExtKeyUsage::Any),
                        (eku.server_auth, ExtKeyUsage::ServerAuth),
                        (eku.client_auth, ExtKeyUsage::ClientAuth),
                        (eku.code_signing, ExtKeyUsage::CodeSigning),
                        (eku.email_protection, ExtKeyUsage::EmailProtection),
                        (eku.time_stamping, ExtKeyUsage::TimeStamping),
                        (eku.ocsp_signing, ExtKeyUsage::OcspSigning),
                    ] {
                        if set {
                            list.push(usage);
                        }
                    }
                    for oid in &eku.other {
                        let oid = oid.to_id_string();
                        list.push(if oid == OID_SMART_CARD_LOGON {
                            ExtKeyUsage::SmartCardLogon
                        } else {
                            ExtKeyUsage::Other(oid)
                        });
                    }
                    cert.extended_key_usage = Some(list);
                }
                ParsedExtension::BasicConstraints(bc) => cert.is_ca |= bc.ca,
                ParsedExtension::CRLDistributionPoints(points) => {
                    for point in points.iter() {
                        if let Some(DistributionPointName::FullName(names)) =
                            &point.distribution_point
                        {
                            cert.crl_urls.extend(uris(names));
                        }
                    }
                }
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for desc in &aia.accessdescs {
                        let method = desc.access_method.to_id_string();
                        let target = match method.as_str() {
                            OID_AIA_CA_ISSUERS => &mut cert.ca_issuer_urls,
                            OID_AIA_OCSP => &mut cert.ocsp_urls,
                            _ => continue,
                        };
                        target.extend(uris(std::slice::from_ref(&desc.access_location)));
                    }
                }
                ParsedExtension::CertificatePolicies(policies) => {
                    cert.policies
                        .extend(policies.iter().map(|p| p.policy_id.to_id_string()));
                }
                ParsedExtension::SubjectAlternativeName(san) if cert.upn.is_none() => {
                    cert.upn = san.general_names.iter().find_map(|name| match name {
                        GeneralName::OtherName(oid, value) if oid.to_id_string() == OID_UPN => {
                            decode_upn(value)
                        }
                        _ => None,
                    });
                }
                _ => {}
            }
        }
        cert
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as PEM: one `CERTIFICATE` block, 64-column base64, `\n` line ends.
    pub fn to_pem(&self) -> String {
        pem::encode(&self.der)
    }

    /// DER of the TBSCertificate (what the issuer signed).
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    /// The signature value's bytes.
    pub fn signature_value(&self) -> &[u8] {
        &self.signature
    }

    /// Name of the signature algorithm (`sha256WithRSAEncryption`), or its dotted OID.
    pub fn signature_algorithm(&self) -> &str {
        &self.signature_algorithm
    }

    /// The subject as structured attributes.
    pub fn subject_name(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The issuer as structured attributes.
    pub fn issuer_name(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// The subject as text, in encoded order: `C=FR, title=Médecin, GN=…+CN=…+SN=…`.
    pub fn subject(&self) -> String {
        self.subject.to_string()
    }

    /// The issuer as text, in encoded order.
    pub fn issuer(&self) -> String {
        self.issuer.to_string()
    }

    /// The serial number as uppercase hex of its DER content bytes (a leading `00` kept
    /// when the encoding has one, as most tools show it).
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(&self.serial)
    }

    /// `notBefore`.
    pub fn not_before(&self) -> SystemTime {
        time::system_time(self.not_before)
    }

    /// `notAfter`.
    pub fn not_after(&self) -> SystemTime {
        time::system_time(self.not_after)
    }

    /// `notBefore` as RFC 3339 (`2013-06-25T00:00:00Z`).
    pub fn not_before_rfc3339(&self) -> String {
        time::rfc3339(self.not_before)
    }

    /// `notAfter` as RFC 3339.
    pub fn not_after_rfc3339(&self) -> String {
        time::rfc3339(self.not_after)
    }

    /// Where `at` stands relative to the validity period.
    pub fn validity_at(&self, at: SystemTime) -> Validity {
        let (start, end) = (self.not_before(), self.not_after());
        if at < start {
            Validity::NotYetValid
        } else if let Ok(since) = at.duration_since(end) {
            if since.is_zero() {
                Validity::Valid {
                    expires_in: Duration::ZERO,
                }
            } else {
                Validity::Expired { since }
            }
        } else {
            Validity::Valid {
                expires_in: end.duration_since(at).unwrap_or_default(),
            }
        }
    }

    /// [`Certificate::validity_at`] the system clock's now.
    pub fn validity_now(&self) -> Validity {
        self.validity_at(SystemTime::now())
    }

    /// Key usages, if the extension is present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// Extended key usages, if the extension is present.
    pub fn extended_key_usage(&self) -> Option<&[ExtKeyUsage]> {
        self.extended_key_usage.as_deref()
    }

    /// SHA-256 of the DER.
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }

    /// SHA-256 of the DER as uppercase hex without separators (the reference's tables).
    pub fn sha256_fingerprint(&self) -> String {
        fingerprint_hex(&self.sha256(), None)
    }

    /// DER of the SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// Name of the public key algorithm (`rsaEncryption`, `id-ecPublicKey`) or dotted OID.
    pub fn key_algorithm(&self) -> &str {
        &self.key_algorithm
    }

    /// Public key size in bits (RSA modulus, EC field), when known.
    pub fn key_bits(&self) -> Option<usize> {
        self.key_bits
    }

    /// RSA modulus size in bits; `None` for other key types.
    pub fn rsa_modulus_bits(&self) -> Option<usize> {
        self.rsa_modulus_bits
    }

    /// Whether basicConstraints says cA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Every extension as encoded.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The value of the extension with this dotted OID (the first, if repeated).
    pub fn extension_value(&self, oid: &str) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|e| e.oid == oid)
            .map(|e| e.value.as_slice())
    }

    /// A private extension that must appear at most once.
    fn cps_extension(&self, oid: &'static str) -> Result<Option<&[u8]>, CertError> {
        let mut found = self.extensions.iter().filter(|e| e.oid == oid);
        let first = found.next();
        if found.next().is_some() {
            return Err(CertError::BadExtension {
                oid,
                what: "private extension",
                detail: "present more than once".into(),
                source: None,
            });
        }
        Ok(first.map(|e| e.value.as_slice()))
    }

    /// CRL distribution point URLs (full names that are URIs: `http://` and, on the CAs,
    /// `ldap://` ones, in certificate order).
    pub fn crl_urls(&self) -> &[String] {
        &self.crl_urls
    }

    /// Authority Information Access caIssuers URLs.
    pub fn ca_issuer_urls(&self) -> &[String] {
        &self.ca_issuer_urls
    }

    /// Authority Information Access OCSP URLs.
    pub fn ocsp_urls(&self) -> &[String] {
        &self.ocsp_urls
    }

    /// Certificate policy OIDs (IGC-Santé ones under `1.2.250.1.213.1.7`).
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// The User Principal Name from the SAN (`<idNat>@carte-cps.fr` on authentication
    /// certificates).
    pub fn upn(&self) -> Option<&str> {
        self.upn.as_deref()
    }

    /// Whether the issuer belongs to the IGC-Santé test hierarchy (`OU=IGC-SANTE TEST`, or
    /// a CN starting `TEST AC`).
    pub fn is_test_hierarchy(&self) -> bool {
        self.issuer
            .all(OID_ORGANIZATIONAL_UNIT)
            .any(|ou| ou.trim().eq_ignore_ascii_case("IGC-SANTE TEST"))
            || self.issuer.all(OID_COMMON_NAME).any(|cn| {
                cn.trim_start()
                    .get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case("TEST AC "))
            })
    }

    /// What the certificate is for, guessed from key usage and extended key usage.
    pub fn role(&self) -> CertRole {
        if self.is_ca {
            return CertRole::Unknown;
        }
        let client_auth = self
            .extended_key_usage
            .as_ref()
            .is_some_and(|list| list.contains(&ExtKeyUsage::ClientAuth));
        match self.key_usage {
            Some(ku) if ku.non_repudiation => CertRole::Signature,
            Some(ku) if ku.digital_signature => CertRole::Authentication,
            _ if client_auth => CertRole::Authentication,
            Some(ku) if ku.names().is_empty() => CertRole::Unknown,
            Some(_) => CertRole::Technical,
            None => CertRole::Unknown,
        }
    }

    /// The holder named by a card certificate.
    pub fn holder(&self) -> Result<Holder, CertError> {
        holder::holder_of(self)
    }

    /// A serialisable summary of the certificate.
    pub fn profile(&self) -> CertProfile {
        CertProfile {
            subject: self.subject(),
            issuer: self.issuer(),
            serial: self.serial_hex(),
            not_before: self.not_before_rfc3339(),
            not_after: self.not_after_rfc3339(),
            sha256: self.sha256_fingerprint(),
            signature_algorithm: self.signature_algorithm.clone(),
            key_algorithm: self.key_algorithm.clone(),
            key_bits: self.key_bits,
            key_usage: self.key_usage,
            extended_key_usage: self.extended_key_usage.clone(),
            is_ca: self.is_ca,
            role: self.role(),
            test_hierarchy: self.is_test_hierarchy(),
            upn: self.upn.clone(),
            crl_urls: self.crl_urls.clone(),
            ca_issuer_urls: self.ca_issuer_urls.clone(),
            ocsp_urls: self.ocsp_urls.clone(),
            policies: self.policies.clone(),
        }
    }
}

/// Uppercase hex of a digest, bytes separated by `separator` if given
/// (`fingerprint_hex(&d, Some(':'))` → `2D:9E:…`).
pub fn fingerprint_hex(digest: &[u8], separator: Option<char>) -> String {
    let hex = hex::encode_upper(digest);
    match separator {
        None => hex,
        Some(sep) => {
            let mut out = String::with_capacity(hex.len() * 3 / 2);
            for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
                if i > 0 {
                    out.push(sep);
                }
                out.extend(pair.iter().map(|&b| char::from(b)));
            }
            out
        }
    }
}

fn oid_name(oid: &x509_parser::der_parser::Oid<'_>) -> String {
    oid2sn(oid, oid_registry())
        .map(str::to_owned)
        .unwrap_or_else(|_| oid.to_id_string())
}

fn uris<'a>(names: &'a [GeneralName<'_>]) -> impl Iterator<Item = String> + 'a {
    names.iter().filter_map(|name| match name {
        GeneralName::URI(uri) => Some((*uri).to_owned()),
        _ => None,
    })
}

/// Bit length of a big-endian unsigned integer (leading zero bytes and bits ignored).
fn bit_length(bytes: &[u8]) -> usize {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    match bytes.get(skip) {
        Some(&top) => (bytes.len() - skip) * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

/// The UPN otherName value: `[0] EXPLICIT UTF8String`.
fn decode_upn(value: &[u8]) -> Option<String> {
    use der::{Decode, asn1::ContextSpecific, asn1::Utf8StringRef};
    let field = ContextSpecific::<Utf8StringRef<'_>>::from_der(value).ok()?;
    (field.tag_number.value() == 0).then(|| field.value.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01, 0xFF]), 9);
    }

    #[test]
    fn fingerprint_formats() {
        assert_eq!(fingerprint_hex(&[0x2D, 0x9E, 0x0A], None), "2D9E0A");
        assert_eq!(fingerprint_hex(&[0x2D, 0x9E, 0x0A], Some(':')), "2D:9E:0A");
        assert_eq!(fingerprint_hex(&[], Some(':')), "");
    }

    #[test]
    fn upn_value() {
        // [0] { UTF8String "a@b" }
        assert_eq!(
            decode_upn(&[0xA0, 0x05, 0x0C, 0x03, b'a', b'@', b'b']).as_deref(),
            Some("a@b")
        );
        assert_eq!(
            decode_upn(&[0xA1, 0x05, 0x0C, 0x03, b'a', b'@', b'b']),
            None
        );
        assert_eq!(decode_upn(&[0xA0, 0x03, 0x0C]), None);
    }

    #[test]
    fn garbage_is_rejected_with_the_right_error() {
        assert!(matches!(
            Certificate::from_file_bytes(b"hello"),
            Err(CertError::NotPemOrDer)
        ));
        assert!(matches!(
            Certificate::from_file_bytes(&[0x30, 0x03, 0x02, 0x01]),
            Err(CertError::Parse { .. })
        ));
        assert!(matches!(
            Certificate::from_file_bytes(&[]),
            Err(CertError::NotPemOrDer)
        ));
    }
}
