//! Signatures, deciphering and hashing with the card's keys, checked with the
//! certificates' public keys.

mod common;

use common::{Host, h, login, public_key};
use cps_sim::pki::CertUsage;
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign};
use sha2::{Digest, Sha256};

const SHA256_INFO: &str = "30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20";

#[test]
fn cryptolib_internal_authenticate() {
    let mut card = Host::new("cps3");
    login(&mut card);
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 22 41 A4 06 80 01 02 84 01 82", "90 00");
    card.exchange("00 88 00 00 05 68 65 6C 6C 6F", "61 00");
    let (first, sw) = common::split(card.raw(&h("00 C0 00 00 E7")));
    assert_eq!((first.len(), sw), (231, 0x6119));
    let (rest, sw) = common::split(card.raw(&h("00 C0 00 00 19")));
    assert_eq!((rest.len(), sw), (25, 0x9000));
    let signature = [first, rest].concat();
    public_key(&card, CertUsage::Authentication)
        .verify(Pkcs1v15Sign::new_unprefixed(), b"hello", &signature)
        .unwrap();
}

#[test]
fn opensc_internal_authenticate_with_a_digest_info() {
    let mut card = Host::new("cps3");
    login(&mut card);
    card.exchange(
        "00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        "90 00",
    );
    // Tags in the other order.
    card.exchange("00 22 41 A4 06 84 01 82 80 01 02", "90 00");
    let digest = Sha256::digest(b"message");
    let info = [h(SHA256_INFO), digest.to_vec()].concat();
    let mut command = vec![0x00, 0x88, 0x00, 0x00, info.len() as u8];
    command.extend(&info);
    assert_eq!(common::split(card.raw(&command)).1, 0x6100);
    let (signature, sw) = common::split(card.raw(&h("00 C0 00 00 00")));
    assert_eq!(sw, 0x9000);
    public_key(&card, CertUsage::Authentication)
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    card.exchange("00 A4 04 04 08 80 25 00 00 01 FF 01 00", "90 00");
}

#[test]
fn cryptolib_hash_on_card_then_sign() {
    let mut card = Host::new("cps3");
    login(&mut card);
    let message: Vec<u8> = (0..300u32).map(|i| (i * 31 % 251) as u8).collect();
    // The host hashes the first 256 bytes (4 blocks) and sends the state.
    let mut state = [
        0x6A09_E667u32,
        0xBB67_AE85,
        0x3C6E_F372,
        0xA54F_F53A,
        0x510E_527F,
        0x9B05_688C,
        0x1F83_D9AB,
        0x5BE0_CD19,
    ];
    let blocks: Vec<_> = message[..256]
        .chunks_exact(64)
        .map(|c| {
            let mut b = [0u8; 64];
            b.copy_from_slice(c);
            b.into()
        })
        .collect();
    sha2::compress256(&mut state, &blocks);
    let mut intermediate: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
    intermediate.extend(2048u64.to_be_bytes());
    let mut data = vec![0x90, 40];
    data.extend(&intermediate);
    data.extend([0x80, 44]);
    data.extend(&message[256..]);
    assert_eq!(data.len(), 88);

    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 22 41 AA 03 80 01 40", "90 00");
    let mut pso_hash = vec![0x00, 0x2A, 0x90, 0xA0, data.len() as u8];
    pso_hash.extend(&data);
    assert_eq!(card.raw(&pso_hash), [0x90, 0x00]);
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 22 41 B6 06 80 01 42 84 01 81", "90 00");
    // Case 2, Le 00: the signature comes back directly.
    let (signature, sw) = common::split(card.raw(&h("00 2A 9E 9A 00")));
    assert_eq!((signature.len(), sw), (256, 0x9000));
    public_key(&card, CertUsage::Signature)
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(&message),
            &signature,
        )
        .unwrap();
    // The hash is spent.
    card.exchange("00 2A 9E 9A 00", "69 85");
}

#[test]
fn hash_variants() {
    let mut card = Host::new("cps3");
    login(&mut card);
    card.exchange("00 2A 90 A0 04 90 00 80 00", "69 85"); // no HT yet
    card.exchange("00 22 41 AA 03 80 01 40", "90 00");
    card.exchange("00 22 41 B6 06 80 01 42 84 01 81", "90 00");
    // `90 00`: nothing hashed yet, the card hashes the 3 bytes.
    card.exchange("00 2A 90 A0 07 90 00 80 03 61 62 63", "90 00");
    let (signature, _) = card.send("00 2A 9E 9A 00");
    let key = public_key(&card, CertUsage::Signature);
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(b"abc"),
        &signature,
    )
    .unwrap();
    // A finished hash handed over in `90`.
    let digest = Sha256::digest(b"finished");
    let mut command = h("00 2A 90 A0 22 90 20");
    command.extend(digest);
    assert_eq!(card.raw(&command), [0x90, 0x00]);
    let (signature, _) = card.send("00 2A 9E 9A 00");
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    // Malformed: a bit count that is not whole blocks, a short state, unknown tags.
    let mut bad = vec![0x00, 0x2A, 0x90, 0xA0, 0x2D, 0x90, 0x28];
    bad.extend([0u8; 32]);
    bad.extend(100u64.to_be_bytes());
    bad.extend([0x80, 0x01, 0x00]);
    assert_eq!(card.raw(&bad), [0x6A, 0x80]);
    card.exchange("00 2A 90 A0 05 90 01 00 80 00", "6A 80");
    card.exchange("00 2A 90 A0 03 81 01 00", "6A 80");
    card.exchange("00 2A 90 A0 02 90 05", "6A 80");
    // SHA-1 too.
    card.exchange("00 22 41 AA 03 80 01 10", "90 00");
    card.exchange("00 22 41 B6 06 80 01 12 84 01 81", "90 00");
    card.exchange("00 2A 90 A0 07 90 00 80 03 61 62 63", "90 00");
    let (signature, _) = card.send("00 2A 9E 9A 00");
    let sha1_abc = h("A9 99 3E 36 47 06 81 6A BA 3E 25 71 78 50 C2 6C 9C D0 D8 9D");
    let info = [h("30 21 30 09 06 05 2B 0E 03 02 1A 05 00 04 14"), sha1_abc].concat();
    key.verify(Pkcs1v15Sign::new_unprefixed(), &info, &signature)
        .unwrap();
    // A SHA-256 signature refuses a SHA-1 hash.
    card.exchange("00 2A 90 A0 07 90 00 80 03 61 62 63", "90 00");
    card.exchange("00 22 41 B6 06 80 01 42 84 01 81", "90 00");
    card.exchange("00 2A 9E 9A 00", "69 85");
}

#[test]
fn signature_over_a_hash_sent_as_data() {
    let mut card = Host::new("cps3");
    login(&mut card);
    card.exchange("00 22 41 B6 06 80 01 42 84 01 81", "90 00");
    let digest = Sha256::digest(b"sent");
    let mut command = h("00 2A 9E 9A 20");
    command.extend(digest);
    let (signature, sw) = card.send_bytes(&command);
    assert_eq!(sw, 0x9000);
    public_key(&card, CertUsage::Signature)
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    card.exchange("00 2A 9E 9A 03 01 02 03", "6A 80");
}

#[test]
fn chained_decipher() {
    let mut card = Host::new("cps3");
    login(&mut card);
    let secret = b"a session key of 32 bytes.......";
    let cryptogram = public_key(&card, CertUsage::Authentication)
        .encrypt(&mut rand::thread_rng(), Pkcs1v15Encrypt, secret)
        .unwrap();
    card.exchange("00 22 41 B8 06 80 01 1A 84 01 82", "90 00");
    let mut first = h("10 2A 80 86 FF 81");
    first.extend(&cryptogram[..254]);
    assert_eq!(card.raw(&first), [0x90, 0x00]);
    let mut last = h("00 2A 80 86 02");
    last.extend(&cryptogram[254..]);
    let (plain, sw) = card.send_bytes(&last);
    assert_eq!((plain.as_slice(), sw), (&secret[..], 0x9000));
    // OpenSC's tag order; a chain broken by another command is forgotten.
    card.exchange("00 22 41 B8 06 84 01 82 80 01 1A", "90 00");
    assert_eq!(card.raw(&first), [0x90, 0x00]);
    card.raw(&h("00 84 00 00 08"));
    assert_eq!(common::split(card.raw(&last)).1, 0x6700);
    // A cryptogram that does not decipher.
    let mut garbage = h("10 2A 80 86 FF 81");
    garbage.extend([0x11; 254]);
    assert_eq!(card.raw(&garbage), [0x90, 0x00]);
    card.exchange("00 2A 80 86 02 22 33", "6A 80");
    // Chaining is for PSO only.
    card.exchange("10 22 41 B8 06 84 01 82 80 01 1A", "68 84");
}

#[test]
fn keys_need_the_pin_and_an_environment() {
    let mut card = Host::new("cps3");
    card.exchange("00 88 00 00 05 68 65 6C 6C 6F", "69 85");
    card.exchange("00 22 41 A4 06 80 01 02 84 01 82", "90 00");
    card.exchange("00 88 00 00 05 68 65 6C 6C 6F", "69 82");
    card.exchange("00 22 41 B6 06 80 01 42 84 01 81", "90 00");
    card.exchange(&format!("00 2A 9E 9A 20 {}", "00 ".repeat(32)), "69 82");
    login(&mut card);
    // At most 40 % of the modulus (102 bytes).
    let mut big = vec![0x00, 0x88, 0x00, 0x00, 103];
    big.extend([0x55; 103]);
    assert_eq!(card.raw(&big), [0x67, 0x00]);
    big[4] = 102;
    big.pop();
    assert_eq!(common::split(card.raw(&big)).1, 0x6100);
    card.exchange("00 88 01 00 05 68 65 6C 6C 6F", "6A 86");
    // The environment is forgotten with the application.
    card.exchange("00 A4 04 00 08 80 25 00 00 01 FF 01 00", "90 00");
    login(&mut card);
    card.exchange("00 88 00 00 05 68 65 6C 6C 6F", "69 85");
}

#[test]
fn mse_refusals() {
    let mut card = Host::new("cps3");
    card.exchange("00 22 41 A4 06 80 01 02 84 01 83", "6A 88"); // no technical key on contact
    card.exchange("00 22 41 A4 06 80 01 02 84 01 81", "6A 80"); // the signature key does not authenticate
    card.exchange("00 22 41 B6 06 80 01 42 84 01 82", "6A 80"); // nor the authentication key sign
    card.exchange("00 22 41 B6 06 80 01 99 84 01 81", "6A 80");
    card.exchange("00 22 41 B8 06 80 01 1A 84 01 81", "6A 80");
    card.exchange("00 22 41 B8 03 83 01 20", "6A 80"); // the CPS4 form, on a CPS3
    card.exchange("00 22 41 A4 03 80 01 02", "6A 80"); // no key
    card.exchange("00 22 41 AA 03 80 01 42", "6A 80");
    card.exchange("00 22 41 A4 04 80 02 00 02", "6A 80");
    card.exchange("00 22 41 A4 05 80 01 02 84 01", "6A 80");
    card.exchange("00 22 41 A5 03 80 01 02", "6A 86");
    card.exchange("00 22 42 A4 03 80 01 02", "6A 86");
    card.exchange("00 22 F3 01", "90 00");
    card.exchange("00 2A 9E 9B 00", "6A 86");
}

#[test]
fn get_challenge() {
    let mut card = Host::new("cps3");
    let (a, sw) = common::split(card.raw(&h("00 84 00 00 08")));
    assert_eq!((a.len(), sw), (8, 0x9000));
    let (b, _) = common::split(card.raw(&h("00 84 00 00 08")));
    assert_ne!(a, b);
    let (c, _) = common::split(card.raw(&h("00 84 00 00 00")));
    assert_eq!(c.len(), 256);
    card.exchange("00 84 00 00", "67 00");
    card.exchange("00 84 00 01 08", "6A 86");
}

#[test]
fn contactless_technical_key_needs_no_pin() {
    let mut card = Host::new("cps3-cl");
    card.exchange("00 A4 09 0C 04 3F 00 00 02", "90 00");
    let sdo = card.expect("00 CB 3F FF 0A 4D 08 70 06 BF 90 03 02 A0 80", 0x9000);
    assert_eq!(sdo[..5], h("70 15 BF 90 03")[..]);
    card.exchange("00 22 41 A4 06 80 01 02 84 01 83", "90 00");
    let (signature, sw) = common::split(card.raw(&h("00 88 00 00 04 74 65 63 68")));
    assert_eq!((signature.len(), sw), (256, 0x9000));
    public_key(&card, CertUsage::Technical)
        .verify(Pkcs1v15Sign::new_unprefixed(), b"tech", &signature)
        .unwrap();
    // The contact keys are there, but the PIN cannot be presented over the air.
    card.exchange("00 22 41 A4 06 80 01 02 84 01 82", "90 00");
    card.exchange("00 88 00 00 04 74 65 63 68", "69 82");
}
