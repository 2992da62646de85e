#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz::codec_target::run(&mut arbitrary::Unstructured::new(data));
});
