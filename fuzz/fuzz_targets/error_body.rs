#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = mooring_core::fuzzing::error_body(data);
});
