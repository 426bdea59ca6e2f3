#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cps_card::fuzzing::cert(data));
