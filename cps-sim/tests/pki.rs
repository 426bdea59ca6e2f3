//! The test PKI, checked with an independent parser (`x509-parser`) and verifier (`ring`,
//! through x509-parser's `verify` feature).

// Test code: the helpers below are part of the tests, where a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime};

use cps_sim::pki::{
    self, CARD_KEY_COUNT, CardIdentity, CertUsage, PkiError, Structure, TestPki, card_key,
};
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::X509Name;

const UTF8_STRING: u32 = 12;
const PRINTABLE_STRING: u32 = 19;

fn at(unix: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
}

/// 2025-01-01T00:00:00Z and three years later, as the agency issues them.
fn validity() -> (SystemTime, SystemTime) {
    (at(1_735_689_600), at(1_735_689_600 + 3 * 365 * 86_400))
}

fn doctor() -> CardIdentity {
    CardIdentity {
        national_id: "810002813839".into(),
        given_name: "JEAN".into(),
        surname: "MEDECIN-TEST".into(),
        profession_code: Some(10),
        profession_label: "Médecin".into(),
        card_type: 0,
        test_card: true,
        card_number: "2800012345".into(),
        structure: None,
    }
}

fn staff() -> CardIdentity {
    CardIdentity {
        national_id: "30B0057881/CPET0002".into(),
        given_name: "ALICE".into(),
        surname: "SECRETAIRE".into(),
        profession_code: None,
        profession_label: "Personnel santé ou social".into(),
        card_type: 2,
        test_card: false,
        card_number: "3000067890".into(),
        structure: Some(Structure {
            id: "30B0057881".into(),
            name: "CENTRE HOSPITALIER DE TEST".into(),
        }),
    }
}

fn issue(pki: &TestPki, id: &CardIdentity, usage: CertUsage, key: usize, serial: u64) -> Vec<u8> {
    let (not_before, not_after) = validity();
    let public = card_key(key).unwrap().to_public_key();
    pki.issue(id, usage, &public, not_before, not_after, serial)
        .unwrap()
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = X509Certificate::from_der(der).unwrap();
    assert!(rest.is_empty(), "trailing bytes after the certificate");
    cert
}

/// The subject as (OID, string tag, value) per RDN, in encoding order.
fn rdns(name: &X509Name<'_>) -> Vec<Vec<(String, u32, String)>> {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    (
                        atv.attr_type().to_id_string(),
                        atv.attr_value().tag().0,
                        atv.as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

/// The extnValue of the extension `oid`, with its criticality; panics when absent or twice.
fn extension<'a>(cert: &'a X509Certificate<'_>, oid: &str) -> (bool, &'a [u8]) {
    let found: Vec<_> = cert
        .extensions()
        .iter()
        .filter(|ext| ext.oid.to_id_string() == oid)
        .collect();
    assert_eq!(found.len(), 1, "extension {oid}");
    (found[0].critical, found[0].value)
}

fn has_extension(cert: &X509Certificate<'_>, oid: &str) -> bool {
    cert.extensions()
        .iter()
        .any(|ext| ext.oid.to_id_string() == oid)
}

#[test]
fn load_is_fast_and_gives_the_test_hierarchy() {
    let start = Instant::now();
    let pki = TestPki::load().unwrap();
    let elapsed = start.elapsed();
    eprintln!("TestPki::load() took {elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "load took {elapsed:?}");

    let root = parse(pki.root_certificate());
    let issuing = parse(pki.issuing_certificate());
    let prefix = vec![
        vec![("2.5.4.6".to_owned(), PRINTABLE_STRING, "FR".to_owned())],
        vec![("2.5.4.10".to_owned(), UTF8_STRING, "ASIP-SANTE".to_owned())],
        vec![(
            "2.5.4.11".to_owned(),
            UTF8_STRING,
            "0002 187512751".to_owned(),
        )],
        vec![(
            "2.5.4.11".to_owned(),
            UTF8_STRING,
            "IGC-SANTE TEST".to_owned(),
        )],
    ];
    let with_cn = |cn: &str| {
        let mut name = prefix.clone();
        name.push(vec![("2.5.4.3".to_owned(), UTF8_STRING, cn.to_owned())]);
        name
    };
    assert_eq!(rdns(root.subject()), with_cn(pki::ROOT_CA_NAME));
    assert_eq!(rdns(root.issuer()), with_cn(pki::ROOT_CA_NAME));
    assert_eq!(rdns(issuing.subject()), with_cn(pki::ISSUING_CA_NAME));
    assert_eq!(rdns(issuing.issuer()), with_cn(pki::ROOT_CA_NAME));
    let debug = format!("{pki:?}");
    assert!(debug.contains(pki::ISSUING_CA_NAME), "{debug}");
}

#[test]
fn ca_chain_verifies_and_mirrors_production() {
    let pki = TestPki::load().unwrap();
    let root = parse(pki.root_certificate());
    let issuing = parse(pki.issuing_certificate());

    root.verify_signature(None).unwrap();
    issuing.verify_signature(Some(root.public_key())).unwrap();
    assert!(issuing.verify_signature(None).is_err());

    assert_eq!(
        root.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11"
    );
    assert_eq!(
        issuing.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11"
    );
    let bits = |cert: &X509Certificate<'_>| match cert.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => rsa.key_size(),
        other => panic!("not RSA: {other:?}"),
    };
    assert_eq!(bits(&root), 3072);
    assert_eq!(bits(&issuing), 2048);

    let root_bc = root.basic_constraints().unwrap().unwrap();
    assert!(root_bc.critical && root_bc.value.ca);
    assert_eq!(root_bc.value.path_len_constraint, None);
    let bc = issuing.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    for cert in [&root, &issuing] {
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical);
        assert!(ku.value.key_cert_sign() && ku.value.crl_sign());
        assert!(!ku.value.digital_signature());
    }
    // AKI of the issuing CA is the root's SKI.
    let ski = |cert: &X509Certificate<'_>| match extension(cert, "2.5.29.14").1 {
        [0x04, 20, id @ ..] => id.to_vec(),
        other => panic!("SKI {other:02x?}"),
    };
    let aki = |cert: &X509Certificate<'_>| match cert
        .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER)
        .unwrap()
        .unwrap()
        .parsed_extension()
    {
        ParsedExtension::AuthorityKeyIdentifier(aki) => {
            aki.key_identifier.as_ref().unwrap().0.to_vec()
        }
        other => panic!("AKI {other:?}"),
    };
    assert_eq!(aki(&root), ski(&root));
    assert_eq!(aki(&issuing), ski(&root));
    // The issuing CA points at the root's CRL.
    assert!(
        crl_uris(&issuing)
            .iter()
            .any(|uri| uri == pki::ROOT_CRL_URL)
    );
    // Valid around any card the tests build: 2013 to 2043.
    assert_eq!(root.validity().not_before.timestamp(), 1_372_118_400);
    assert!(issuing.validity().not_after.timestamp() > 2_300_000_000);
}

fn crl_uris(cert: &X509Certificate<'_>) -> Vec<String> {
    let ext = cert
        .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_CRL_DISTRIBUTION_POINTS)
        .unwrap()
        .unwrap();
    let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() else {
        panic!("CRL DP does not parse");
    };
    points
        .iter()
        .flat_map(|point| match &point.distribution_point {
            Some(DistributionPointName::FullName(names)) => names
                .iter()
                .map(|name| match name {
                    GeneralName::URI(uri) => (*uri).to_owned(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Checks what every card certificate has, whatever its usage.
fn check_common(pki: &TestPki, cert: &X509Certificate<'_>, id: &CardIdentity, key: usize) {
    // Signed by the issuing CA, which the root signed.
    let issuing = parse(pki.issuing_certificate());
    cert.verify_signature(Some(issuing.public_key())).unwrap();
    assert_eq!(cert.issuer().as_raw(), issuing.subject().as_raw());
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11"
    );
    assert_eq!(cert.version().0, 2);

    // The card's public key.
    let spki = card_key(key)
        .unwrap()
        .to_public_key()
        .to_public_key_der()
        .unwrap();
    assert_eq!(cert.public_key().raw, spki.as_bytes());

    // Validity to the second.
    let (not_before, not_after) = validity();
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert_eq!(cert.validity().not_before.timestamp(), secs(not_before));
    assert_eq!(cert.validity().not_after.timestamp(), secs(not_after));

    // Subject: C, [O, OU], title, then GN + CN + SN in one RDN; no serialNumber.
    let mut expected = vec![vec![(
        "2.5.4.6".to_owned(),
        PRINTABLE_STRING,
        "FR".to_owned(),
    )]];
    if let Some(structure) = &id.structure {
        expected.push(vec![(
            "2.5.4.10".to_owned(),
            UTF8_STRING,
            structure.name.clone(),
        )]);
        expected.push(vec![(
            "2.5.4.11".to_owned(),
            UTF8_STRING,
            structure.id.clone(),
        )]);
    }
    expected.push(vec![(
        "2.5.4.12".to_owned(),
        UTF8_STRING,
        id.profession_label.clone(),
    )]);
    let mut subject = rdns(cert.subject());
    let mut person = subject.pop().unwrap();
    assert_eq!(subject, expected);
    assert_eq!(person.len(), 3, "one RDN with three attributes");
    person.sort();
    let mut expected_person = vec![
        ("2.5.4.42".to_owned(), UTF8_STRING, id.given_name.clone()),
        ("2.5.4.3".to_owned(), UTF8_STRING, id.national_id.clone()),
        ("2.5.4.4".to_owned(), UTF8_STRING, id.surname.clone()),
    ];
    expected_person.sort();
    assert_eq!(person, expected_person);
    assert!(
        cert.subject()
            .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
            .next()
            .is_none()
    );

    // Private extensions, exact DER, non-critical.
    let category = if id.test_card { 0x80 } else { 0x00 };
    assert_eq!(
        extension(cert, "1.2.250.1.71.1.2.5"),
        (false, &[0x04, 0x01, category][..])
    );
    assert_eq!(
        extension(cert, "1.2.250.1.71.1.2.2"),
        (false, &[0x02, 0x01, id.card_type][..])
    );
    let mut number = vec![0x13, 21];
    number.extend_from_slice(format!("8025000001/{}", id.card_number).as_bytes());
    assert_eq!(extension(cert, "1.2.250.1.71.1.2.3"), (false, &number[..]));
    match id.profession_code {
        Some(code) => {
            let code = u8::try_from(code).unwrap();
            assert!(code < 0x80);
            assert_eq!(
                extension(cert, "1.2.250.1.71.1.2.7"),
                (false, &[0x02, 0x01, code][..])
            );
        }
        None => assert!(!has_extension(cert, "1.2.250.1.71.1.2.7")),
    }

    // Policy, CRL, AIA, key identifiers.
    let policies = cert
        .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_CERTIFICATE_POLICIES)
        .unwrap()
        .unwrap();
    let ParsedExtension::CertificatePolicies(policies) = policies.parsed_extension() else {
        panic!("policies do not parse");
    };
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0].policy_id.to_id_string(),
        "1.2.250.1.213.1.7.2.1.1.1.1"
    );
    assert_eq!(crl_uris(cert), [pki::CARD_CRL_URL]);
    let aia = cert
        .get_extension_unique(&x509_parser::oid_registry::OID_PKIX_AUTHORITY_INFO_ACCESS)
        .unwrap()
        .unwrap();
    let ParsedExtension::AuthorityInfoAccess(aia) = aia.parsed_extension() else {
        panic!("AIA does not parse");
    };
    let descriptions: Vec<_> = aia.iter().collect();
    assert_eq!(descriptions.len(), 1);
    assert_eq!(
        descriptions[0].access_method.to_id_string(),
        "1.3.6.1.5.5.7.48.2"
    );
    assert_eq!(
        descriptions[0].access_location,
        GeneralName::URI(pki::CARD_CA_ISSUERS_URL)
    );
    let issuing_ski = extension(&issuing, "2.5.29.14").1;
    let aki = extension(cert, "2.5.29.35").1;
    assert_eq!(&aki[4..], &issuing_ski[2..], "AKI is the issuing CA's SKI");
    assert!(has_extension(cert, "2.5.29.14"));
    assert!(
        !has_extension(cert, "2.5.29.19"),
        "no basicConstraints on a card certificate"
    );
}

#[test]
fn authentication_certificate_follows_the_profile() {
    let pki = TestPki::load().unwrap();
    let id = doctor();
    let der = issue(&pki, &id, CertUsage::Authentication, 0, 0x1234_5678);
    let cert = parse(&der);
    check_common(&pki, &cert, &id, 0);
    assert_eq!(cert.raw_serial(), [0x12, 0x34, 0x56, 0x78]);

    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.critical);
    assert!(ku.value.digital_signature());
    assert!(!ku.value.non_repudiation() && !ku.value.key_cert_sign());

    let eku = cert.extended_key_usage().unwrap().unwrap();
    assert!(eku.value.client_auth);
    assert!(!eku.value.server_auth && !eku.value.email_protection);
    let others: Vec<_> = eku.value.other.iter().map(|o| o.to_id_string()).collect();
    assert_eq!(others, ["1.3.6.1.4.1.311.20.2.2"]);

    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert!(!san.critical);
    assert_eq!(san.value.general_names.len(), 1);
    let GeneralName::OtherName(oid, value) = &san.value.general_names[0] else {
        panic!("SAN is not an otherName");
    };
    assert_eq!(oid.to_id_string(), "1.3.6.1.4.1.311.20.2.3");
    let upn = b"810002813839@carte-cps.fr";
    let mut expected = vec![0xA0, upn.len() as u8 + 2, 0x0C, upn.len() as u8];
    expected.extend_from_slice(upn);
    assert_eq!(*value, &expected[..]);

    // "Médecin" as UTF-8 inside a UTF8String.
    let title = [0x0C, 0x08, b'M', 0xC3, 0xA9, b'd', b'e', b'c', b'i', b'n'];
    assert!(der.windows(title.len()).any(|w| w == title));
}

#[test]
fn signature_certificate_has_non_repudiation_only() {
    let pki = TestPki::load().unwrap();
    let id = doctor();
    let der = issue(&pki, &id, CertUsage::Signature, 1, 2);
    let cert = parse(&der);
    check_common(&pki, &cert, &id, 1);
    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.critical);
    assert!(ku.value.non_repudiation());
    assert!(!ku.value.digital_signature());
    assert!(cert.extended_key_usage().unwrap().is_none());
    assert!(cert.subject_alternative_name().unwrap().is_none());
}

#[test]
fn technical_certificate_has_digital_signature() {
    let pki = TestPki::load().unwrap();
    let id = doctor();
    let der = issue(&pki, &id, CertUsage::Technical, 2, 3);
    let cert = parse(&der);
    check_common(&pki, &cert, &id, 2);
    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.value.digital_signature());
    assert!(!ku.value.non_repudiation());
    assert!(cert.extended_key_usage().unwrap().is_none());
    assert!(cert.subject_alternative_name().unwrap().is_none());
}

#[test]
fn staff_card_has_structure_and_no_profession() {
    let pki = TestPki::load().unwrap();
    let id = staff();
    for (index, usage) in [CertUsage::Authentication, CertUsage::Signature]
        .into_iter()
        .enumerate()
    {
        let der = issue(&pki, &id, usage, 3 + index, 100 + index as u64);
        check_common(&pki, &parse(&der), &id, 3 + index);
    }
    let der = issue(&pki, &id, CertUsage::Authentication, 3, 100);
    let cert = parse(&der);
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let GeneralName::OtherName(_, value) = &san.value.general_names[0] else {
        panic!("SAN is not an otherName");
    };
    assert!(value.ends_with(b"30B0057881/CPET0002@carte-cps.fr"));
}

#[test]
fn issuing_is_deterministic_and_fast() {
    let pki = TestPki::load().unwrap();
    let id = doctor();
    let public = card_key(4).unwrap().to_public_key();
    let (not_before, not_after) = validity();
    let start = Instant::now();
    let first = pki
        .issue(
            &id,
            CertUsage::Authentication,
            &public,
            not_before,
            not_after,
            7,
        )
        .unwrap();
    let elapsed = start.elapsed();
    eprintln!("TestPki::issue() took {elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "issue took {elapsed:?}");

    let again = TestPki::load()
        .unwrap()
        .issue(
            &id,
            CertUsage::Authentication,
            &public,
            not_before,
            not_after,
            7,
        )
        .unwrap();
    assert_eq!(first, again);
    let other_serial = pki
        .issue(
            &id,
            CertUsage::Authentication,
            &public,
            not_before,
            not_after,
            8,
        )
        .unwrap();
    assert_ne!(first, other_serial);
    // Sub-second parts of the times do not matter.
    let jittered = pki
        .issue(
            &id,
            CertUsage::Authentication,
            &public,
            not_before + Duration::from_millis(300),
            not_after,
            7,
        )
        .unwrap();
    assert_eq!(first, jittered);
}

#[test]
fn dates_from_2050_are_generalized_time() {
    let pki = TestPki::load().unwrap();
    let public = card_key(5).unwrap().to_public_key();
    let not_after = at(2_556_143_999 + 3600); // 2051-01-01T00:59:59Z
    let der = pki
        .issue(
            &doctor(),
            CertUsage::Signature,
            &public,
            at(1_735_689_600),
            not_after,
            9,
        )
        .unwrap();
    let cert = parse(&der);
    assert_eq!(cert.validity().not_after.timestamp(), 2_556_147_599);
    assert!(der.windows(2).any(|w| w == [0x18, 0x0F]), "GeneralizedTime");
    assert!(der.windows(2).any(|w| w == [0x17, 0x0D]), "UTCTime");
}

#[test]
fn crl_lists_the_revoked_serials_and_verifies() {
    let pki = TestPki::load().unwrap();
    let this_update = at(1_750_000_000);
    let next_update = this_update + Duration::from_secs(7 * 86_400);
    let revoked = [(0x1234_5678, at(1_749_000_000)), (42, at(1_749_500_000))];
    let der = pki.issue_crl(&revoked, this_update, next_update).unwrap();
    assert_eq!(
        der,
        pki.issue_crl(&revoked, this_update, next_update).unwrap()
    );

    let (rest, crl) = CertificateRevocationList::from_der(&der).unwrap();
    assert!(rest.is_empty());
    let issuing = parse(pki.issuing_certificate());
    crl.verify_signature(issuing.public_key()).unwrap();
    let root = parse(pki.root_certificate());
    assert!(crl.verify_signature(root.public_key()).is_err());
    assert_eq!(crl.issuer().as_raw(), issuing.subject().as_raw());
    assert_eq!(crl.version().map(|v| v.0), Some(1));
    assert_eq!(crl.last_update().timestamp(), 1_750_000_000);
    assert_eq!(crl.next_update().unwrap().timestamp(), 1_750_604_800);
    let listed: Vec<_> = crl
        .iter_revoked_certificates()
        .map(|entry| {
            (
                entry.raw_serial().to_vec(),
                entry.revocation_date.timestamp(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (vec![0x12, 0x34, 0x56, 0x78], 1_749_000_000),
            (vec![42], 1_749_500_000)
        ]
    );
    assert_eq!(
        crl.crl_number().map(|n| n.to_string()),
        Some("1750000000".to_owned())
    );
    assert!(
        crl.extensions()
            .iter()
            .any(|ext| ext.oid.to_id_string() == "2.5.29.35")
    );

    // A certificate with a listed serial is the one a relying party finds revoked.
    let cert_der = issue(&pki, &doctor(), CertUsage::Authentication, 6, 0x1234_5678);
    let cert = parse(&cert_der);
    assert!(
        crl.iter_revoked_certificates()
            .any(|entry| entry.raw_serial() == cert.raw_serial())
    );
}

#[test]
fn empty_crl_has_no_revoked_list() {
    let pki = TestPki::load().unwrap();
    let der = pki
        .issue_crl(&[], at(1_750_000_000), at(1_750_086_400))
        .unwrap();
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    crl.verify_signature(parse(pki.issuing_certificate()).public_key())
        .unwrap();
    assert_eq!(crl.iter_revoked_certificates().count(), 0);
}

#[test]
fn bad_inputs_are_rejected() {
    let pki = TestPki::load().unwrap();
    let public = card_key(0).unwrap().to_public_key();
    let (not_before, not_after) = validity();
    let try_issue = |id: &CardIdentity| {
        pki.issue(
            id,
            CertUsage::Authentication,
            &public,
            not_before,
            not_after,
            1,
        )
    };
    for card_number in ["123456789", "12345678901", "12345678a0", ""] {
        let id = CardIdentity {
            card_number: card_number.into(),
            ..doctor()
        };
        assert!(matches!(
            try_issue(&id),
            Err(PkiError::InvalidIdentity {
                field: "card_number",
                ..
            })
        ));
    }
    let id = CardIdentity {
        national_id: String::new(),
        ..doctor()
    };
    assert!(matches!(
        try_issue(&id),
        Err(PkiError::InvalidIdentity {
            field: "national_id",
            ..
        })
    ));
    assert!(matches!(
        pki.issue(
            &doctor(),
            CertUsage::Signature,
            &public,
            not_after,
            not_before,
            1
        ),
        Err(PkiError::InvalidValidity)
    ));
    assert!(matches!(
        pki.issue_crl(&[], not_after, not_before),
        Err(PkiError::InvalidValidity)
    ));
}

// The brief asks for at least 12 card keys.
const _: () = assert!(CARD_KEY_COUNT >= 12);

#[test]
fn card_key_pool_has_distinct_rsa_2048_keys() {
    let mut moduli = Vec::new();
    for index in 0..CARD_KEY_COUNT {
        let key = card_key(index).unwrap();
        assert_eq!(key.size(), 256, "key {index} is RSA-2048");
        assert_eq!(key.e(), &rsa::BigUint::from(65_537u32));
        moduli.push(key.n().clone());
    }
    moduli.sort();
    moduli.dedup();
    assert_eq!(moduli.len(), CARD_KEY_COUNT);
    assert!(matches!(
        card_key(CARD_KEY_COUNT),
        Err(PkiError::NoSuchCardKey { index, count }) if index == CARD_KEY_COUNT && count == CARD_KEY_COUNT
    ));
}

#[test]
fn card_keys_sign_what_their_certificate_verifies() {
    use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
    use rsa::signature::{Signer, Verifier};

    let pki = TestPki::load().unwrap();
    let key = card_key(7).unwrap();
    let der = issue(&pki, &doctor(), CertUsage::Signature, 7, 77);
    let cert = parse(&der);
    let signature: Signature = SigningKey::<sha2::Sha256>::new(key).sign(b"ordonnance");
    let public = <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(
        cert.public_key().raw,
    )
    .unwrap();
    VerifyingKey::<sha2::Sha256>::new(public)
        .verify(b"ordonnance", &signature)
        .unwrap();
}

/// The committed fixtures are exactly what the generator makes from the fixed seed.
/// Ignored by default (it generates 18 RSA keys, seconds of work): run with
/// `cargo test -p cps-sim --test pki -- --ignored`.
#[test]
#[ignore = "generates RSA keys"]
fn committed_fixtures_are_reproducible() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pki");
    let files = pki::generate_fixtures(pki::FIXTURE_SEED).unwrap();
    assert_eq!(files.len(), 4 + CARD_KEY_COUNT);
    for file in files {
        let committed = std::fs::read(dir.join(&file.name)).unwrap();
        assert!(
            committed == file.der,
            "{} differs from the generator's",
            file.name
        );
    }
}
