//! Linking cases, one directory per case under `tests/cases/`.
//!
//! A case directory holds:
//!
//! * `<input>.wit`: one input per file, named after the file. The file is a
//!   WIT package with one world (and, nested, the packages it uses); the
//!   input is a component of that world around a dummy core module.
//! * `<input>.wasm`: an input given as raw bytes (for invalid inputs).
//! * `plan`: the [`Plan`], one item per line: `entry <input>`,
//!   `export <input> <export name>` or `provide <importer|*> <import>
//!   <exporter>` (a [`Choice`]). `#` starts a comment.
//! * `expect`: what must hold besides the snapshot, one item per line:
//!   `wire <wire as displayed>`, `import <name>` and `export <name>` list
//!   the composed component's wiring, imports and exports exactly and in
//!   order; `error <variant>` says that linking fails with that
//!   [`component_linker::LinkError`] variant.
//!
//! Inputs are given to [`link`] in file-name order. The snapshot
//! `snapshots/cases__link_cases@<case>__plan.snap` holds the wiring and the
//! composed component printed as WAT (function bodies elided), or the error
//! with its causes.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use component_linker::{Input, LinkError, Linked, Plan, link};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

mod common;
use common::{component_from_wit, lines, read_inputs, read_plan};

/// The top-level import and export names of a component.
fn externs(component: &[u8]) -> Result<(Vec<String>, Vec<String>)> {
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth == 0 => break,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    imports.push(import?.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    exports.push(export?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

fn render_ok(linked: &Linked) -> Result<String> {
    let mut out = String::new();
    writeln!(out, "wiring:")?;
    for wire in &linked.wiring {
        writeln!(out, "  {wire}")?;
    }
    writeln!(out, "outer imports:")?;
    for import in &linked.outer_imports {
        writeln!(out, "  {import}")?;
    }
    writeln!(out, "---")?;
    let mut config = wasmprinter::Config::new();
    config.print_skeleton(true);
    config.print(&linked.component, &mut wasmprinter::PrintFmtWrite(&mut out))?;
    Ok(out)
}

fn render_err(err: &LinkError) -> String {
    let mut out = format!("error: {err}\n");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        out.push_str(&format!("caused by: {cause}\n"));
        source = cause.source();
    }
    out
}

/// Checks `linked` against the `expect` lines of an OK case.
fn check_ok(inputs: &[Input], plan: &Plan, linked: &Linked, expect: &[String]) -> Result<()> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&linked.component)
        .context("the composed component does not validate")?;

    let (imports, exports) = externs(&linked.component)?;
    let wires: Vec<String> = linked.wiring.iter().map(ToString::to_string).collect();
    let expected = |kind: &str| -> Vec<String> {
        expect
            .iter()
            .filter_map(|line| line.strip_prefix(kind))
            .map(|rest| rest.trim().to_owned())
            .collect()
    };
    assert_eq!(wires, expected("wire "), "wiring");
    assert_eq!(imports, expected("import "), "imports");
    assert_eq!(linked.outer_imports, imports, "outer_imports");
    assert_eq!(exports, expected("export "), "exports");

    let again = link(inputs, plan)?;
    assert!(
        again.component == linked.component,
        "linking twice gave different bytes"
    );
    Ok(())
}

#[test]
fn link_cases() {
    insta::glob!("cases/*/plan", |plan_path| {
        let dir = plan_path.parent().unwrap();
        let inputs = read_inputs(dir).unwrap();
        let plan = read_plan(plan_path).unwrap();
        let expect = lines(&dir.join("expect")).unwrap();
        let expected_error = expect.iter().find_map(|line| line.strip_prefix("error "));

        match (link(&inputs, &plan), expected_error) {
            (Ok(linked), None) => {
                check_ok(&inputs, &plan, &linked, &expect).unwrap();
                insta::assert_snapshot!(render_ok(&linked).unwrap());
            }
            (Err(err), Some(variant)) => {
                let debug = format!("{err:?}");
                assert!(
                    debug.starts_with(&format!("{} ", variant.trim())),
                    "expected a {variant} error, got {debug}"
                );
                insta::assert_snapshot!(render_err(&err));
            }
            (Ok(_), Some(variant)) => panic!("expected a {variant} error, linking succeeded"),
            (Err(err), None) => panic!("linking failed: {}", render_err(&err)),
        }
    });
}

#[test]
fn no_inputs_give_an_empty_component() {
    let linked = link(&[], &Plan::default()).unwrap();
    let (imports, exports) = externs(&linked.component).unwrap();
    assert!(imports.is_empty() && exports.is_empty() && linked.wiring.is_empty());
}

#[test]
fn duplicate_input_names_are_rejected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/chain");
    let producer = component_from_wit(&dir.join("producer.wit")).unwrap();
    let inputs = [
        Input::new("producer", producer.clone()),
        Input::new("producer", producer),
    ];
    let err = link(&inputs, &Plan::default()).unwrap_err();
    assert!(matches!(err, LinkError::DuplicateInput { name } if name == "producer"));
}

/// Damaged inputs give an error (or, when the damage leaves a valid
/// component, e.g. a cut between sections, a valid output), never a panic
/// or an output that does not validate.
///
/// Exhaustive fuzzing belongs in the workspace's `fuzz/` member; this is a
/// quick deterministic sweep.
#[test]
fn damaged_inputs_are_errors_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/chain");
    let producer = component_from_wit(&dir.join("producer.wit")).unwrap();
    let consumer = component_from_wit(&dir.join("consumer.wit")).unwrap();
    let mut plan = Plan::default();
    plan.entries.push("consumer".to_owned());
    let check = |bytes: Vec<u8>, what: &str| {
        let inputs = [
            Input::new("producer", bytes),
            Input::new("consumer", consumer.clone()),
        ];
        if let Err(err @ LinkError::Validation { .. }) = link(&inputs, &plan) {
            panic!("{what}: {}", render_err(&err));
        }
    };
    for len in (0..producer.len()).step_by(3) {
        check(producer[..len].to_vec(), &format!("prefix of {len} bytes"));
    }
    for at in (8..producer.len()).step_by(5) {
        let mut bytes = producer.clone();
        bytes[at] ^= 0xff;
        check(bytes, &format!("byte {at} flipped"));
    }
}
