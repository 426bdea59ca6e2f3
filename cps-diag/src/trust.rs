//! Trust anchors: the nine IGC-Santé production CAs embedded in the tool (pinned by
//! SHA-256, reference section 6), CA directories (the Cryptolib's `Coffre`,
//! `--ca-dir`) and CAs the caller supplies (the virtual card's test CA); chain building
//! with signature verification; revocation lists.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cps_card::cert::Certificate;
use x509_parser::prelude::{CertificateRevocationList, FromDer};

/// The production CAs: file name, DER, SHA-256 as the reference's table gives it.
pub const PRODUCTION_CAS: [(&str, &[u8], &str); 9] = [
    (
        "ACR_ELEMENTAIRE_20130625.cer",
        include_bytes!("../ca/production/ACR_ELEMENTAIRE_20130625.cer"),
        "2D9E22CA19F777C6B745257C723ECB8DF3C35FA6F1F6EC36B83600C97346967F",
    ),
    (
        "ACR_STANDARD_20130625.cer",
        include_bytes!("../ca/production/ACR_STANDARD_20130625.cer"),
        "5891815E864506C662AFB32F8DE5B8DE38BFFA1AF721780B69E19A0C050386C3",
    ),
    (
        "ACR_FORT_20130625.cer",
        include_bytes!("../ca/production/ACR_FORT_20130625.cer"),
        "53D30A19570826BDE0C0762501F1F1C7A659F976C6C023123DF5239DF34A4EEA",
    ),
    (
        "AC_ELEMENTAIRE_PERSONNES_20130625.cer",
        include_bytes!("../ca/production/AC_ELEMENTAIRE_PERSONNES_20130625.cer"),
        "19C1EAEAB477B6FBC233CDA3B53FBDBC3F4E9BF6CF6973E46F7DFAEF89C06C6C",
    ),
    (
        "AC_ELEMENTAIRE_ORGANISATIONS_20130625.cer",
        include_bytes!("../ca/production/AC_ELEMENTAIRE_ORGANISATIONS_20130625.cer"),
        "D834EE5B40686B73573F60547BF6052C6D404D942A5665CDB2C0B9137B5D27B2",
    ),
    (
        "AC_STANDARD_PERSONNES_20130625.cer",
        include_bytes!("../ca/production/AC_STANDARD_PERSONNES_20130625.cer"),
        "6C339EBCB3E1B0102B143C9694225C2A4AB2EF6FEDF7D364DA8DB305E7F7D997",
    ),
    (
        "AC_STANDARD_ORGANISATIONS_20130625.cer",
        include_bytes!("../ca/production/AC_STANDARD_ORGANISATIONS_20130625.cer"),
        "C0520A2B14FB68836A807BF86AB2B3E07D1B6061D91BC9C7B86A6F8DE4B5638E",
    ),
    (
        "AC_FORT_PERSONNES_20130625.cer",
        include_bytes!("../ca/production/AC_FORT_PERSONNES_20130625.cer"),
        "38284E4F6107456E70C7439C85DA7D564D0FE1FE1A968C9EB6D43E1FC0D63C3A",
    ),
    (
        "AC_FORT_ORGANISATIONS_20130625.cer",
        include_bytes!("../ca/production/AC_FORT_ORGANISATIONS_20130625.cer"),
        "23F69674002D1DD4B018BAECD908DC92687942BB48E5140FF895E2F56BC49C0D",
    ),
];

/// The Cryptolib's CA folder on Linux.
pub const COFFRE_DIR: &str = "/etc/opt/santesocial/CPS/Coffre";

/// Where a trust anchor came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnchorSource {
    /// Embedded in the tool (the production CAs).
    Embedded,
    /// A file of a CA directory.
    File(PathBuf),
    /// Given by the caller, with a label (the virtual card's test CA).
    Supplied(String),
}

impl std::fmt::Display for AnchorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnchorSource::Embedded => f.write_str("embedded"),
            AnchorSource::File(p) => write!(f, "{}", p.display()),
            AnchorSource::Supplied(label) => f.write_str(label),
        }
    }
}

/// A trusted CA certificate.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The certificate.
    pub certificate: Certificate,
    /// Where it came from.
    pub source: AnchorSource,
}

/// The CAs a diagnosis trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Anchor>,
    problems: Vec<String>,
}

/// How a certificate chains to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainOutcome {
    /// Every signature up to a trusted CA verified.
    Trusted {
        /// The CAs' subjects, issuer first.
        path: Vec<String>,
        /// Where the last CA reached came from.
        source: String,
        /// Whether a CA of the path belongs to the IGC-Santé test hierarchy.
        test_hierarchy: bool,
    },
    /// A CA with the issuer's name is trusted but its key did not verify the signature.
    BadSignature {
        /// The certificate whose signature failed.
        subject: String,
        /// Its issuer.
        issuer: String,
    },
    /// No trusted CA has the issuer's name.
    UnknownIssuer {
        /// The issuer missing.
        issuer: String,
    },
}

impl TrustStore {
    /// An empty store.
    pub fn empty() -> TrustStore {
        TrustStore::default()
    }

    /// The nine embedded production CAs, each checked against its pinned SHA-256 (a
    /// mismatch is recorded in [`problems`](Self::problems) and the CA left out).
    pub fn production() -> TrustStore {
        let mut store = TrustStore::default();
        for (name, der, pin) in PRODUCTION_CAS {
            match Certificate::from_der(der) {
                Ok(c) if c.sha256_fingerprint() == pin => store.anchors.push(Anchor {
                    certificate: c,
                    source: AnchorSource::Embedded,
                }),
                Ok(_) => store
                    .problems
                    .push(format!("{name}: SHA-256 does not match its pin")),
                Err(e) => store.problems.push(format!("{name}: {e}")),
            }
        }
        store
    }

    /// Adds a CA.
    pub fn add(&mut self, certificate: Certificate, source: AnchorSource) {
        if !self.anchors.iter().any(|a| a.certificate == certificate) {
            self.anchors.push(Anchor {
                certificate,
                source,
            });
        }
    }

    /// Adds every certificate (DER or PEM) of the files in `dir`; returns how many were
    /// added. Unreadable files are recorded in [`problems`](Self::problems).
    ///
    /// # Errors
    ///
    /// The directory cannot be listed.
    pub fn add_dir(&mut self, dir: &Path) -> std::io::Result<usize> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        let before = self.anchors.len();
        for path in entries {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    self.problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            match Certificate::from_file_bytes_all(&bytes) {
                Ok(certs) => {
                    for c in certs {
                        self.add(c, AnchorSource::File(path.clone()));
                    }
                }
                Err(e) => self.problems.push(format!("{}: {e}", path.display())),
            }
        }
        Ok(self.anchors.len() - before)
    }

    /// The anchors.
    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }

    /// Files that could not be used, and why.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The trusted CA whose key verifies `cert`'s signature, among those named as its
    /// issuer; `Err(true)` when some CA has the name but none verifies, `Err(false)`
    /// when none has the name.
    fn issuer_of(&self, cert: &Certificate) -> Result<&Anchor, bool> {
        let mut named = false;
        for a in &self.anchors {
            if a.certificate.subject_name() != cert.issuer_name() {
                continue;
            }
            named = true;
            if verify_signed_by(cert, &a.certificate) {
                return Ok(a);
            }
        }
        Err(named)
    }

    /// Builds and verifies the chain from `cert` to a trusted CA.
    pub fn chain(&self, cert: &Certificate) -> ChainOutcome {
        let mut current = cert.clone();
        let mut path = Vec::new();
        let mut test = cert.is_test_hierarchy();
        let mut source = String::new();
        for _ in 0..8 {
            match self.issuer_of(&current) {
                Ok(anchor) => {
                    path.push(anchor.certificate.subject());
                    source = anchor.source.to_string();
                    test |= anchor.certificate.is_test_hierarchy()
                        || is_test_name(&anchor.certificate.subject());
                    if anchor.certificate.subject_name() == anchor.certificate.issuer_name() {
                        break;
                    }
                    current = anchor.certificate.clone();
                }
                Err(_) if !path.is_empty() => break,
                Err(true) => {
                    return ChainOutcome::BadSignature {
                        subject: current.subject(),
                        issuer: current.issuer(),
                    };
                }
                Err(false) => {
                    return ChainOutcome::UnknownIssuer {
                        issuer: current.issuer(),
                    };
                }
            }
        }
        ChainOutcome::Trusted {
            path,
            source,
            test_hierarchy: test,
        }
    }

    /// The trusted CAs named as the issuer of a CRL.
    fn named(&self, issuer_der: &[u8]) -> impl Iterator<Item = &Anchor> {
        self.anchors.iter().filter(move |a| {
            a.certificate
                .x509()
                .map(|x| x.subject().as_raw() == issuer_der)
                .unwrap_or(false)
        })
    }
}

fn is_test_name(subject: &str) -> bool {
    subject.contains("IGC-SANTE TEST") || subject.contains("TEST AC")
}

/// Whether `issuer`'s public key verifies `cert`'s signature.
pub fn verify_signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let (Ok(c), Ok(i)) = (cert.x509(), issuer.x509()) else {
        return false;
    };
    c.verify_signature(Some(i.public_key())).is_ok()
}

/// A certificate revocation list, as read from a file.
#[derive(Debug, Clone)]
pub struct Crl {
    /// The file it came from.
    pub path: PathBuf,
    /// Its DER.
    pub der: Vec<u8>,
}

/// What a CRL says about a set of certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlReport {
    /// The file.
    pub path: PathBuf,
    /// The issuer's name.
    pub issuer: String,
    /// Whether a trusted CA's key verified its signature (`None`: no trusted CA has
    /// the issuer's name).
    pub signature_ok: Option<bool>,
    /// `thisUpdate`.
    pub this_update: SystemTime,
    /// `nextUpdate`, if any.
    pub next_update: Option<SystemTime>,
    /// Serials (uppercase hex, no leading zeros) of the given certificates it lists,
    /// with their revocation dates.
    pub revoked: Vec<(String, SystemTime)>,
    /// Whether it was issued by the issuer of at least one of the given certificates.
    pub covers: bool,
}

/// Why a CRL could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a DER or PEM CRL.
    #[error("{} is not a CRL (DER or PEM): {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl Crl {
    /// Reads CRLs from files and directories (every file of a directory), DER or PEM
    /// (`X509 CRL` blocks; one file may hold several).
    pub fn load(paths: &[PathBuf]) -> (Vec<Crl>, Vec<CrlError>) {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            if p.is_dir() {
                match std::fs::read_dir(p) {
                    Ok(rd) => {
                        let mut v: Vec<PathBuf> = rd
                            .filter_map(|e| e.ok().map(|e| e.path()))
                            .filter(|p| p.is_file())
                            .collect();
                        v.sort();
                        files.extend(v);
                    }
                    Err(source) => errors.push(CrlError::Read {
                        path: p.clone(),
                        source,
                    }),
                }
            } else {
                files.push(p.clone());
            }
        }
        let mut crls = Vec::new();
        for path in files {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(source) => {
                    errors.push(CrlError::Read { path, source });
                    continue;
                }
            };
            match decode_crls(&bytes) {
                Ok(ders) => crls.extend(ders.into_iter().map(|der| Crl {
                    path: path.clone(),
                    der,
                })),
                Err(reason) => errors.push(CrlError::Parse { path, reason }),
            }
        }
        (crls, errors)
    }

    /// Checks the CRL against the store and looks the certificates up in it.
    pub fn examine(&self, store: &TrustStore, certs: &[&Certificate]) -> Result<CrlReport, String> {
        let (_, crl) = CertificateRevocationList::from_der(&self.der).map_err(|e| e.to_string())?;
        let issuer_der = crl.issuer().as_raw();
        let mut signature_ok = None;
        for a in store.named(issuer_der) {
            let ok = a
                .certificate
                .x509()
                .map(|x| crl.verify_signature(x.public_key()).is_ok())
                .unwrap_or(false);
            signature_ok = Some(ok || signature_ok == Some(true));
        }
        let mut revoked = Vec::new();
        let mut covers = false;
        for cert in certs {
            let Ok(x) = cert.x509() else { continue };
            if x.issuer().as_raw() != issuer_der {
                continue;
            }
            covers = true;
            let serial = trim_serial(x.raw_serial());
            if let Some(entry) = crl
                .iter_revoked_certificates()
                .find(|r| trim_serial(r.raw_serial()) == serial)
            {
                revoked.push((
                    hex::encode_upper(&serial),
                    to_system_time(entry.revocation_date.timestamp()),
                ));
            }
        }
        Ok(CrlReport {
            path: self.path.clone(),
            issuer: crl.issuer().to_string(),
            signature_ok,
            this_update: to_system_time(crl.last_update().timestamp()),
            next_update: crl.next_update().map(|t| to_system_time(t.timestamp())),
            revoked,
            covers,
        })
    }
}

fn trim_serial(raw: &[u8]) -> Vec<u8> {
    let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
    raw[start..].to_vec()
}

fn to_system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

fn decode_crls(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.first() == Some(&0x30) {
        CertificateRevocationList::from_der(bytes).map_err(|e| e.to_string())?;
        return Ok(vec![bytes.to_vec()]);
    }
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| e.to_string())?;
        if pem.label == "X509 CRL" {
            CertificateRevocationList::from_der(&pem.contents).map_err(|e| e.to_string())?;
            out.push(pem.contents);
        }
    }
    if out.is_empty() {
        return Err("no DER CRL and no PEM \"X509 CRL\" block".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_cas_match_their_pins() {
        let store = TrustStore::production();
        assert!(store.problems().is_empty(), "{:?}", store.problems());
        assert_eq!(store.anchors().len(), 9);
        for (name, der, pin) in PRODUCTION_CAS {
            use sha2::Digest;
            let digest = hex::encode_upper(sha2::Sha256::digest(der));
            assert_eq!(digest, pin, "{name}");
        }
    }

    #[test]
    fn production_intermediates_chain_to_their_roots() {
        let store = TrustStore::production();
        for a in store.anchors() {
            match store.chain(&a.certificate) {
                ChainOutcome::Trusted {
                    path,
                    test_hierarchy,
                    ..
                } => {
                    assert!(!test_hierarchy);
                    assert!(
                        path.last().is_some_and(|s| s.contains("AC RACINE")),
                        "{path:?}"
                    );
                }
                other => panic!("{}: {other:?}", a.certificate.subject()),
            }
        }
    }
}
