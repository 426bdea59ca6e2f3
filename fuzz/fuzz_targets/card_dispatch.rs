#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cps_sim::fuzzing::card_dispatch(data));
