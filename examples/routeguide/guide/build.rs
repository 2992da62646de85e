// Compiles the app's protos with protox (no protoc) and generates the
// tonic code from the descriptors.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto");
    let fds = protox::compile(["route_guide.proto", "tour.proto"], ["../proto"])?;
    tonic_prost_build::compile_fds(fds)?;
    Ok(())
}
