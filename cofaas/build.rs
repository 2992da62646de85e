//! Compiles the prodcon example's public proto (client side) for the demo
//! and the end-to-end test. Pure Rust (protox): no protoc needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = "../examples/prodcon/proto";
    let fds = protox::compile(["helloworld.proto"], [dir])?;
    tonic_prost_build::configure()
        .build_server(false)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={dir}");
    Ok(())
}
