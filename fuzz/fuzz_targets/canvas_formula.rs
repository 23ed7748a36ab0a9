#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = mooring_canvas::fuzzing::formula(data);
});
