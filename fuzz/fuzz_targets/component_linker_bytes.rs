#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz::linker_target::run_bytes(&mut arbitrary::Unstructured::new(data));
});
