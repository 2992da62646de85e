//! The Go backend's files for the prodcon example's two functions: the
//! glue is snapshotted, deterministic, and already gofmt-formatted.

use std::process::Command;

#[path = "support/prodcon_app.rs"]
mod prodcon_app;

fn setup() -> (proto2wit::Map, String) {
    let (_, map, wit) = prodcon_app::setup();
    (map, wit)
}

/// Files `gofmt -l` lists (it would reformat them).
fn not_gofmt_clean(files: &[(String, String)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let out = Command::new("gofmt")
        .arg("-l")
        .arg(dir.path())
        .output()
        .expect("gofmt (Go ≥ 1.25) must be on PATH for the Go backend's tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn go_glue_for_each_function() {
    let (map, wit) = setup();
    for function in ["producer", "consumer"] {
        let guest = grpc_shim_gen::GoGuest::new(&map, function);
        let files = guest.generate(&wit).unwrap();
        assert_eq!(files, guest.generate(&wit).unwrap(), "deterministic");
        let mut ours = Vec::new();
        for (name, text) in &files.bindings {
            // wit-bindgen-go's own output is not ours to snapshot.
            if name.ends_with("glue.go") || name == "go.mod" {
                insta::assert_snapshot!(format!("go_{function}__{name}"), text);
            }
            if name.ends_with(".go") && !name.ends_with("wit_bindings.go") {
                ours.push((name.clone(), text.clone()));
            }
        }
        for (name, text) in &files.main_package {
            if name == "cofaas_main.go" {
                insta::assert_snapshot!(format!("go_{function}__main__{name}"), text);
                ours.push((name.clone(), text.clone()));
            }
        }
        assert_eq!(not_gofmt_clean(&ours), Vec::<String>::new(), "{function}");
        let exports = &files.main_package["cofaas_wit_exports.go"];
        assert!(exports.contains("//go:wasmexport"), "{exports}");
        assert!(
            !exports.contains("func main()"),
            "the user's main stays the only one"
        );
    }
}

#[test]
fn the_producer_imports_and_exports_what_its_world_says() {
    let (map, wit) = setup();
    let files = grpc_shim_gen::GoGuest::new(&map, "producer")
        .generate(&wit)
        .unwrap();
    let packages: Vec<&str> = files
        .bindings
        .keys()
        .filter_map(|k| k.strip_suffix("/glue.go"))
        .collect();
    assert_eq!(
        packages,
        [
            "cofaas_import_prodcon_producer_consumer",
            "export_cofaas_prodcon_helloworld_greeter",
            "export_cofaas_prodcon_producer_lifecycle",
        ]
    );
    let main = &files.main_package["cofaas_main.go"];
    assert!(main.contains("_ \"wit_component/cofaas_import_prodcon_producer_consumer\""));
    let err = grpc_shim_gen::GoGuest::new(&map, "nope")
        .generate(&wit)
        .unwrap_err();
    assert_eq!(err.to_string(), "the map has no world for function `nope`");
}
