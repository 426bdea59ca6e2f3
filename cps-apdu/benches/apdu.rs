//! Throughput of the hot paths: encoding a command, decoding a response, parsing
//! an ATR. Run with `cargo bench -p cps-apdu`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use cps_apdu::{Atr, Command, Response};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("apdu");

    // SELECT by path, as every middleware sends it.
    let select = Command::new(0x00, 0xA4, 0x09, 0x04).with_data(hex("3F 00 00 01 50 31"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("command_encode/select", |b| {
        b.iter(|| black_box(&select).to_bytes().unwrap())
    });
    // A 255-byte chained PSO DECIPHER block.
    let decipher = Command::new(0x10, 0x2A, 0x80, 0x86).with_data(vec![0x5A; 255]);
    group.bench_function("command_encode/decipher_255", |b| {
        b.iter(|| black_box(&decipher).to_bytes().unwrap())
    });

    // A 231-byte READ BINARY chunk, the CPS3 chunk size.
    let mut chunk = vec![0x30; 231];
    chunk.extend_from_slice(&[0x90, 0x00]);
    group.bench_function("response_decode/read_binary_231", |b| {
        b.iter(|| Response::decode(black_box(&chunk)).unwrap())
    });
    let counters =
        hex("70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00 90 00");
    group.bench_function("response_decode/pin_counters", |b| {
        b.iter(|| Response::decode(black_box(&counters)).unwrap())
    });

    for (name, atr) in [
        (
            "cps3_contact",
            "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00",
        ),
        (
            "cps3_contactless",
            "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
        ),
        ("cps4", "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44"),
    ] {
        let atr = hex(atr);
        group.bench_function(format!("atr_parse/{name}"), |b| {
            b.iter(|| Atr::parse(black_box(&atr)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
