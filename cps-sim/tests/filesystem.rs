//! File system, SELECT, READ BINARY and T=0 delivery, through `SimTransport`.

mod common;

use common::{Host, h, hx};

const EF_SN_FCP: &str = "62 25 80 02 00 0C 82 01 01 83 02 D0 03 88 01 E0 A1 12 8C 07 7B FF FF FF FF FF 00 \
                         9C 07 7B FF FF FF FF FF 00 8A 01 05";

#[test]
fn cryptolib_connection_flow() {
    let mut card = Host::new("cps3");
    // middleware-flows §3, GET RESPONSE unfolded where the trace shows it.
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "61 27");
    card.exchange("00 C0 00 00 27", &format!("{EF_SN_FCP} 90 00"));
    card.exchange(
        "00 B0 00 00 0C",
        "5A 0A 80 25 00 00 01 99 21 38 45 0F 90 00",
    );
    for _ in 0..2 {
        let fcp = card.expect("00 A4 09 04 04 3F 00 2F 00", 0x9000);
        assert_eq!(common::fcp_size(&fcp), 0x65);
    }
    let dir = card.expect("00 B0 00 00 65", 0x9000);
    assert_eq!(dir.len(), 101);
    assert_eq!(dir[..2], [0x61, 0x32]);
    for _ in 0..2 {
        card.exchange("00 A4 09 04 04 3F 00 D0 10", "6A 82");
    }
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    for _ in 0..2 {
        card.expect("00 A4 09 04 06 3F 00 00 01 50 31", 0x9000);
    }
    let odf = card.expect("00 B0 00 00 30", 0x9000);
    assert_eq!(odf.len(), 0x30);
    for _ in 0..2 {
        card.expect("00 A4 09 04 06 3F 00 00 01 50 32", 0x9000);
    }
    let info = card.expect("00 B0 00 00 D2", 0x9000);
    assert_eq!(info[..3], [0x30, 0x81, 0xCF]);
    let label = "CPS3v3-2900412345";
    assert!(info.windows(label.len()).any(|w| w == label.as_bytes()));
    // The AODF and the other directories by path, read in E7 chunks.
    for file in [
        "3F00 0001 7001",
        "3F00 0001 7002",
        "3F00 0001 7004",
        "3F00 0001 7005",
    ] {
        let content = card.read_file(file);
        assert_eq!(content[0], 0x30, "{file}");
    }
    card.exchange("00 A4 09 0C 02 3F 00", "90 00");
}

#[test]
fn opensc_init_and_bind() {
    let mut card = Host::new("cps3");
    card.exchange("00 A4 09 04 04 3F 00 2F 01", "61 27");
    let fcp = card.expect("00 C0 00 00 27", 0x9000);
    assert_eq!(common::fcp_size(&fcp), 0x39);
    let atr = card.expect("00 B0 00 00 39", 0x9000);
    assert_eq!(atr.len(), 57);
    assert_eq!(atr[0], 0x80);
    // The AID OpenSC takes from EF.ATR, tag 4F.
    let aid = h("4F 08 80 25 00 00 01 FF 01 00");
    assert!(atr.windows(aid.len()).any(|w| w == aid));
    card.exchange("00 A4 04 04 08 80 25 00 00 01 FF 01 00", "90 00");
    card.exchange("00 B0 9C 00 C0", "6C 0C");
    card.exchange(
        "00 B0 9C 00 0C",
        "5A 0A 80 25 00 00 01 99 21 38 45 0F 90 00",
    );
    // Bind: EF.DIR, the application DF by path, then its files; the certificate after
    // selecting the application by AID.
    assert_eq!(card.read_file("3F00 2F00").len(), 101);
    let df = card.expect("00 A4 09 04 04 3F 00 00 01", 0x9000);
    assert_eq!(
        hx(&df),
        hx(&h(
            "62 2D 82 01 38 83 02 00 01 84 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10 8A 01 05 \
               A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00"
        ))
    );
    for file in ["5031", "5032", "7001", "7002", "7005", "7004"] {
        let content = card.read_file(&format!("3F00 0001 {file}"));
        assert!(!content.is_empty());
    }
    let df = card.expect(
        "00 A4 04 04 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        0x9000,
    );
    assert_eq!(df[..2], [0x62, 0x2D]);
    let cert = card.read_file("3F00 0001 A001");
    assert_eq!(cert, card.card().certificates()[0].1);
    // 256-byte reads like OpenSC: Le 00, then the tail with its exact length.
    card.expect("00 A4 02 0C 02 A0 02", 0x9000);
    let sign = card.card().certificates()[1].1.clone();
    let first = card.expect("00 B0 00 00 00", 0x9000);
    assert_eq!(first, sign[..256]);
    // Probes that must fail cleanly.
    card.exchange("00 A4 09 04 06 3F 00 00 02 50 31", "6A 82");
    card.exchange(
        "00 A4 04 04 0F E8 28 BD 08 0F A0 00 00 01 67 45 53 49 47 4E",
        "6A 82",
    );
    card.exchange("00 A4 04 04 08 80 25 00 00 01 FF 01 00", "90 00");
}

#[test]
fn select_forms() {
    let mut card = Host::new("cps3");
    // MF by FID, P1 00 and P1 02 (both middlewares), by path, with and without FCP.
    card.exchange("00 A4 00 0C 02 3F 00", "90 00");
    card.exchange("00 A4 02 0C 02 3F 00", "90 00");
    let mf = card.expect("00 A4 02 04 02 3F 00", 0x9000);
    assert_eq!(mf[..2], [0x62, 0x1E]);
    assert_eq!(card.expect("00 A4 09 04 02 3F 00", 0x9000), mf);
    // P2 00 refused by FID and by name; the IAS root accepts it (no FCI).
    card.exchange("00 A4 02 00 02 3F 00", "6A 86");
    card.exchange(
        "00 A4 04 00 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        "6A 86",
    );
    card.exchange("00 A4 04 00 08 80 25 00 00 01 FF 01 00", "90 00");
    card.exchange(
        "00 A4 04 0C 0D E8 28 BD 08 0F 80 25 00 00 01 FF 00 10",
        "90 00",
    );
    // From DF 0001, a path without 3F00 fails; with 3F00 it works.
    card.exchange("00 A4 09 0C 02 50 31", "6A 82");
    card.exchange("00 A4 09 0C 04 3F 00 D0 03", "90 00");
    // From the MF, a relative path works.
    card.exchange("00 A4 09 0C 04 00 01 50 32", "90 00");
    // By FID inside the current DF, child DF, parent.
    card.exchange("00 A4 02 0C 02 50 31", "90 00");
    card.exchange("00 A4 03 0C", "90 00");
    card.exchange("00 A4 01 0C 02 00 02", "90 00");
    card.exchange("00 A4 02 0C 02 50 31", "6A 82");
    card.exchange("00 A4 00 0C 02 00 01", "90 00"); // a sibling, by P1 00
    card.exchange("00 A4 01 0C 02 50 31", "6A 82"); // an EF is not a DF
    // Path by P1 08 (from the MF, no 3F00).
    card.exchange("00 A4 08 0C 02 D0 03", "90 00");
    // Malformed.
    card.exchange("00 A4 09 0C 03 3F 00 D0", "6A 87");
    card.exchange("00 A4 02 0C 03 3F 00 00", "6A 87");
    card.exchange("00 A4 07 0C 02 3F 00", "6A 86");
    card.exchange("00 A4 09 08 02 3F 00", "6A 86");
    // A failed SELECT leaves the current file alone.
    card.exchange("00 A4 09 0C 04 3F 00 D0 03", "90 00");
    card.exchange("00 A4 09 0C 04 3F 00 D0 99", "6A 82");
    card.exchange("00 B0 00 00 02", "5A 0A 90 00");
}

#[test]
fn read_binary_edges() {
    let mut card = Host::new("cps3");
    card.exchange("00 B0 00 00 0C", "69 86"); // no current EF
    card.exchange("00 A4 09 0C 02 3F 00", "90 00");
    card.exchange("00 B0 00 00 0C", "69 86"); // a DF is current
    card.exchange("00 A4 09 0C 04 3F 00 D0 03", "90 00");
    card.exchange("00 B0 00 0A 02", "45 0F 90 00");
    card.exchange("00 B0 00 0A 05", "45 0F 62 82"); // short read
    card.exchange("00 B0 00 0C 01", "6B 00"); // at the end
    card.exchange("00 B0 01 00 01", "6B 00"); // past it
    card.exchange("00 B0 00 00 0D", "6C 0C"); // Le too long from offset 0
    card.exchange("00 B0 00 00 00", "6C 0C"); // Le 256 too
    card.exchange("00 B0 00 00 03 01 02 03", "67 00"); // a data field
    card.exchange("00 B0 9D 00 00", "6C 39"); // EF.ATR by SFI 1D, in the MF
    card.exchange("00 B0 9D 10 04", "08 80 25 00 90 00");
    card.exchange("00 B0 9B 00 01", "6A 82"); // no such SFI
    card.exchange("00 B0 FC 00 01", "6A 86"); // SFI bits 6-7 must be 0
    // SFI is looked up in the current DF.
    card.exchange("00 A4 09 0C 04 3F 00 00 01", "90 00");
    card.exchange("00 B0 9C 00 0C", "6A 82");
    // Any Le up to 256, at large offsets (a certificate).
    card.exchange("00 A4 09 0C 06 3F 00 00 01 A0 01", "90 00");
    let cert = card.card().certificates()[0].1.clone();
    let (data, sw) = common::split(card.raw(&h("00 B0 01 00 00")));
    assert_eq!((data.as_slice(), sw), (&cert[256..512], 0x9000));
    let last = cert.len() - 10;
    let (data, sw) = common::split(card.raw(&[0x00, 0xB0, (last >> 8) as u8, last as u8, 0x20]));
    assert_eq!((data.as_slice(), sw), (&cert[last..], 0x6282));
}

#[test]
fn get_response_in_pieces() {
    let mut card = Host::new("cps3");
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "61 27");
    let fcp = h(EF_SN_FCP);
    let (first, sw) = common::split(card.raw(&h("00 C0 00 00 10")));
    assert_eq!((first.as_slice(), sw), (&fcp[..16], 0x6117));
    card.exchange("00 C0 00 00 20", "6C 17"); // more than left: the right Le
    let (rest, sw) = common::split(card.raw(&h("00 C0 00 00 17")));
    assert_eq!((rest.as_slice(), sw), (&fcp[16..], 0x9000));
    card.exchange("00 C0 00 00 10", "69 85"); // nothing left
    // Another command drops what was waiting.
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "61 27");
    card.exchange("00 A4 09 0C 04 3F 00 D0 03", "90 00");
    card.exchange("00 C0 00 00 27", "69 85");
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "61 27");
    card.exchange("00 C0 01 00 27", "6A 86");
    card.exchange("01 C0 00 00 27", "68 81"); // CPS3: no logical channel, and the data are gone
    card.exchange("00 A4 09 04 04 3F 00 D0 03", "61 27");
    card.exchange("00 C0 00 00 27", &format!("{EF_SN_FCP} 90 00"));
}

#[test]
fn class_and_instruction_errors() {
    let mut card = Host::new("cps3");
    card.exchange("00 12 00 00", "6D 00");
    card.exchange("80 A4 00 0C 02 3F 00", "6E 00");
    card.exchange("20 A4 00 0C 02 3F 00", "6E 00");
    card.exchange("01 A4 00 0C 02 3F 00", "68 81"); // CPS3: basic channel only
    card.exchange("04 A4 00 0C 02 3F 00", "68 82"); // secure messaging
    card.exchange("00 A4 00 0C 05 3F 00", "67 00"); // Lc says 5, 2 follow
    card.exchange("00 A4 00", "67 00");
}

#[test]
fn contactless_refuses_contact_only_files() {
    let mut card = Host::new("cps3-cl");
    assert!(!card.card().is_t0());
    // Data come back directly, no 61 xx.
    let (fcp, sw) = common::split(card.raw(&h("00 A4 09 04 04 3F 00 D0 03")));
    assert_eq!((hx(&fcp), sw), (hx(&h(EF_SN_FCP)), 0x9000));
    card.exchange(
        "00 B0 00 00 00",
        "5A 0A 80 25 00 00 01 99 21 38 51 8F 90 00",
    );
    // The AODF is readable over contact only: the vendor library's probe.
    card.exchange("00 A4 09 0C 06 3F 00 00 01 70 01", "90 00");
    card.exchange("00 B0 00 00 10", "69 82");
    let (fcp, _) = card.send("00 A4 09 04 06 3F 00 00 01 70 01");
    let contactless_rule = h("9C 07 7B FF FF FF FF FF FF");
    assert!(fcp.windows(9).any(|w| w == contactless_rule));
    // The contactless application: its ODF, TokenInfo and the technical certificate.
    let odf = card.expect("00 A4 09 04 06 3F 00 00 02 50 31", 0x9000);
    assert_eq!(common::fcp_size(&odf), 24);
    let (cdf, _) = card.send("00 A4 09 0C 06 3F 00 00 02 70 04");
    assert!(cdf.is_empty());
    let cdf = card.expect("00 B0 00 00 00", 0x9000);
    let label = b"Certificat Technique CPS";
    assert!(cdf.windows(label.len()).any(|w| w == label));
    assert_eq!(card.card().certificates().len(), 3);
}

#[test]
fn ef_actua_when_present() {
    let mut card = Host::new("expiring");
    let fcp = card.expect("00 A4 09 04 04 3F 00 D0 10", 0x9000);
    assert_eq!(common::fcp_size(&fcp), 20);
    card.exchange(
        "00 B0 00 00 14",
        "EC 12 81 07 20 25 01 06 00 00 00 82 07 20 25 01 31 23 59 59 90 00",
    );
}
