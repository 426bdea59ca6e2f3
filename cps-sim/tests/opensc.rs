//! Interoperability: OpenSC 0.23 (Debian's `opensc`), a middleware nobody here wrote,
//! against the virtual CPS3 through the real PC/SC stack — `opensc-tool`, `pkcs15-tool`
//! and `pkcs11-tool` with `opensc-pkcs11.so` → libpcsclite → pcscd → vpcd → the virtual
//! card in slot 1 (`Virtual PCD 00 01`).
//!
//! Needs pcscd running with the vpcd driver and the OpenSC tools: `scripts/test.sh`
//! installs both, starts pcscd and runs these with `--include-ignored`. Every tool runs
//! under a timeout (vpcd has none) with its own `OPENSC_CONF`: no file cache, the slot-0
//! reader ignored (other tests use it), OpenSC's debug log in a file that a failure
//! prints. `middleware-flows.md` (shared docs) has the APDU flows these runs exercise.
#![allow(clippy::unwrap_used)]

mod opensc_support;

use std::process::Command;
use std::time::{Duration, Instant};

use cps_sim::pki::CertUsage;
use opensc_support::{
    AUTH_ID, Inserted, OpenSc, READER, SIGN_ID, Workdir, ef_sn_serial, run_limited,
};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPublicKey};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The token label OpenSC gives an IAS-ECC card: TokenInfo label and the PIN's label.
fn token_label(card: &Inserted) -> String {
    format!("{} (Code porteur)", card.profile().token_label())
}

/// The certificate of one usage, DER, as the virtual card issued it.
fn certificate(card: &Inserted, usage: CertUsage) -> Vec<u8> {
    let wanted = std::mem::discriminant(&usage);
    card.certificates()
        .iter()
        .find(|(u, _)| std::mem::discriminant(u) == wanted)
        .map(|(_, der)| der.clone())
        .expect("the card has this certificate")
}

fn public_key(der: &[u8]) -> RsaPublicKey {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    RsaPublicKey::from_public_key_der(cert.tbs_certificate.subject_pki.raw).unwrap()
}

/// The text block of a `pkcs15-tool` listing that starts with `header`.
fn block<'a>(listing: &'a str, header: &str) -> &'a str {
    let start = listing
        .find(header)
        .unwrap_or_else(|| panic!("no `{header}` in:\n{listing}"));
    let rest = &listing[start..];
    rest.find("\n\n")
        .map_or(rest, |end| &rest[..end])
        .trim_end()
}

/// The harness itself (no pcscd, no OpenSC): a tool that hangs — a card that stops
/// answering blocks it forever, vpcd has no timeout — is killed at its deadline.
#[test]
fn a_hung_tool_is_killed_at_its_deadline() {
    let work = Workdir::new();
    let mut sleep = Command::new("sleep");
    sleep.arg("30");
    let start = Instant::now();
    let (status, _, _) = run_limited(sleep, work.dir(), Duration::from_millis(200));
    assert!(status.is_none(), "not killed: {status:?}");
    assert!(start.elapsed() < Duration::from_secs(10));

    let mut echo = Command::new("sh");
    echo.args(["-c", "echo out; echo err >&2; exit 3"]);
    let (status, stdout, stderr) = run_limited(echo, work.dir(), Duration::from_secs(30));
    assert_eq!(status.and_then(|s| s.code()), Some(3));
    assert_eq!((stdout.as_str(), stderr.as_str()), ("out\n", "err\n"));
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn opensc_tool_recognises_an_ias_ecc_card() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let run = opensc
        .run(
            "opensc-tool",
            &["--reader", READER, "--atr", "--serial", "--name"],
        )
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let atr = hex::encode(card.profile().atr_bytes())
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    // The ATR proves it is our card; the serial comes from EF.SN.ICC, read by SFI right
    // after the IAS application is selected (middleware-flows §4).
    assert_eq!(lines.first().copied(), Some(atr.as_str()), "{run}");
    let serial = ef_sn_serial(&card.profile().serial)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with(&serial)),
        "serial {serial} expected: {run}"
    );
    assert_eq!(lines.get(2).copied(), Some("IAS-ECC"), "{run}");
    assert_eq!(lines.len(), 3, "{run}");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs15_tool_lists_the_pin_and_the_puk() {
    let opensc = OpenSc::new();
    let _card = Inserted::cps3();
    let run = opensc
        .run("pkcs15-tool", &["--reader", READER, "--list-pins"])
        .success();
    let pin = "PIN [Code porteur]\n\
        \tObject Flags   : [0x03], private, modifiable\n\
        \tAuth ID        : 02\n\
        \tID             : 01\n\
        \tFlags          : [0x30], initialized, needs-padding\n\
        \tLength         : min_len:4, max_len:8, stored_len:8\n\
        \tPad char       : 0xFF\n\
        \tReference      : 1 (0x01)\n\
        \tType           : ascii-numeric\n\
        \tPath           : 3f00";
    let puk = "PIN [Code de deblocage]\n\
        \tObject Flags   : [0x03], private, modifiable\n\
        \tID             : 02\n\
        \tFlags          : [0xF0], initialized, needs-padding, unblockingPin, soPin\n\
        \tLength         : min_len:8, max_len:8, stored_len:8\n\
        \tPad char       : 0xFF\n\
        \tReference      : 2 (0x02)\n\
        \tType           : ascii-numeric\n\
        \tPath           : 3f00";
    assert_eq!(run.stdout.trim_end(), format!("{pin}\n\n{puk}"), "{run}");
    assert_eq!(run.stderr, "", "{run}");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs15_tool_lists_and_reads_both_certificates() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let run = opensc
        .run("pkcs15-tool", &["--reader", READER, "--list-certificates"])
        .success();
    let expected = [
        (
            "Certificat d'Authentification CPS",
            AUTH_ID,
            "a001",
            CertUsage::Authentication,
        ),
        (
            "Certificat de Signature CPS",
            SIGN_ID,
            "a002",
            CertUsage::Signature,
        ),
    ];
    assert_eq!(
        run.stdout.matches("X.509 Certificate [").count(),
        2,
        "{run}"
    );
    for (label, id, file, usage) in expected {
        let der = certificate(&card, usage);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let serial = cert.tbs_certificate.raw_serial();
        let listed = block(&run.stdout, &format!("X.509 Certificate [{label}]"));
        assert_eq!(
            listed,
            format!(
                "X.509 Certificate [{label}]\n\
                \tObject Flags   : [0x00]\n\
                \tAuthority      : no\n\
                \tPath           : e828bd080f8025000001ff0010::3f000001{file}\n\
                \tID             : {id}\n\
                \tEncoded serial : 02 {:02X} {}",
                serial.len(),
                hex::encode_upper(serial)
            ),
            "{run}"
        );

        let read = opensc
            .run(
                "pkcs15-tool",
                &["--reader", READER, "--read-certificate", id],
            )
            .success();
        let (rest, pem) = x509_parser::pem::parse_x509_pem(read.stdout.as_bytes())
            .unwrap_or_else(|e| panic!("not PEM ({e}): {read}"));
        assert_eq!(pem.label, "CERTIFICATE", "{read}");
        assert_eq!(pem.contents, der, "{label}: not the card's certificate");
        assert!(rest.iter().all(u8::is_ascii_whitespace), "{read}");
    }
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs15_tool_verifies_the_pin_and_a_wrong_pin_spends_a_try() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let verify = |pin: &str| {
        opensc.run(
            "pkcs15-tool",
            &["--reader", READER, "--verify-pin", "--pin", pin],
        )
    };
    let run = verify("1234").success();
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", ""),
        "{run}"
    );
    assert_eq!(card.counters().pin_tries_left, 3);

    let run = verify("9999").failure();
    assert_eq!(
        run.stderr, "Operation failed: PIN code or key incorrect\n",
        "{run}"
    );
    assert_eq!(
        card.counters().pin_tries_left,
        2,
        "a wrong PIN spends a try"
    );

    verify("1234").success();
    assert_eq!(card.counters().pin_tries_left, 3, "the right PIN resets it");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs15_tool_changes_blocks_and_unblocks_the_pin() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let verify = |pin: &str| {
        opensc.run(
            "pkcs15-tool",
            &["--reader", READER, "--verify-pin", "--pin", pin],
        )
    };
    let unblock = |puk: &str| {
        opensc.run(
            "pkcs15-tool",
            &[
                "--reader",
                READER,
                "--unblock-pin",
                "--puk",
                puk,
                "--new-pin",
                "1234",
            ],
        )
    };

    let run = opensc
        .run(
            "pkcs15-tool",
            &[
                "--reader",
                READER,
                "--change-pin",
                "--pin",
                "1234",
                "--new-pin",
                "4321",
            ],
        )
        .success();
    assert_eq!(run.stderr, "", "{run}");
    verify("4321").success();
    assert_eq!(card.counters().pin_tries_left, 3);

    // The old PIN is gone; two more wrong ones block the new one.
    for (pin, left) in [("1234", 2), ("0000", 1), ("0000", 0)] {
        let run = verify(pin).failure();
        assert!(run.stderr.contains("PIN code or key incorrect"), "{run}");
        assert_eq!(card.counters().pin_tries_left, left);
    }
    let run = verify("4321").failure();
    assert_eq!(
        run.stderr, "Operation failed: Authentication method blocked\n",
        "{run}"
    );
    assert_eq!(card.counters().pin_tries_left, 0);

    let run = unblock("11111111").failure();
    assert_eq!(run.status.and_then(|s| s.code()), Some(3), "{run}");
    assert_eq!(run.stderr, "PUK code incorrect; tries left: 9\n", "{run}");
    assert_eq!(card.counters().puk_tries_left, 9);

    let run = unblock("12345678").success();
    assert_eq!(run.stderr, "", "{run}");
    let counters = card.counters();
    assert_eq!(
        (
            counters.pin_tries_left,
            counters.puk_tries_left,
            counters.puk_usage_left
        ),
        (3, 10, 99),
        "PIN and PUK tries reset, one unblock used"
    );
    verify("1234").success();
    verify("4321").failure();
}

/// `pkcs11-tool` on the virtual card's slot.
fn pkcs11(opensc: &OpenSc, args: &[&str]) -> opensc_support::Run {
    let module = opensc.module().to_string_lossy().into_owned();
    let mut all = vec!["--module", module.as_str(), "--slot-description", READER];
    all.extend_from_slice(args);
    opensc.run("pkcs11-tool", &all)
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs11_tool_lists_the_token_and_logs_in() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let serial = hex::encode_upper(ef_sn_serial(&card.profile().serial));
    let token = |run: &opensc_support::Run, flags: &str| {
        let slot = block(&run.stdout, READER);
        assert_eq!(
            slot,
            format!(
                "{READER}\n  \
                token label        : {}\n  \
                token manufacturer : ASIP SANTE\n  \
                token model        : PKCS#15 emulated\n  \
                token flags        : {flags}\n  \
                hardware version   : 0.0\n  \
                firmware version   : 0.0\n  \
                serial num         : {serial}\n  \
                pin min/max        : 4/8",
                token_label(&card)
            ),
            "{run}"
        );
    };
    // The slot-0 reader is ignored: ours is the only slot.
    let run = pkcs11(&opensc, &["--list-slots"]).success();
    assert!(
        run.stdout
            .starts_with(&format!("Available slots:\nSlot 0 (0x0): {READER}")),
        "{run}"
    );
    token(
        &run,
        "login required, rng, token initialized, PIN initialized, readonly",
    );

    let run = pkcs11(&opensc, &["--login", "--pin", "9999", "--list-objects"]).failure();
    assert!(run.stderr.contains("CKR_PIN_INCORRECT"), "{run}");
    assert_eq!(card.counters().pin_tries_left, 2);
    // The counters come from GET DATA on the PIN's security data object.
    let run = pkcs11(&opensc, &["--list-slots"]).success();
    token(
        &run,
        "login required, rng, token initialized, user PIN count low, PIN initialized, readonly",
    );

    let run = pkcs11(
        &opensc,
        &[
            "--login",
            "--pin",
            "1234",
            "--list-objects",
            "--type",
            "privkey",
        ],
    )
    .success();
    assert_eq!(card.counters().pin_tries_left, 3);
    let access = "sensitive, always sensitive, never extractable, local";
    assert_eq!(
        run.stdout.trim_end(),
        format!(
            "Private Key Object; RSA \n  \
            label:      CPS_PRIV_SIG\n  \
            ID:         {SIGN_ID}\n  \
            Usage:      sign, non-repudiation\n  \
            Access:     {access}\n\
            Private Key Object; RSA \n  \
            label:      CPS_PRIV_AUT\n  \
            ID:         {AUTH_ID}\n  \
            Usage:      decrypt, sign\n  \
            Access:     {access}"
        ),
        "{run}"
    );
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs11_tool_signs_with_the_authentication_key() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let message = "Ordonnance n° 42, signée par la CPS virtuelle".as_bytes();
    let input = opensc.write("message.bin", message);
    let output = opensc.path("signature.bin");
    let run = pkcs11(
        &opensc,
        &[
            "--login",
            "--pin",
            "1234",
            "--sign",
            "--mechanism",
            "RSA-PKCS",
            "--id",
            AUTH_ID,
            "--input-file",
            &input,
            "--output-file",
            &output,
        ],
    )
    .success();
    assert_eq!(run.stderr, "Using signature algorithm RSA-PKCS\n", "{run}");
    let signature = std::fs::read(&output).unwrap();
    assert_eq!(signature.len(), 256, "{run}");
    let key = public_key(&certificate(&card, CertUsage::Authentication));
    key.verify(Pkcs1v15Sign::new_unprefixed(), message, &signature)
        .expect("the signature verifies with the authentication certificate's key");
}

#[test]
#[ignore = "needs pcscd with the vpcd driver: run scripts/test.sh"]
fn pkcs11_tool_decrypts_with_the_authentication_key() {
    let opensc = OpenSc::new();
    let card = Inserted::cps3();
    let plaintext = b"cle de session: 0123456789abcdef";
    let key = public_key(&certificate(&card, CertUsage::Authentication));
    let cryptogram = key
        .encrypt(&mut rand::thread_rng(), Pkcs1v15Encrypt, plaintext)
        .unwrap();
    let input = opensc.write("cryptogram.bin", &cryptogram);
    let output = opensc.path("plaintext.bin");
    let run = pkcs11(
        &opensc,
        &[
            "--login",
            "--pin",
            "1234",
            "--decrypt",
            "--mechanism",
            "RSA-PKCS",
            "--id",
            AUTH_ID,
            "--input-file",
            &input,
            "--output-file",
            &output,
        ],
    )
    .success();
    assert_eq!(run.stderr, "Using decrypt algorithm RSA-PKCS\n", "{run}");
    assert_eq!(std::fs::read(&output).unwrap(), plaintext, "{run}");
}
