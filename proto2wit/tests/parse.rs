//! Parsing from memory, and never panicking on any text.

use proptest::prelude::*;

/// In-memory files import each other and the well-known types, and a
/// protox diagnostic in one of them is located in its text.
#[test]
fn sources_compile_from_memory() {
    let fds = proto2wit::compile_sources(&[
        (
            "a/b.proto",
            "syntax = \"proto3\";\npackage a;\nimport \"google/protobuf/timestamp.proto\";\nmessage B { google.protobuf.Timestamp t = 1; }\n",
        ),
        (
            "c.proto",
            "syntax = \"proto3\";\npackage c;\nimport \"a/b.proto\";\nmessage C { a.B b = 1; }\nservice S { rpc Do(C) returns (C); }\n",
        ),
    ])
    .unwrap();
    let names: Vec<_> = fds.file.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        ["google/protobuf/timestamp.proto", "a/b.proto", "c.proto"]
    );
    let out = proto2wit::generate(&fds, None, &Default::default()).unwrap();
    assert!(out.wit.contains("interface c-s {"), "{}", out.wit);

    let err = proto2wit::compile_sources(&[(
        "x.proto",
        "syntax = \"proto3\";\nmessage X {\n  strin s = 1;\n}\n",
    )])
    .unwrap_err();
    assert_eq!(err.to_string(), "x.proto:3:3: name 'strin' is not defined");
    let err =
        proto2wit::compile_sources(&[("x.proto", "import \"nowhere.proto\";\n")]).unwrap_err();
    assert!(err.to_string().starts_with("x.proto:1:"), "{err}");
}

/// The panic guard never fires on number-like tokens: the octal scan finds
/// every literal protox-parse's lexer would assert on (in this debug test
/// build), and reports it where it is.
#[test]
fn number_literals_never_reach_the_guard() {
    let positions = [
        "syntax = \"proto3\";\nmessage M { int32 a = @; }\n",
        "syntax = \"proto2\";\nmessage M { optional int32 a = 1 [default = @]; }\n",
        "syntax = \"proto3\";\noption java_package = @;\n",
        "syntax = \"proto3\";\nenum E { A = @; }\n",
        "syntax = \"proto3\";\nmessage M { reserved @; }\n",
        "syntax = \"proto3\";\nmessage M { int32 a = 1 [(x) = { a: @ }]; }\n",
    ];
    proptest!(ProptestConfig::with_cases(400), |(at in 0..positions.len(), token in "[-+0-9.eExXfFa_]{1,6}")| {
        let text = positions[at].replace('@', &token);
        match proto2wit::compile_sources(&[("t.proto", &text)]) {
            Ok(_) => {}
            Err(err) => {
                let err = err.to_string();
                prop_assert!(!err.contains("panicked"), "{text}: {err}");
                if err.contains("not a valid octal number") {
                    prop_assert!(err.starts_with("t.proto:2:"), "{text}: {err}");
                }
            }
        }
    });
}
