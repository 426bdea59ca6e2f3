//! CPS4: the ChipDoc PKI on logical channel 1, T=1, the vendor library's recovery
//! sequence, PIN counters by empty VERIFY, unblock, authentication by DECIPHER.

mod common;

use common::{Host, block, h, hx, public_key};
use cps_sim::pki::CertUsage;
use cps_sim::profile::Profile;
use rsa::{Pkcs1v15Sign, Pss};
use sha2::{Digest, Sha256};

const CHIPDOC: &str = "01 A4 04 0C 08 80 25 00 00 01 FF 01 00";

fn open(card: &mut Host) {
    card.exchange(CHIPDOC, "90 00");
}

#[test]
fn channel_rules() {
    let mut card = Host::new("cps4");
    assert!(!card.card().is_t0());
    // Nothing runs on channel 1 before the application is selected there.
    card.exchange("01 A4 08 00 02 D0 03", "68 81");
    card.exchange("01 20 00 81", "68 81");
    card.exchange("01 B0 00 00 00", "68 81");
    // Channels 2 and up do not exist; the basic channel has no PKI.
    card.exchange("02 A4 04 0C 08 80 25 00 00 01 FF 01 00", "68 81");
    card.exchange("03 20 00 81", "68 81");
    card.exchange("40 20 00 81", "68 81");
    card.exchange("00 A4 04 0C 08 80 25 00 00 01 FF 01 00", "6A 82");
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "6A 82");
    card.exchange("00 20 00 81", "69 85");
    open(&mut card);
    // EF.SN by path without 3F00: an FCI, directly (T=1).
    let (fci, sw) = common::split(card.raw(&h("01 A4 08 00 02 D0 03")));
    assert_eq!(sw, 0x9000);
    assert_eq!(fci[0], 0x6F);
    assert_eq!(common::fcp_size(&fci), 12);
    let (sn, sw) = common::split(card.raw(&h("01 B0 00 00 00")));
    assert_eq!((hx(&sn[..7]), sw), (hx(&h("5A 0A 80 25 00 00 01")), 0x9000));
    assert_eq!(sn.len(), 12);
    // The application answers like a DF when asked for its FCP.
    let (fcp, _) = common::split(card.raw(&h("01 A4 04 04 08 80 25 00 00 01 FF 01 00")));
    assert_eq!(fcp[0], 0x62);
    // Files by path, FCP and FCI.
    let (fcp, _) = common::split(card.raw(&h("01 A4 08 04 04 00 01 50 32")));
    assert_eq!(fcp[0], 0x62);
    let info = card.expect("01 B0 00 00 00", 0x9000);
    let label = b"CPS4v1-8042419901";
    assert!(info.windows(label.len()).any(|w| w == label));
    // The CPS4 has no INTERNAL AUTHENTICATE.
    card.exchange("01 88 00 00 04 01 02 03 04", "6D 00");
    // A reset closes channel 1.
    card.t.reset();
    card.exchange("01 A4 08 00 02 D0 03", "68 81");
}

#[test]
fn recovery_sequence() {
    let mut card = Host::new("cps4");
    open(&mut card);
    card.exchange("01 A4 04 0C 07 A0 00 00 01 51 00 00", "90 00");
    // The ISD is on channel 1 now: no PKI there.
    card.exchange("01 A4 08 00 02 D0 03", "68 81");
    card.exchange("00 A4 04 0C 08 80 25 00 00 01 FF 00 02", "90 00");
    card.exchange(CHIPDOC, "90 00");
    let (fci, sw) = common::split(card.raw(&h("01 A4 08 00 02 D0 03")));
    assert_eq!((fci[0], sw), (0x6F, 0x9000));
}

#[test]
fn manage_channel() {
    let mut card = Host::new("cps4");
    card.exchange("00 70 00 00 01", "01 90 00");
    card.exchange("00 70 00 00 01", "68 81"); // no other channel
    card.exchange("01 20 00 81", "68 81"); // open, but no application
    open(&mut card);
    card.exchange("01 20 00 81", "63 C3");
    card.exchange("00 70 80 01", "90 00");
    card.exchange("01 20 00 81", "68 81");
    card.exchange("00 70 00 02", "68 81");
    card.exchange("00 70 01 01", "6A 86");
}

#[test]
fn counters_by_empty_verify_and_unblock() {
    let mut card = Host::new("cps4");
    open(&mut card);
    // The AODF declares local references.
    card.exchange("01 A4 08 0C 04 00 01 70 01", "90 00");
    let aodf = card.expect("01 B0 00 00 00", 0x9000);
    assert!(aodf.windows(3).any(|w| w == [0x80, 0x01, 0x81]));
    assert!(aodf.windows(3).any(|w| w == [0x80, 0x01, 0x82]));
    card.exchange("01 20 00 81", "63 C3");
    card.exchange("01 20 00 01", "63 C3");
    card.exchange("01 20 00 82", "63 CA");
    for left in ["63 C2", "63 C1", "63 C0", "69 83"] {
        card.exchange(&format!("01 20 00 81 08 {}", block("0000")), left);
    }
    card.exchange("01 20 00 81", "69 83");
    // Unblock: PUK on channel 1, reset the counter, then set the new PIN.
    card.exchange("01 2C 03 81", "69 82");
    card.exchange(&format!("01 20 00 82 08 {}", block("12345678")), "90 00");
    card.exchange("01 2C 03 81", "90 00");
    card.exchange(&format!("01 24 01 81 08 {}", block("8642")), "90 00");
    card.exchange(&format!("01 20 00 81 08 {}", block("8642")), "90 00");
    assert_eq!(card.card().counters().puk_usage_left, 99);
    // Selecting the application again ends the verification.
    open(&mut card);
    card.exchange("01 20 00 81", "63 C3");
}

#[test]
fn authentication_by_raw_decipher() {
    let mut card = Host::new("cps4");
    open(&mut card);
    card.exchange(&format!("01 20 00 81 08 {}", block("1234")), "90 00");
    card.exchange("01 22 41 B8 03 83 01 20", "90 00");
    // The host builds the PKCS#1 type-1 block around a DigestInfo.
    let digest = Sha256::digest(b"challenge from the server");
    let info = [
        h("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20"),
        digest.to_vec(),
    ]
    .concat();
    let mut block = vec![0x00, 0x01];
    block.resize(256 - info.len() - 1, 0xFF);
    block.push(0x00);
    block.extend(&info);
    let mut first = h("11 2A 80 86 FF 00");
    first.extend(&block[..254]);
    assert_eq!(card.raw(&first), [0x90, 0x00]);
    let mut last = h("01 2A 80 86 02");
    last.extend(&block[254..]);
    let (signature, sw) = common::split(card.raw(&last));
    assert_eq!((signature.len(), sw), (256, 0x9000));
    public_key(&card, CertUsage::Authentication)
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
}

#[test]
fn signature_with_the_cps4_dst() {
    let mut card = Host::new("cps4");
    open(&mut card);
    card.exchange(&format!("01 20 00 81 08 {}", block("1234")), "90 00");
    let digest = Sha256::digest(b"document");
    let key = public_key(&card, CertUsage::Signature);
    card.exchange("01 22 81 B6 04 91 02 28 81", "90 00");
    let mut command = h("01 2A 9E 9A 20");
    command.extend(digest);
    command.push(0x00);
    let (signature, sw) = common::split(card.raw(&command));
    assert_eq!(sw, 0x9000);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    card.exchange("01 22 81 B6 04 91 02 2C 81", "90 00");
    let (signature, sw) = common::split(card.raw(&command));
    assert_eq!(sw, 0x9000);
    key.verify(Pss::new::<Sha256>(), &digest, &signature)
        .unwrap();
    // A short Le over T=1 leaves the rest for GET RESPONSE.
    let last = command.len() - 1;
    command[last] = 0x80;
    let (head, sw) = common::split(card.raw(&command));
    assert_eq!((head.len(), sw), (128, 0x6180));
    let (tail, sw) = common::split(card.raw(&h("01 C0 00 00 80")));
    assert_eq!((tail.len(), sw), (128, 0x9000));
    card.exchange("01 22 81 B6 04 91 02 99 81", "6A 80");
    card.exchange("01 22 81 B6 04 91 02 28 82", "6A 80");
}

#[test]
fn t0_cps4() {
    let profile = Profile::from_toml_str(
        "generation = \"cps4\"\ncard_number = \"8042419902\"\nserial = \"42419902\"\n\
         atr = \"3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00\"",
    )
    .unwrap();
    let mut card = Host::with(&profile);
    assert!(card.card().is_t0());
    open(&mut card);
    card.exchange("01 A4 08 00 02 D0 03", "61 27");
    let fci = card.expect("01 C0 00 00 27", 0x9000);
    assert_eq!(fci[0], 0x6F);
}
