//! The APDU sequences of middleware-flows §3 (Cryptolib CPS 5.2.2) and §4 (OpenSC 0.23),
//! replayed end to end with the status words they got.

mod common;

use common::{Host, block, h, public_key};
use cps_sim::pki::CertUsage;
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign};

/// GET RESPONSE of exactly what `61 xx` announced; returns the data.
fn fetch(card: &mut Host, command: &str, announced: u8) -> Vec<u8> {
    card.exchange(command, &format!("61 {announced:02X}"));
    let (data, sw) = common::split(card.raw(&[0x00, 0xC0, 0x00, 0x00, announced]));
    assert_eq!(sw, 0x9000, "{command}");
    data
}

#[test]
fn cryptolib_session() {
    let mut card = Host::new("cps3");
    // C_Initialize / C_GetSlotList / C_GetTokenInfo.
    fetch(&mut card, "00 A4 09 04 04 3F 00 D0 03", 0x27);
    card.exchange(
        "00 B0 00 00 0C",
        "5A 0A 80 25 00 00 01 99 21 38 45 0F 90 00",
    );
    for _ in 0..2 {
        fetch(&mut card, "00 A4 09 04 04 3F 00 2F 00", 0x27);
    }
    card.expect("00 B0 00 00 65", 0x9000);
    for _ in 0..2 {
        card.exchange("00 A4 09 04 04 3F 00 D0 10", "6A 82");
    }
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    for _ in 0..2 {
        fetch(&mut card, "00 A4 09 04 06 3F 00 00 01 50 31", 0x24);
    }
    card.expect("00 B0 00 00 30", 0x9000);
    for _ in 0..2 {
        fetch(&mut card, "00 A4 09 04 06 3F 00 00 01 50 32", 0x24);
    }
    card.expect("00 B0 00 00 D2", 0x9000);
    for _ in 0..2 {
        card.exchange("00 A4 09 0C 02 3F 00", "90 00");
        card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80", "61 18");
        card.expect("00 C0 00 00 18", 0x9000);
        card.exchange("00 A4 09 0C 02 3F 00", "90 00");
        card.exchange("00 CB 3F FF 0A 4D 08 70 06 BF 81 02 02 A0 80", "61 1C");
        card.expect("00 C0 00 00 1C", 0x9000);
    }
    for file in ["7001", "7002", "7004", "7005", "A001", "A002"] {
        card.read_file(&format!("3F00 0001 {file}"));
    }

    // Login.
    card.exchange("00 A4 02 0C 02 3F 00", "90 00");
    card.exchange("00 20 00 01 08 31 32 33 34 FF FF FF FF", "90 00");
    // CKM_RSA_PKCS with the authentication key.
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 22 41 A4 06 80 01 02 84 01 82", "90 00");
    card.exchange("00 88 00 00 05 68 65 6C 6C 6F", "61 00");
    let (head, sw) = common::split(card.raw(&h("00 C0 00 00 E7")));
    assert_eq!(sw, 0x6119);
    let (tail, sw) = common::split(card.raw(&h("00 C0 00 00 19")));
    assert_eq!(sw, 0x9000);
    public_key(&card, CertUsage::Authentication)
        .verify(
            Pkcs1v15Sign::new_unprefixed(),
            b"hello",
            &[head, tail].concat(),
        )
        .unwrap();
    // CKM_SHA256_RSA_PKCS with the signature key: hash finished on the card.
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 22 41 AA 03 80 01 40", "90 00");
    card.exchange("00 2A 90 A0 07 90 00 80 03 61 62 63", "90 00");
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 22 41 B6 06 80 01 42 84 01 81", "90 00");
    let (signature, sw) = common::split(card.raw(&h("00 2A 9E 9A 00")));
    assert_eq!((signature.len(), sw), (256, 0x9000));
    // Decipher.
    let cryptogram = public_key(&card, CertUsage::Authentication)
        .encrypt(&mut rand::thread_rng(), Pkcs1v15Encrypt, b"secret")
        .unwrap();
    card.exchange("00 22 41 B8 06 80 01 1A 84 01 82", "90 00");
    let mut first = h("10 2A 80 86 FF 81");
    first.extend(&cryptogram[..254]);
    assert_eq!(card.raw(&first), [0x90, 0x00]);
    let mut last = h("00 2A 80 86 02");
    last.extend(&cryptogram[254..]);
    assert_eq!(card.raw(&last), [0x61, 0x06]);
    card.exchange("00 C0 00 00 06", "73 65 63 72 65 74 90 00");
    // Change PIN, then unblock with the PUK (SO login).
    card.exchange(&format!("00 20 00 01 08 {}", block("1234")), "90 00");
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("1234"), block("4321")),
        "90 00",
    );
    card.exchange(&format!("00 20 00 02 08 {}", block("12345678")), "90 00");
    card.exchange(&format!("00 2C 02 01 08 {}", block("1234")), "90 00");
    card.exchange(&format!("00 20 00 01 08 {}", block("1234")), "90 00");
    // The CPS2ter-side object, after VERIFY.
    card.exchange("A0 A4 00 00 02 3F 00", "9F 07");
    card.exchange("A0 A4 00 00 02 40 10", "9F 07");
    card.exchange("A0 C0 00 00 07", "85 05 00 20 40 10 04 90 00");
    card.exchange("A0 A4 00 00 02 3F 00", "9F 07");
    card.exchange("A0 A4 00 00 02 40 10", "9F 07");
    card.expect("A0 B0 00 00 20", 0x9000);
}

#[test]
fn opensc_session() {
    let mut card = Host::new("cps3");
    // Card init.
    fetch(&mut card, "00 A4 09 04 04 3F 00 2F 01", 0x27);
    card.expect("00 B0 00 00 39", 0x9000);
    card.exchange("00 A4 04 04 08 80 25 00 00 01 FF 01 00", "90 00");
    card.exchange("00 B0 9C 00 C0", "6C 0C");
    card.expect("00 B0 9C 00 0C", 0x9000);
    // Bind.
    card.read_file("3F00 2F00");
    fetch(&mut card, "00 A4 09 04 04 3F 00 00 01", 0x2F);
    for file in ["5031", "5032", "7001", "7002", "7005", "7004"] {
        card.read_file(&format!("3F00 0001 {file}"));
    }
    // Login (pkcs11).
    fetch(
        &mut card,
        "00 A4 04 04 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        0x2F,
    );
    card.read_file("3F00 0001 A001");
    fetch(&mut card, "00 A4 02 04 02 3F 00", 0x20);
    card.exchange("00 20 00 01 00", "63 C3");
    fetch(&mut card, "00 A4 09 04 02 3F 00", 0x20);
    card.exchange("00 CB 3F FF 0B 4D 09 70 07 BF 81 01 03 7F 41 80", "6A 80");
    fetch(
        &mut card,
        "00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80",
        0x18,
    );
    fetch(
        &mut card,
        "00 A4 04 04 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        0x2F,
    );
    card.exchange("00 20 00 01 08 31 32 33 34 FF FF FF FF", "90 00");
    // Sign CKM_RSA_PKCS with the authentication key.
    fetch(
        &mut card,
        "00 A4 04 04 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        0x2F,
    );
    card.exchange("00 CB 3F FF 0B 4D 09 70 07 BF 90 02 03 7F 48 80", "6A 80");
    fetch(
        &mut card,
        "00 CB 3F FF 0A 4D 08 70 06 BF 90 02 02 A0 80",
        0x17,
    );
    card.exchange("00 22 41 A4 06 84 01 82 80 01 02", "90 00");
    card.exchange("00 88 00 00 03 01 02 03", "61 00");
    let (signature, sw) = common::split(card.raw(&h("00 C0 00 00 00")));
    assert_eq!((signature.len(), sw), (256, 0x9000));
    public_key(&card, CertUsage::Authentication)
        .verify(Pkcs1v15Sign::new_unprefixed(), &[1, 2, 3], &signature)
        .unwrap();
    card.exchange("00 A4 04 04 08 80 25 00 00 01 FF 01 00", "90 00");
    // That reselection ended the login: OpenSC logs in again before deciphering.
    card.exchange("00 20 00 01 00", "63 C3");
    card.exchange("00 20 00 01 08 31 32 33 34 FF FF FF FF", "90 00");
    fetch(
        &mut card,
        "00 A4 04 04 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        0x2F,
    );
    card.exchange("00 CB 3F FF 0B 4D 09 70 07 BF 90 02 03 7F 48 80", "6A 80");
    card.exchange("00 22 41 B8 06 84 01 82 80 01 1A", "90 00");
    let cryptogram = public_key(&card, CertUsage::Authentication)
        .encrypt(&mut rand::thread_rng(), Pkcs1v15Encrypt, b"0123456789")
        .unwrap();
    let mut first = h("10 2A 80 86 FF 81");
    first.extend(&cryptogram[..254]);
    assert_eq!(card.raw(&first), [0x90, 0x00]);
    let mut last = h("00 2A 80 86 02");
    last.extend(&cryptogram[254..]);
    assert_eq!(card.raw(&last), [0x61, 0x0A]);
    card.exchange("00 C0 00 00 0A", "30 31 32 33 34 35 36 37 38 39 90 00");
    // pkcs15-tool --change-pin, --unblock-pin.
    card.exchange("00 20 00 01 08 31 32 33 34 FF FF FF FF", "90 00");
    card.exchange(
        &format!("00 24 00 01 10 {} {}", block("1234"), block("9876")),
        "90 00",
    );
    card.exchange("00 20 00 02 00", "63 CA");
    card.exchange("00 20 00 02 08 31 32 33 34 35 36 37 38", "90 00");
    card.exchange(&format!("00 2C 02 01 08 {}", block("1234")), "90 00");
    // Probes when a bind fails.
    card.exchange("00 A4 09 04 06 3F 00 00 02 50 31", "6A 82");
    card.exchange(
        "00 A4 04 04 0F E8 28 BD 08 0F A0 00 00 01 67 45 53 49 47 4E",
        "6A 82",
    );
}
