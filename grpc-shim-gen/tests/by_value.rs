//! Imported rpcs pass their request as wit-bindgen expects it: by reference
//! when the record holds a string or list, by value when it is plain data.

use grpc_shim_gen::RustGuest;

#[test]
fn plain_records_by_value_records_with_lists_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("calls.proto"),
        r#"syntax = "proto3";
package calls;
message Tick { uint64 by = 1; Inner inner = 2; }
message Inner { int32 x = 1; }
message Named { string name = 1; }
message Nested { Wrapper w = 1; }
message Wrapper { repeated int32 xs = 1; }
message Count { uint64 total = 1; }
service Counter {
  rpc Plain(Tick) returns (Count);
  rpc Text(Named) returns (Count);
  rpc Deep(Nested) returns (Count);
}
"#,
    )
    .unwrap();
    let fds = proto2wit::compile_protos(&[dir.path().join("calls.proto")], &[dir.path()]).unwrap();
    let app = proto2wit::App::new(
        "calls",
        vec![
            proto2wit::Function::new("server", ["calls.Counter"], Vec::<String>::new()),
            proto2wit::Function::new("client", Vec::<String>::new(), ["calls.Counter"]),
        ],
        ["client"],
    );
    let out = proto2wit::generate(&fds, Some(&app), &Default::default()).unwrap();
    assert!(!grpc_shim_gen::wit_has_list(&out.map, "calls.Tick"));
    assert!(grpc_shim_gen::wit_has_list(&out.map, "calls.Named"));
    assert!(grpc_shim_gen::wit_has_list(&out.map, "calls.Nested"));

    let files = RustGuest::new(&out.map, "client").generate(&fds).unwrap();
    let code: String = files.packages.values().cloned().collect();
    let call = |f: &str| {
        let at = code
            .find(&format!("calls_counter::{f}("))
            .unwrap_or_else(|| panic!("no call of {f} in\n{code}"));
        let args = code[at..].split_once('(').unwrap().1;
        let arg = args.split_once(')').unwrap().0;
        arg.trim().trim_end_matches(',').trim().to_string()
    };
    assert_eq!(call("plain"), "request");
    assert_eq!(call("text"), "&request");
    assert_eq!(call("deep"), "&request");
}
