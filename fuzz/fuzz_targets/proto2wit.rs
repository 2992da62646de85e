#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz::proto2wit_target::run(&mut arbitrary::Unstructured::new(data));
});
