//! Snapshots of the WIT and of the shims generated for the prodcon
//! example's two functions, from the example's own protos.

#[path = "support/prodcon_app.rs"]
mod prodcon_app;
use prodcon_app::setup;

#[test]
fn shims_for_each_function() {
    let (fds, map, wit) = setup();
    insta::assert_snapshot!("prodcon_wit", wit);
    for function in ["producer", "consumer"] {
        let guest = grpc_shim_gen::RustGuest::new(&map, function);
        let files = guest.generate(&fds).unwrap();
        assert_eq!(files, guest.generate(&fds).unwrap(), "deterministic");
        assert_eq!(
            files.packages.keys().collect::<Vec<_>>(),
            ["helloworld.rs", "prodcon.rs"]
        );
        for (name, text) in &files.packages {
            insta::assert_snapshot!(format!("{function}__{name}"), text);
        }
        let root = guest
            .root(
                "main.rs",
                "//! A function.\nuse std::env;\nfn main() {}\n",
                ".cofaas/wit",
            )
            .unwrap();
        assert_eq!(
            root.main.as_deref(),
            Some("\nuse std::env;\nfn main() {}\n")
        );
        insta::assert_snapshot!(format!("{function}__root"), root.root);
    }
}

#[test]
fn unknown_function_is_an_error() {
    let (fds, map, _) = setup();
    let err = grpc_shim_gen::RustGuest::new(&map, "nope")
        .generate(&fds)
        .unwrap_err();
    assert_eq!(err.to_string(), "the map has no world for function `nope`");
}
