//! The prodcon example's protos mapped for its two functions (producer
//! imports the consumer's service), shared by the Rust and Go shim tests.

use std::path::Path;

/// The descriptors, the map and the WIT of the prodcon app.
pub fn setup() -> (prost_types::FileDescriptorSet, proto2wit::Map, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/prodcon/proto");
    let fds = proto2wit::compile_protos(&["helloworld.proto", "prodcon.proto"], &[&dir]).unwrap();
    let app = proto2wit::App::new(
        "prodcon",
        vec![
            proto2wit::Function::new(
                "producer",
                ["helloworld.Greeter"],
                ["prodcon.ProducerConsumer"],
            ),
            proto2wit::Function::new(
                "consumer",
                ["prodcon.ProducerConsumer"],
                Vec::<String>::new(),
            ),
        ],
        ["producer"],
    );
    let out = proto2wit::generate(&fds, Some(&app), &Default::default()).unwrap();
    (fds, out.map, out.wit)
}
