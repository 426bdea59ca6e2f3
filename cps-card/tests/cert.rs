//! Certificates and holders: the nine production CAs, and card certificates laid out here
//! with the card profile of the reference (section 6), signed with throw-away P-256 keys.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cps_card::cert::{
    CardType, Category, CertError, CertRole, Certificate, ExtKeyUsage, IdKind, OID_CPS_CARD_NUMBER,
    OID_CPS_CARD_TYPE, OID_CPS_CATEGORY, StructureKind, Validity, fingerprint_hex,
};
use proptest::prelude::*;

const PRODUCTION: &[(&str, &str, &str)] = &[
    (
        "ACR_ELEMENTAIRE_20130625.cer",
        "AC RACINE IGC-SANTE ELEMENTAIRE",
        "2D9E22CA19F777C6B745257C723ECB8DF3C35FA6F1F6EC36B83600C97346967F",
    ),
    (
        "ACR_STANDARD_20130625.cer",
        "AC RACINE IGC-SANTE STANDARD",
        "5891815E864506C662AFB32F8DE5B8DE38BFFA1AF721780B69E19A0C050386C3",
    ),
    (
        "ACR_FORT_20130625.cer",
        "AC RACINE IGC-SANTE FORT",
        "53D30A19570826BDE0C0762501F1F1C7A659F976C6C023123DF5239DF34A4EEA",
    ),
    (
        "AC_ELEMENTAIRE_PERSONNES_20130625.cer",
        "AC IGC-SANTE ELEMENTAIRE PERSONNES",
        "19C1EAEAB477B6FBC233CDA3B53FBDBC3F4E9BF6CF6973E46F7DFAEF89C06C6C",
    ),
    (
        "AC_ELEMENTAIRE_ORGANISATIONS_20130625.cer",
        "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
        "D834EE5B40686B73573F60547BF6052C6D404D942A5665CDB2C0B9137B5D27B2",
    ),
    (
        "AC_STANDARD_PERSONNES_20130625.cer",
        "AC IGC-SANTE STANDARD PERSONNES",
        "6C339EBCB3E1B0102B143C9694225C2A4AB2EF6FEDF7D364DA8DB305E7F7D997",
    ),
    (
        "AC_STANDARD_ORGANISATIONS_20130625.cer",
        "AC IGC-SANTE STANDARD ORGANISATIONS",
        "C0520A2B14FB68836A807BF86AB2B3E07D1B6061D91BC9C7B86A6F8DE4B5638E",
    ),
    (
        "AC_FORT_PERSONNES_20130625.cer",
        "AC IGC-SANTE FORT PERSONNES",
        "38284E4F6107456E70C7439C85DA7D564D0FE1FE1A968C9EB6D43E1FC0D63C3A",
    ),
    (
        "AC_FORT_ORGANISATIONS_20130625.cer",
        "AC IGC-SANTE FORT ORGANISATIONS",
        "23F69674002D1DD4B018BAECD908DC92687942BB48E5140FF895E2F56BC49C0D",
    ),
];

fn production_der(file: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/pki/production/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

/// Builds certificates with exact subjects and extensions.
mod build {
    use std::str::FromStr;
    use std::time::Duration;

    use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, PrintableStringRef};
    use der::{Any, Decode, Encode, Tag};
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::certificate::{Certificate, TbsCertificate, Version};
    use x509_cert::ext::Extension;
    use x509_cert::ext::pkix::crl::dp::DistributionPoint;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
    use x509_cert::ext::pkix::{
        AccessDescription, AuthorityInfoAccessSyntax, BasicConstraints, CertificatePolicies,
        CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
        certpolicy::PolicyInformation,
    };
    use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
    use x509_cert::time::{Time, Validity};

    pub(crate) const C: &str = "2.5.4.6";
    pub(crate) const O: &str = "2.5.4.10";
    pub(crate) const OU: &str = "2.5.4.11";
    pub(crate) const CN: &str = "2.5.4.3";
    pub(crate) const SN: &str = "2.5.4.4";
    pub(crate) const GN: &str = "2.5.4.42";
    pub(crate) const TITLE: &str = "2.5.4.12";

    fn oid(dotted: &str) -> ObjectIdentifier {
        ObjectIdentifier::from_str(dotted).expect("OID")
    }

    /// A P-256 key from rcgen, with a ring signer for the same key.
    pub(crate) struct Key {
        pair: rcgen::KeyPair,
        signer: EcdsaKeyPair,
    }

    impl Key {
        pub(crate) fn new() -> Key {
            let pair = rcgen::KeyPair::generate().expect("P-256 key");
            let signer = EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                &pair.serialize_der(),
                &SystemRandom::new(),
            )
            .expect("ring accepts rcgen's PKCS#8");
            Key { pair, signer }
        }

        pub(crate) fn rcgen(&self) -> &rcgen::KeyPair {
            &self.pair
        }

        /// The uncompressed public point, for signature checks.
        pub(crate) fn public_point(&self) -> &[u8] {
            self.pair.public_key_raw()
        }
    }

    /// A subject: RDNs of (OID, value); `C` values are PrintableString, others UTF8String.
    pub(crate) fn name(rdns: &[&[(&str, &str)]]) -> Name {
        let rdns = rdns
            .iter()
            .map(|rdn| {
                let atvs: Vec<AttributeTypeAndValue> = rdn
                    .iter()
                    .map(|(o, v)| {
                        let tag = if *o == C {
                            Tag::PrintableString
                        } else {
                            Tag::Utf8String
                        };
                        AttributeTypeAndValue {
                            oid: oid(o),
                            value: Any::new(tag, v.as_bytes()).expect("value"),
                        }
                    })
                    .collect();
                RelativeDistinguishedName(atvs.try_into().expect("SET OF"))
            })
            .collect();
        RdnSequence(rdns)
    }

    pub(crate) fn ext(dotted: &str, critical: bool, value: Vec<u8>) -> Extension {
        Extension {
            extn_id: oid(dotted),
            critical,
            extn_value: OctetString::new(value).expect("extension value"),
        }
    }

    pub(crate) fn key_usage(usages: &[KeyUsages]) -> Extension {
        let mut flags = der::flagset::FlagSet::<KeyUsages>::default();
        for u in usages {
            flags |= *u;
        }
        ext("2.5.29.15", true, KeyUsage(flags).to_der().expect("KU"))
    }

    pub(crate) fn ext_key_usage(oids: &[&str]) -> Extension {
        let eku = ExtendedKeyUsage(oids.iter().map(|o| oid(o)).collect());
        ext("2.5.29.37", false, eku.to_der().expect("EKU"))
    }

    pub(crate) fn upn(upn: &str) -> Extension {
        let value = Any::new(Tag::Utf8String, upn.as_bytes()).expect("UPN");
        let san = SubjectAltName(vec![GeneralName::OtherName(OtherName {
            type_id: oid("1.3.6.1.4.1.311.20.2.3"),
            value,
        })]);
        ext("2.5.29.17", false, san.to_der().expect("SAN"))
    }

    fn uri(url: &str) -> GeneralName {
        GeneralName::UniformResourceIdentifier(Ia5String::new(url).expect("URI"))
    }

    pub(crate) fn crl(url: &str) -> Extension {
        let dp = CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(url)])),
            reasons: None,
            crl_issuer: None,
        }]);
        ext("2.5.29.31", false, dp.to_der().expect("CRL DP"))
    }

    pub(crate) fn aia(ca_issuers: &str, ocsp: &str) -> Extension {
        let aia = AuthorityInfoAccessSyntax(vec![
            AccessDescription {
                access_method: oid("1.3.6.1.5.5.7.48.2"),
                access_location: uri(ca_issuers),
            },
            AccessDescription {
                access_method: oid("1.3.6.1.5.5.7.48.1"),
                access_location: uri(ocsp),
            },
        ]);
        ext("1.3.6.1.5.5.7.1.1", false, aia.to_der().expect("AIA"))
    }

    pub(crate) fn policy(dotted: &str) -> Extension {
        let p = CertificatePolicies(vec![PolicyInformation {
            policy_identifier: oid(dotted),
            policy_qualifiers: None,
        }]);
        ext("2.5.29.32", false, p.to_der().expect("policies"))
    }

    pub(crate) fn basic_constraints(ca: bool) -> Extension {
        let bc = BasicConstraints {
            ca,
            path_len_constraint: ca.then_some(0),
        };
        ext("2.5.29.19", true, bc.to_der().expect("BC"))
    }

    /// `.5`: OCTET STRING of the given bytes (one, in the profile).
    pub(crate) fn category(bytes: &[u8]) -> Extension {
        let value = OctetString::new(bytes.to_vec()).expect("octets");
        ext("1.2.250.1.71.1.2.5", false, value.to_der().expect("DER"))
    }

    /// An INTEGER private extension (`.2`, `.7`, `.12`).
    pub(crate) fn integer(dotted: &str, n: i64) -> Extension {
        ext(dotted, false, n.to_der().expect("INTEGER"))
    }

    /// `.3`: PrintableString.
    pub(crate) fn card_number(text: &str) -> Extension {
        let value = PrintableStringRef::new(text).expect("printable");
        ext("1.2.250.1.71.1.2.3", false, value.to_der().expect("DER"))
    }

    /// Validity from Unix seconds, as GeneralizedTime (dates past 2049 need it; x509-parser
    /// reads both forms alike).
    pub(crate) fn validity(not_before: u64, not_after: u64) -> Validity {
        let t = |s| {
            Time::GeneralTime(
                GeneralizedTime::from_unix_duration(Duration::from_secs(s)).expect("time"),
            )
        };
        Validity {
            not_before: t(not_before),
            not_after: t(not_after),
        }
    }

    pub(crate) struct Spec {
        pub(crate) subject: Name,
        pub(crate) validity: Validity,
        pub(crate) extensions: Vec<Extension>,
    }

    /// A certificate for `key` with `spec`, signed by `issuer` (its name and key), or
    /// self-signed.
    pub(crate) fn issue(spec: Spec, key: &Key, issuer: Option<(&Name, &Key)>) -> Vec<u8> {
        let (issuer_name, signer) = match issuer {
            Some((name, k)) => (name.clone(), k),
            None => (spec.subject.clone(), key),
        };
        let alg = AlgorithmIdentifierOwned {
            oid: oid("1.2.840.10045.4.3.2"),
            parameters: None,
        };
        let serial: [u8; 8] = rand_serial();
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&serial).expect("serial"),
            signature: alg.clone(),
            issuer: issuer_name,
            validity: spec.validity,
            subject: spec.subject,
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(
                &key.pair.public_key_der(),
            )
            .expect("SPKI"),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(spec.extensions),
        };
        let tbs_der = tbs.to_der().expect("TBS");
        let signature = signer
            .signer
            .sign(&SystemRandom::new(), &tbs_der)
            .expect("signature");
        Certificate {
            tbs_certificate: tbs,
            signature_algorithm: alg,
            signature: BitString::from_bytes(signature.as_ref()).expect("bits"),
        }
        .to_der()
        .expect("certificate")
    }

    fn rand_serial() -> [u8; 8] {
        use ring::rand::SecureRandom;
        let mut serial = [0u8; 8];
        SystemRandom::new().fill(&mut serial).expect("random");
        serial[0] = (serial[0] & 0x7F) | 0x10; // positive, no leading zero
        serial
    }
}

use build::{C, CN, GN, Key, O, OU, SN, Spec, TITLE};
use x509_cert::ext::pkix::KeyUsages;

const NOT_BEFORE: u64 = 1_704_067_200; // 2024-01-01T00:00:00Z
const NOT_AFTER: u64 = 1_798_761_600; // 2027-01-01T00:00:00Z, three years as on cards
const TEST_CRL: &str = "http://igc-sante.esante.gouv.fr/CRL/ACI-ST-PP-TEST.crl";
const TEST_AIA: &str = "http://igc-sante.esante.gouv.fr/AC%20TEST/ACI-ST-PP-TEST.cer";

/// A CA and its key; `test` picks the test hierarchy's names.
struct Ca {
    name: x509_cert::name::Name,
    key: Key,
    der: Vec<u8>,
}

impl Ca {
    fn new(test: bool) -> Ca {
        let (ou, cn) = if test {
            ("IGC-SANTE TEST", "TEST AC IGC-SANTE STANDARD PERSONNES")
        } else {
            ("IGC-SANTE", "AC IGC-SANTE STANDARD PERSONNES")
        };
        let name = build::name(&[
            &[(C, "FR")],
            &[(O, "ASIP-SANTE")],
            &[(OU, "0002 187512751")],
            &[(OU, ou)],
            &[(CN, cn)],
        ]);
        let key = Key::new();
        let der = build::issue(
            Spec {
                subject: name.clone(),
                validity: build::validity(1_372_118_400, 2_003_270_400),
                extensions: vec![
                    build::basic_constraints(true),
                    build::key_usage(&[KeyUsages::KeyCertSign, KeyUsages::CRLSign]),
                ],
            },
            &key,
            None,
        );
        Ca { name, key, der }
    }

    fn issue(&self, spec: Spec) -> Certificate {
        let der = build::issue(spec, &Key::new(), Some((&self.name, &self.key)));
        Certificate::from_der(&der).expect("built certificate parses")
    }
}

/// The authentication certificate extensions of the profile plus the private ones given.
fn auth_extensions(
    national_id: &str,
    private: Vec<x509_cert::ext::Extension>,
) -> Vec<x509_cert::ext::Extension> {
    let mut exts = vec![
        build::key_usage(&[KeyUsages::DigitalSignature]),
        build::ext_key_usage(&["1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2"]),
        build::upn(&format!("{national_id}@carte-cps.fr")),
        build::crl(TEST_CRL),
        build::aia(TEST_AIA, "http://ocsp.esante.gouv.fr"),
        build::policy("1.2.250.1.213.1.7.2.1.1.1.1"),
        build::basic_constraints(false),
    ];
    exts.extend(private);
    exts
}

fn doctor(ca: &Ca) -> Certificate {
    ca.issue(Spec {
        subject: build::name(&[
            &[(C, "FR")],
            &[(TITLE, "Médecin")],
            &[(GN, "Jean"), (CN, "810002813839"), (SN, "DUPONT")],
        ]),
        validity: build::validity(NOT_BEFORE, NOT_AFTER),
        extensions: auth_extensions(
            "810002813839",
            vec![
                build::category(&[0x00]),
                build::integer(OID_CPS_CARD_TYPE, 0),
                build::card_number("8025000001/0123456789"),
                build::integer("1.2.250.1.71.1.2.7", 10),
            ],
        ),
    })
}

#[test]
fn production_cas_parse_and_match_the_reference() {
    for (file, cn, sha256) in PRODUCTION {
        let der = production_der(file);
        let cert = Certificate::from_der(&der).expect(file);
        assert_eq!(cert.sha256_fingerprint(), *sha256, "{file}");
        assert_eq!(cert.subject_name().common_name(), Some(*cn), "{file}");
        assert!(cert.is_ca(), "{file}");
        assert!(!cert.is_test_hierarchy(), "{file}");
        assert_eq!(cert.role(), CertRole::Unknown, "{file}");
        assert_eq!(cert.der(), der.as_slice());
        assert!(
            cert.subject()
                .starts_with("C=FR, O=ASIP-SANTE, OU=0002 187512751, OU=IGC-SANTE, CN="),
            "{}",
            cert.subject()
        );
        assert_eq!(cert.key_algorithm(), "rsaEncryption");
        assert!(cert.rsa_modulus_bits().is_some_and(|b| b >= 2048), "{file}");
        let ku = cert.key_usage().expect("CAs have key usage");
        assert!(ku.key_cert_sign && ku.crl_sign, "{file}");
        assert_eq!(cert.sha256().len(), 32);
        match cert.holder() {
            Err(CertError::NotCardCertificate { subject, reason }) => {
                assert_eq!(subject, cert.subject());
                assert!(reason.contains("certification authority"), "{reason}");
            }
            other => panic!("{file}: {other:?}"),
        }
        // File loading takes either form.
        assert_eq!(Certificate::from_file_bytes(&der).expect("DER"), cert);
        let pem = cert.to_pem();
        assert_eq!(
            Certificate::from_file_bytes(pem.as_bytes()).expect("PEM"),
            cert
        );
    }
}

#[test]
fn production_roots_are_rsa_4096_from_2013_to_2033() {
    for (file, _, _) in PRODUCTION.iter().filter(|(f, _, _)| f.starts_with("ACR_")) {
        let cert = Certificate::from_der(&production_der(file)).expect(file);
        assert_eq!(cert.rsa_modulus_bits(), Some(4096), "{file}");
        assert_eq!(cert.subject(), cert.issuer(), "{file}: self-issued");
        assert!(
            cert.not_before_rfc3339().starts_with("2013-06-25T"),
            "{file}"
        );
        assert!(
            cert.not_after_rfc3339().starts_with("2033-06-25T"),
            "{file}"
        );
        assert_eq!(
            cert.validity_at(at(1_735_689_600)), // 2025-01-01
            Validity::Valid {
                expires_in: cert
                    .not_after()
                    .duration_since(at(1_735_689_600))
                    .expect("later")
            }
        );
    }
}

#[test]
fn intermediates_chain_to_their_root_by_name() {
    for (file, cn, _) in PRODUCTION.iter().filter(|(f, _, _)| f.starts_with("AC_")) {
        let cert = Certificate::from_der(&production_der(file)).expect(file);
        let level = cn.split(' ').nth(2).expect("level word");
        assert_eq!(
            cert.issuer_name().common_name(),
            Some(format!("AC RACINE IGC-SANTE {level}").as_str()),
            "{file}"
        );
    }
}

#[test]
fn pem_bundle_round_trip() {
    let certs: Vec<Certificate> = PRODUCTION
        .iter()
        .map(|(file, _, _)| Certificate::from_der(&production_der(file)).expect(file))
        .collect();
    let mut bundle = String::from("# IGC-Santé production\r\n");
    for cert in &certs {
        bundle.push_str("subject=");
        bundle.push_str(&cert.subject());
        bundle.push('\n');
        bundle.push_str(&cert.to_pem().replace('\n', "\r\n"));
    }
    let back = Certificate::from_pem_all(&bundle).expect("bundle");
    assert_eq!(back, certs);
    assert_eq!(Certificate::from_pem(&bundle).expect("first"), certs[0]);
    assert_eq!(
        Certificate::from_file_bytes_all(bundle.as_bytes())
            .expect("bundle")
            .len(),
        9
    );
    for line in certs[0].to_pem().lines() {
        assert!(line.len() <= 64, "{line}");
    }
    // Unwrapped base64 on one line is accepted too.
    let pem = certs[1].to_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let one_line = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
    assert_eq!(
        Certificate::from_pem(&one_line).expect("one line"),
        certs[1]
    );
}

#[test]
fn bad_inputs_give_typed_errors() {
    let der = production_der(PRODUCTION[0].0);
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        Certificate::from_der(&trailing),
        Err(CertError::TrailingData { len: 1 })
    ));
    assert!(matches!(
        Certificate::from_der(&der[..der.len() - 10]),
        Err(CertError::Parse { .. })
    ));
    let err = Certificate::from_der(&der[..100]).expect_err("truncated");
    assert!(
        std::error::Error::source(&err).is_some(),
        "keeps its source"
    );
    assert!(matches!(
        Certificate::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(CertError::NoPemCertificate { .. })
    ));
    assert!(matches!(
        Certificate::from_pem("no pem at all"),
        Err(CertError::NoPemCertificate { .. })
    ));
    assert!(matches!(
        Certificate::from_file_bytes(b"MIIB..."),
        Err(CertError::NotPemOrDer)
    ));
}

#[test]
fn doctor_authentication_certificate() {
    let ca = Ca::new(false);
    let cert = doctor(&ca);
    let holder = cert.holder().expect("holder");
    assert_eq!(holder.national_id, "810002813839");
    assert_eq!(holder.id_kind, IdKind::Rpps);
    assert_eq!(holder.base_id, "10002813839");
    assert_eq!(holder.structure_kind, None);
    assert_eq!(holder.given_name, "Jean");
    assert_eq!(holder.surname, "DUPONT");
    assert_eq!(holder.profession_label.as_deref(), Some("Médecin"));
    assert_eq!(holder.profession_code, Some(10));
    assert_eq!(holder.profession_name(), Some("Médecin"));
    assert_eq!(holder.card_type, Some(CardType::Cps));
    assert_eq!(holder.category, Some(Category::Real));
    assert!(!holder.test_card && !holder.test_identity);
    assert_eq!(holder.card_number.as_deref(), Some("0123456789"));
    assert_eq!(holder.issuer_number.as_deref(), Some("8025000001"));
    assert_eq!(holder.structure_name, None);
    assert_eq!(holder.responsibility_level, None);
    assert_eq!(
        holder.summary_en(),
        "Médecin — DUPONT Jean (RPPS 10002813839), CPS"
    );

    // The SET OF puts GN, CN, SN in DER order; the subject shows them as encoded.
    let subject = cert.subject();
    assert!(subject.starts_with("C=FR, title=Médecin, "), "{subject}");
    let last = subject.rsplit(", ").next().expect("last RDN");
    let mut parts: Vec<&str> = last.split('+').collect();
    parts.sort_unstable();
    assert_eq!(parts, ["CN=810002813839", "GN=Jean", "SN=DUPONT"]);

    assert_eq!(cert.role(), CertRole::Authentication);
    let ku = cert.key_usage().expect("KU");
    assert_eq!(ku.names(), ["digitalSignature"]);
    assert!(ku.critical);
    assert_eq!(
        cert.extended_key_usage().expect("EKU"),
        [ExtKeyUsage::ClientAuth, ExtKeyUsage::SmartCardLogon]
    );
    assert_eq!(cert.upn(), Some("810002813839@carte-cps.fr"));
    assert_eq!(cert.crl_urls(), [TEST_CRL]);
    assert_eq!(cert.ca_issuer_urls(), [TEST_AIA]);
    assert_eq!(cert.ocsp_urls(), ["http://ocsp.esante.gouv.fr"]);
    assert_eq!(cert.policies(), ["1.2.250.1.213.1.7.2.1.1.1.1"]);
    assert!(!cert.is_ca());
    assert!(!cert.is_test_hierarchy());
    assert_eq!(cert.key_algorithm(), "id-ecPublicKey");
    assert_eq!(cert.key_bits(), Some(256));
    assert_eq!(cert.rsa_modulus_bits(), None);
    assert_eq!(cert.signature_algorithm(), "ecdsa-with-SHA256");
    assert_eq!(
        cert.issuer(),
        Certificate::from_der(&ca.der).expect("CA").subject()
    );
    assert_eq!(cert.not_before_rfc3339(), "2024-01-01T00:00:00Z");
    assert_eq!(cert.not_after_rfc3339(), "2027-01-01T00:00:00Z");
    assert_eq!(cert.not_before(), at(NOT_BEFORE));
    assert_eq!(cert.serial_hex().len(), 16);

    // tbs_der and signature_value are what the issuer's key signed.
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        ca.key.public_point(),
    )
    .verify(cert.tbs_der(), cert.signature_value())
    .expect("signature verifies");
    // And the SPKI is the one the certificate carries.
    assert_eq!(cert.public_key_der()[0], 0x30);

    let json = serde_json::to_value(&holder).expect("JSON");
    assert_eq!(json["id_kind"], "RPPS");
    assert_eq!(json["card_type"], "CPS");
    assert_eq!(json["category"], "real");
    assert_eq!(json["profession_code"], 10);
    let profile = serde_json::to_value(cert.profile()).expect("JSON");
    assert_eq!(profile["role"], "authentication");
    assert_eq!(
        profile["key_usage"],
        serde_json::json!(["digitalSignature"])
    );
    assert_eq!(
        profile["extended_key_usage"],
        serde_json::json!(["clientAuth", "msSmartcardLogin"])
    );
}

#[test]
fn test_pharmacist_on_the_test_hierarchy() {
    let ca = Ca::new(true);
    let cert = ca.issue(Spec {
        subject: build::name(&[
            &[(C, "FR")],
            &[(TITLE, "Pharmacien")],
            &[(GN, "Sophie"), (CN, "899700123456"), (SN, "MARTIN")],
        ]),
        validity: build::validity(NOT_BEFORE, NOT_AFTER),
        extensions: vec![
            build::key_usage(&[KeyUsages::NonRepudiation]),
            build::category(&[0x80]),
            build::integer(OID_CPS_CARD_TYPE, 0),
            build::card_number("8025000001/9912345678"),
            build::integer("1.2.250.1.71.1.2.7", 21),
        ],
    });
    assert!(cert.is_test_hierarchy());
    assert_eq!(cert.role(), CertRole::Signature);
    assert_eq!(cert.upn(), None);
    let holder = cert.holder().expect("holder");
    assert_eq!(holder.id_kind, IdKind::Rpps);
    assert_eq!(holder.base_id, "99700123456");
    assert_eq!(holder.profession_code, Some(21));
    assert_eq!(holder.profession_name(), Some("Pharmacien"));
    assert_eq!(holder.category, Some(Category::Test));
    assert!(holder.test_card && holder.test_identity);
    assert_eq!(
        holder.summary_en(),
        "Pharmacien — MARTIN Sophie (RPPS 99700123456), CPS, test card"
    );
    assert_eq!(
        holder.summary_fr(),
        "Pharmacien — MARTIN Sophie (RPPS 99700123456), CPS, carte de test"
    );
    assert_eq!(
        serde_json::to_value(&holder).expect("JSON")["category"],
        "test"
    );
}

#[test]
fn staff_cpe_with_structure() {
    let ca = Ca::new(true);
    let cert = ca.issue(Spec {
        subject: build::name(&[
            &[(C, "FR")],
            &[(O, "CLINIQUE DES LILAS")],
            &[(OU, "30B0057881")],
            &[(TITLE, "Personnel santé ou social")],
            &[(GN, "Claire"), (CN, "30B0057881/CPET0002"), (SN, "LEROY")],
        ]),
        validity: build::validity(NOT_BEFORE, NOT_AFTER),
        extensions: auth_extensions(
            "30B0057881/CPET0002",
            vec![
                build::category(&[0x80]),
                build::integer(OID_CPS_CARD_TYPE, 2),
                build::card_number("8025000001/0987654321"),
            ],
        ),
    });
    let holder = cert.holder().expect("holder");
    assert_eq!(holder.id_kind, IdKind::Structure);
    assert_eq!(holder.structure_kind, Some(StructureKind::Finess));
    assert_eq!(holder.base_id, "0B0057881");
    assert_eq!(holder.local_id.as_deref(), Some("CPET0002"));
    assert_eq!(holder.card_type, Some(CardType::Cpe));
    assert_eq!(holder.profession_code, None);
    assert_eq!(holder.profession_name(), None);
    assert_eq!(holder.structure_name.as_deref(), Some("CLINIQUE DES LILAS"));
    assert_eq!(holder.structure_id.as_deref(), Some("30B0057881"));
    assert!(holder.test_card);
    assert!(!holder.test_identity);
    assert_eq!(
        holder.summary_en(),
        "Personnel santé ou social — LEROY Claire (FINESS 0B0057881 / CPET0002), CPE, \
         CLINIQUE DES LILAS, test card"
    );
    let json = serde_json::to_value(&holder).expect("JSON");
    assert_eq!(json["id_kind"], "structure");
    assert_eq!(json["structure_kind"], "FINESS");
    assert_eq!(json["card_type"], "CPE");
    assert!(json["profession_code"].is_null());
}

#[test]
fn adeli_nurse_with_unknown_codes() {
    let ca = Ca::new(false);
    let cert = ca.issue(Spec {
        subject: build::name(&[
            &[(C, "FR")],
            &[(TITLE, "Infirmier")],
            &[(GN, "Paul"), (CN, "0751234567"), (SN, "BERNARD")],
        ]),
        validity: build::validity(NOT_BEFORE, NOT_AFTER),
        extensions: vec![
            build::category(&[0x42]),
            build::integer(OID_CPS_CARD_TYPE, 7),
            build::integer("1.2.250.1.71.1.2.7", 60),
            build::integer("1.2.250.1.71.1.2.12", 2),
        ],
    });
    let holder = cert.holder().expect("holder");
    assert_eq!(holder.id_kind, IdKind::Adeli);
    assert_eq!(holder.base_id, "751234567");
    assert_eq!(holder.profession_name(), Some("Infirmier"));
    assert_eq!(holder.card_type, Some(CardType::Unknown(7)));
    assert_eq!(holder.category, Some(Category::Unknown(0x42)));
    assert_eq!(holder.card_number, None);
    assert_eq!(holder.responsibility_level, Some(2));
    assert_eq!(
        holder.summary_fr(),
        "Infirmier — BERNARD Paul (ADELI 751234567), unknown(7)"
    );
    let json = serde_json::to_value(&holder).expect("JSON");
    assert_eq!(json["id_kind"], "ADELI");
    assert_eq!(json["card_type"], "unknown(7)");
    assert_eq!(json["category"], "unknown(42)");
    // No key usage at all: nothing to go on.
    assert_eq!(cert.role(), CertRole::Unknown);
    assert_eq!(cert.key_usage(), None);
    assert_eq!(cert.extended_key_usage(), None);
}

#[test]
fn validity_windows() {
    let ca = Ca::new(true);
    let person = |not_before, not_after| {
        ca.issue(Spec {
            subject: build::name(&[&[(C, "FR")], &[(GN, "A"), (CN, "899900000001"), (SN, "B")]]),
            validity: build::validity(not_before, not_after),
            extensions: vec![build::category(&[0x80])],
        })
    };
    let expired = person(1_420_070_400, 1_514_764_800); // 2015 → 2018
    assert!(matches!(expired.validity_now(), Validity::Expired { .. }));
    assert_eq!(
        expired.validity_at(at(1_514_764_800 + 3600)),
        Validity::Expired {
            since: Duration::from_secs(3600)
        }
    );
    // Bounds belong to the period.
    assert_eq!(
        expired.validity_at(at(1_514_764_800)),
        Validity::Valid {
            expires_in: Duration::ZERO
        }
    );
    assert!(matches!(
        expired.validity_at(at(1_420_070_400)),
        Validity::Valid { .. }
    ));
    assert_eq!(
        expired.validity_at(at(1_420_070_399)),
        Validity::NotYetValid
    );

    let future = person(2_524_608_000, 2_619_302_400); // 2050 → 2053, GeneralizedTime
    assert_eq!(future.validity_now(), Validity::NotYetValid);
    assert_eq!(future.not_before_rfc3339(), "2050-01-01T00:00:00Z");
    assert_eq!(
        future.validity_at(at(2_619_302_400 - 60)),
        Validity::Valid {
            expires_in: Duration::from_secs(60)
        }
    );
    // A holder with the test identity prefix but no card type still reads.
    let holder = future.holder().expect("holder");
    assert!(holder.test_identity && holder.test_card);
    assert_eq!(holder.card_type, None);
    assert_eq!(holder.summary_en(), "B A (RPPS 99900000001), test card");
}

fn card_with(subject: &[&[(&str, &str)]], private: Vec<x509_cert::ext::Extension>) -> Certificate {
    Ca::new(false).issue(Spec {
        subject: build::name(subject),
        validity: build::validity(NOT_BEFORE, NOT_AFTER),
        extensions: private,
    })
}

#[test]
fn missing_identity_attributes_are_named() {
    let cert = card_with(
        &[&[(C, "FR")], &[(GN, "Jean"), (CN, "810002813839")]],
        vec![build::category(&[0x00])],
    );
    match cert.holder() {
        Err(e @ CertError::MissingAttribute { attribute }) => {
            assert_eq!(attribute, "SN (surname)");
            assert_eq!(
                e.to_string(),
                "card certificate without SN (surname) in its subject"
            );
        }
        other => panic!("{other:?}"),
    }
    let cert = card_with(
        &[&[(C, "FR")], &[(SN, "DUPONT"), (CN, "810002813839")]],
        vec![],
    );
    assert!(matches!(
        cert.holder(),
        Err(CertError::MissingAttribute {
            attribute: "GN (given name)"
        })
    ));
    // Single-valued RDNs are tolerated when the private extensions vouch for the profile.
    let cert = card_with(
        &[
            &[(C, "FR")],
            &[(GN, "Jean")],
            &[(CN, "810002813839")],
            &[(SN, "DUPONT")],
        ],
        vec![build::integer(OID_CPS_CARD_TYPE, 1)],
    );
    let holder = cert.holder().expect("tolerated");
    assert_eq!(holder.card_type, Some(CardType::Cpf));
    assert_eq!(holder.surname, "DUPONT");
    // Without them, a plain name is not a card certificate.
    let cert = card_with(&[&[(C, "FR")], &[(CN, "www.example.fr")]], vec![]);
    assert!(matches!(
        cert.holder(),
        Err(CertError::NotCardCertificate { .. })
    ));
}

#[test]
fn malformed_private_extensions_are_named() {
    let subject: &[&[(&str, &str)]] = &[&[(GN, "Jean"), (CN, "810002813839"), (SN, "DUPONT")]];
    let cases = [
        // .2 as an OCTET STRING instead of an INTEGER.
        (
            build::ext(OID_CPS_CARD_TYPE, false, vec![0x04, 0x01, 0x00]),
            OID_CPS_CARD_TYPE,
        ),
        // .2 with trailing garbage.
        (
            build::ext(OID_CPS_CARD_TYPE, false, vec![0x02, 0x01, 0x00, 0x00]),
            OID_CPS_CARD_TYPE,
        ),
        (build::category(&[0x80, 0x00]), OID_CPS_CATEGORY),
        (build::category(&[]), OID_CPS_CATEGORY),
        (
            build::card_number("8025000001-0123456789"),
            OID_CPS_CARD_NUMBER,
        ),
        (
            build::integer("1.2.250.1.71.1.2.7", 70_000),
            "1.2.250.1.71.1.2.7",
        ),
    ];
    for (ext, oid) in cases {
        let cert = card_with(subject, vec![ext]);
        match cert.holder() {
            Err(e @ CertError::BadExtension { .. }) => {
                let CertError::BadExtension { oid: got, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(*got, oid);
                assert!(e.to_string().contains(oid), "{e}");
            }
            other => panic!("{oid}: {other:?}"),
        }
    }
    // A repeated private extension is ambiguous.
    let cert = card_with(
        subject,
        vec![build::category(&[0x00]), build::category(&[0x80])],
    );
    assert!(matches!(
        cert.holder(),
        Err(CertError::BadExtension {
            oid: OID_CPS_CATEGORY,
            ..
        })
    ));
}

#[test]
fn rcgen_built_certificate_reads_the_same() {
    // An independent encoder: rcgen's own certificate with the usual extensions.
    let key = Key::new();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "FR");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "a, b + c");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.subject_alt_names = vec![rcgen::SanType::OtherName((
        vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
        rcgen::OtherNameValue::Utf8String("899700123456@carte-cps.fr".into()),
    ))];
    params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
        uris: vec![TEST_CRL.into()],
    }];
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[1, 2, 250, 1, 71, 1, 2, 5],
        vec![0x04, 0x01, 0x83],
    )];
    let rc = params.self_signed(key.rcgen()).expect("rcgen");
    let cert = Certificate::from_pem(&rc.pem()).expect("rcgen PEM");
    assert_eq!(cert.der(), rc.der().as_ref());
    assert_eq!(cert.subject(), "C=FR, CN=a\\, b \\+ c");
    assert_eq!(cert.upn(), Some("899700123456@carte-cps.fr"));
    assert_eq!(cert.crl_urls(), [TEST_CRL]);
    assert_eq!(
        cert.key_usage().expect("KU").names(),
        ["digitalSignature", "keyEncipherment"]
    );
    assert_eq!(cert.role(), CertRole::Authentication);
    // The private category alone makes it a card certificate, whose name is incomplete.
    assert!(matches!(
        cert.holder(),
        Err(CertError::MissingAttribute {
            attribute: "GN (given name)"
        })
    ));
    assert_eq!(
        cert.extensions()
            .iter()
            .find(|e| e.oid == OID_CPS_CATEGORY)
            .map(|e| e.value.clone()),
        Some(vec![0x04, 0x01, 0x83])
    );
}

/// Far enough ahead that the committed fixtures do not expire under the tests.
const FIXTURE_NOT_AFTER: u64 = 2_524_607_999; // 2049-12-31T23:59:59Z

fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cards")
}

/// (file, what to build, whether it is expired) for each committed fixture.
fn fixture_specs() -> Vec<(&'static str, Spec, bool)> {
    let doctor_subject = || {
        build::name(&[
            &[(C, "FR")],
            &[(TITLE, "Médecin")],
            &[(GN, "Jean"), (CN, "810002813839"), (SN, "DUPONT")],
        ])
    };
    let doctor_private = || {
        vec![
            build::category(&[0x80]),
            build::integer(OID_CPS_CARD_TYPE, 0),
            build::card_number("8025000001/0123456789"),
            build::integer("1.2.250.1.71.1.2.7", 10),
        ]
    };
    let staff_subject = build::name(&[
        &[(C, "FR")],
        &[(O, "CLINIQUE DES LILAS")],
        &[(OU, "30B0057881")],
        &[(TITLE, "Personnel santé ou social")],
        &[(GN, "Claire"), (CN, "30B0057881/CPET0002"), (SN, "LEROY")],
    ]);
    let mut doctor_sign = vec![
        build::key_usage(&[KeyUsages::NonRepudiation]),
        build::crl(TEST_CRL),
        build::aia(TEST_AIA, "http://ocsp.esante.gouv.fr"),
        build::policy("1.2.250.1.213.1.7.2.1.1.1.1"),
    ];
    doctor_sign.extend(doctor_private());
    vec![
        (
            "doctor-auth.pem",
            Spec {
                subject: doctor_subject(),
                validity: build::validity(NOT_BEFORE, FIXTURE_NOT_AFTER),
                extensions: auth_extensions("810002813839", doctor_private()),
            },
            false,
        ),
        (
            "doctor-sign.pem",
            Spec {
                subject: doctor_subject(),
                validity: build::validity(NOT_BEFORE, FIXTURE_NOT_AFTER),
                extensions: doctor_sign,
            },
            false,
        ),
        (
            "pharmacist-auth.pem",
            Spec {
                subject: build::name(&[
                    &[(C, "FR")],
                    &[(TITLE, "Pharmacien")],
                    &[(GN, "Sophie"), (CN, "899700123456"), (SN, "MARTIN")],
                ]),
                validity: build::validity(NOT_BEFORE, FIXTURE_NOT_AFTER),
                extensions: auth_extensions(
                    "899700123456",
                    vec![
                        build::category(&[0x80]),
                        build::integer(OID_CPS_CARD_TYPE, 0),
                        build::card_number("8025000001/9912345678"),
                        build::integer("1.2.250.1.71.1.2.7", 21),
                    ],
                ),
            },
            false,
        ),
        (
            "staff-cpe-auth.pem",
            Spec {
                subject: staff_subject,
                validity: build::validity(NOT_BEFORE, FIXTURE_NOT_AFTER),
                extensions: auth_extensions(
                    "30B0057881/CPET0002",
                    vec![
                        build::category(&[0x80]),
                        build::integer(OID_CPS_CARD_TYPE, 2),
                        build::card_number("8025000001/0987654321"),
                    ],
                ),
            },
            false,
        ),
        (
            "expired-auth.pem",
            Spec {
                subject: doctor_subject(),
                validity: build::validity(1_420_070_400, 1_514_764_800),
                extensions: auth_extensions("810002813839", doctor_private()),
            },
            true,
        ),
    ]
}

#[test]
#[ignore = "a tool, not a check (scripts/test.sh skips it): rewrites tests/fixtures/cards with new keys; run with --ignored --exact regenerate_card_fixtures when the profile changes"]
fn regenerate_card_fixtures() {
    let ca = Ca::new(true);
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    let ca_cert = Certificate::from_der(&ca.der).expect("CA");
    std::fs::write(dir.join("test-ca.pem"), ca_cert.to_pem()).expect("write CA");
    for (file, spec, _) in fixture_specs() {
        let cert = ca.issue(spec);
        std::fs::write(dir.join(file), cert.to_pem()).expect("write fixture");
    }
}

#[test]
fn committed_card_fixtures_read_back() {
    let dir = fixtures_dir();
    let read = |file: &str| {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        Certificate::from_file_bytes(&bytes).expect(file)
    };
    let ca = read("test-ca.pem");
    assert!(ca.is_ca() && ca.is_test_hierarchy());
    let ca_point = {
        // The P-256 point is the SPKI's BIT STRING content, its last 65 bytes.
        let spki = ca.public_key_der();
        spki[spki.len() - 65..].to_vec()
    };
    let now = at(1_767_225_600); // 2026-01-01
    let mut summaries = Vec::new();
    for (file, _, expired) in fixture_specs() {
        let cert = read(file);
        assert_eq!(cert.issuer(), ca.subject(), "{file}");
        assert!(cert.is_test_hierarchy(), "{file}");
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &ca_point,
        )
        .verify(cert.tbs_der(), cert.signature_value())
        .unwrap_or_else(|_| panic!("{file}: signed by test-ca.pem"));
        assert_eq!(
            matches!(cert.validity_at(now), Validity::Expired { .. }),
            expired,
            "{file}"
        );
        let holder = cert.holder().expect(file);
        assert!(holder.test_card, "{file}");
        summaries.push((file, cert.role(), holder.summary_en()));
    }
    assert_eq!(
        summaries,
        [
            (
                "doctor-auth.pem",
                CertRole::Authentication,
                "Médecin — DUPONT Jean (RPPS 10002813839), CPS, test card".to_owned()
            ),
            (
                "doctor-sign.pem",
                CertRole::Signature,
                "Médecin — DUPONT Jean (RPPS 10002813839), CPS, test card".to_owned()
            ),
            (
                "pharmacist-auth.pem",
                CertRole::Authentication,
                "Pharmacien — MARTIN Sophie (RPPS 99700123456), CPS, test card".to_owned()
            ),
            (
                "staff-cpe-auth.pem",
                CertRole::Authentication,
                "Personnel santé ou social — LEROY Claire (FINESS 0B0057881 / CPET0002), CPE, \
                 CLINIQUE DES LILAS, test card"
                    .to_owned()
            ),
            (
                "expired-auth.pem",
                CertRole::Authentication,
                "Médecin — DUPONT Jean (RPPS 10002813839), CPS, test card".to_owned()
            ),
        ]
    );
}

#[test]
fn fingerprint_with_separators() {
    let cert = Certificate::from_der(&production_der(PRODUCTION[0].0)).expect("CA");
    assert!(fingerprint_hex(&cert.sha256(), Some(':')).starts_with("2D:9E:22:CA:"),);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn from_file_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Certificate::from_file_bytes(&bytes);
        let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        pem.extend_from_slice(&bytes);
        let _ = Certificate::from_file_bytes_all(&pem);
    }

    #[test]
    fn mutated_certificates_never_panic(
        index in 0usize..PRODUCTION.len(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut der = production_der(PRODUCTION[index].0);
        for (at, byte) in flips {
            let i = at.index(der.len());
            der[i] ^= byte;
        }
        if let Ok(cert) = Certificate::from_der(&der) {
            let _ = (cert.holder(), cert.subject(), cert.profile(), cert.role());
        }
        let len = cut.index(der.len());
        let _ = Certificate::from_file_bytes(&der[..len]);
    }
}
