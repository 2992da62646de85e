//! Generates, from the typeshow example (`examples/typeshow`), the prost
//! types of its messages (as host-gen's tonic-prost-build generates them for
//! the host) and the table of its public methods: every rpc of every service
//! its entry functions export.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/typeshow");
    let manifest = root.join("cofaas.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest).expect("typeshow's cofaas.toml");
    let app: toml::Table = text.parse().expect("typeshow's cofaas.toml parses");
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let section = &app["app"];
    let includes: Vec<PathBuf> = strings(section.get("includes"))
        .iter()
        .map(|i| root.join(i))
        .collect();
    let protos: Vec<PathBuf> = strings(section.get("protos"))
        .iter()
        .map(|p| root.join(p))
        .collect();
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let fds = protox::compile(&protos, &includes).expect("typeshow's protos compile");

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    prost_build::Config::new()
        .out_dir(&out)
        .compile_fds(fds.clone())
        .expect("prost-build");

    let mut public = Vec::new();
    for entry in strings(section.get("entries")) {
        public.extend(strings(app["functions"][&entry].get("exports")));
    }
    let mut table = String::from(
        "/// Every public method of the typeshow app (the rpcs of the services its\n/// entries export): its gRPC path and the decoder of its request.\npub const METHODS: &[Method] = &[\n",
    );
    for file in &fds.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            if !public.contains(&full) {
                continue;
            }
            for method in &service.method {
                table.push_str(&format!(
                    "    Method {{ path: \"/{full}/{}\", decode: decode::<{}> }},\n",
                    method.name(),
                    rust_type(method.input_type())
                ));
            }
        }
    }
    table.push_str("];\n");
    std::fs::write(out.join("methods.rs"), table).expect("write methods.rs");
}

/// The Rust type prost-build gives the message `.pkg.Outer.Inner`.
fn rust_type(proto: &str) -> String {
    let proto = proto.trim_start_matches('.');
    if proto == "google.protobuf.Empty" {
        return "()".into();
    }
    if let Some(name) = proto.strip_prefix("google.protobuf.") {
        return format!("::prost_types::{name}");
    }
    let parts: Vec<&str> = proto.split('.').collect();
    // Lower-case parts are the package; every enclosing message is a module.
    let (package, names): (Vec<&str>, Vec<&str>) = parts
        .iter()
        .partition(|p| p.starts_with(|c: char| c.is_ascii_lowercase()));
    let mut path: Vec<String> = package.iter().map(|p| p.to_string()).collect();
    for outer in &names[..names.len() - 1] {
        path.push(snake(outer));
    }
    path.push(names[names.len() - 1].to_string());
    format!("proto::{}", path.join("::"))
}

fn snake(name: &str) -> String {
    let mut s = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}
