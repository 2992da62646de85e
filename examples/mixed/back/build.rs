// Compiles the app's proto with protox (pure Rust, no `protoc` needed) and
// generates the tonic client/server code from the resulting descriptors.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto");
    let fds = protox::compile(["mixed.proto"], ["../proto"])?;
    tonic_prost_build::compile_fds(fds)?;
    Ok(())
}
