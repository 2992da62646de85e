//! Differential test: [`component_linker::link`] against [wac-graph].
//!
//! Every composition that `component-linker` is expected to produce is also
//! built with wac-graph, and the two results are compared. The compositions
//! are:
//!
//! * every fixture case directory under `tests/cases/` whose `expect` file
//!   has no `error` line, found at run time, so new cases are covered
//!   without touching this file. Inputs and plans are read exactly as
//!   `tests/cases.rs` reads them (its helpers are copied below); a plan line
//!   this file does not know fails the test rather than being dropped;
//! * a few extra shapes defined inline in [`extra_cases`]: a diamond given
//!   out of dependency order with a re-exported shared dependency, an idle
//!   input, a function (not instance) import wired to a function export, a
//!   resource flowing between inputs (with and without exporting its
//!   interface), two views of one plain-named instance import (in both
//!   orders), and
//!   semver-compatible names (wired, older export, two outer versions).
//!
//! The wac side mirrors the linker's rules with wac-graph's own API: each
//! input is a [`Package`], instantiated once, in dependency order. Each
//! import of an instance is wired (`alias_instance_export` +
//! `set_instantiation_argument`) to the input a plan `provide` line names,
//! or else to the one other instance exporting the same name or, failing
//! that, a semver-compatible name (the rule of `wac_graph::plug`,
//! [`are_semver_compatible`]; of several, the newest). Unsatisfied imports
//! are left to wac, which turns them into implicit imports of the
//! composition, merging the views of all instances (and semver-compatible
//! names) into one import. The composition exports every export of the
//! plan's entries and the plan's `export` lines. It is encoded with
//! `define_components` and `validate`.
//!
//! Both compositions must validate (with the test's own wasmparser and
//! [`WasmFeatures::all`]), and must have the same top-level imports and
//! exports: the same names, each of the same kind. Both tools failing is
//! always a test failure.
//!
//! # Documented differences
//!
//! Where the two tools disagree, [`DIFFERENCES`] says so, and the test
//! asserts exactly that difference, so a change in either tool shows up (an
//! entry that no longer applies, or names no case, fails the test too):
//!
//! * `extra:semver-older-export`: the consumer imports
//!   `test:api/numbers@0.1.2`, the only export is `@0.1.0`. wac's rule
//!   (`are_semver_compatible`, symmetric) wires it; component-linker wires
//!   only an export *no older* than the import (its documented rule), so it
//!   leaves `@0.1.2` an import of the composition. A legitimate policy
//!   difference.
//! * `extra:named-views`: two inputs import the plain-named instance
//!   `host-log`, the second using a function more than the first. wac
//!   declares the union of the two views; component-linker declares the
//!   first input's view only, so instantiating the second fails
//!   (`TypeMismatch`: missing `flush`). A component-linker limitation
//!   (`ns:pkg/iface` imports, also of semver-compatible versions, are
//!   unioned; plain-named ones, which WIT toolchains do not emit for
//!   interfaces, are not), and order-dependent: with the larger view first
//!   (`extra:named-views-superset-first`) both tools agree.
//!
//! [wac-graph]: https://docs.rs/wac-graph/0.12

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use component_linker::{Input, Plan, link};
use wac_graph::types::{Package, are_semver_compatible};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};
use wasmparser::{
    ComponentExternalKind, ComponentTypeRef, Parser, Payload, Validator, WasmFeatures,
};

mod common;
use common::{component_from_source, lines, read_inputs, read_plan};

// ---------------------------------------------------------------------------
// Inputs and plans, as `tests/cases.rs` builds them.
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// The compositions to compare.
// ---------------------------------------------------------------------------

/// One composition: inputs and the plan.
struct Case {
    /// `<dir>` for a fixture case, `extra:<name>` for an inline shape.
    name: String,
    inputs: Vec<Input>,
    plan: Plan,
}

/// Every fixture case directory whose `expect` has no `error` line.
fn fixture_cases() -> Result<Vec<Case>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = fs::read_dir(&root)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    dirs.sort();
    let mut cases = Vec::new();
    for dir in dirs {
        // `tests/cases.rs` runs the directories holding a `plan`.
        if !dir.join("plan").is_file() {
            continue;
        }
        let expect = lines(&dir.join("expect"))?;
        if expect.iter().any(|line| line.starts_with("error")) {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        cases.push(Case {
            inputs: read_inputs(&dir).with_context(|| format!("case {name}"))?,
            plan: read_plan(&dir.join("plan")).with_context(|| format!("case {name}"))?,
            name,
        });
    }
    Ok(cases)
}

fn plan(entries: &[&str], extra_exports: &[(&str, &str)]) -> Plan {
    let mut plan = Plan::default();
    plan.entries = entries.iter().map(|&e| e.to_owned()).collect();
    plan.extra_exports = extra_exports
        .iter()
        .map(|&(input, export)| (input.to_owned(), export.to_owned()))
        .collect();
    plan
}

fn extra(name: &str, inputs: &[(&str, &str)], plan: Plan) -> Result<Case> {
    let inputs = inputs
        .iter()
        .map(|&(input, wit)| {
            let bytes = component_from_source(&format!("{input}.wit"), wit)
                .with_context(|| format!("building input {input} of extra:{name}"))?;
            Ok(Input::new(input, bytes))
        })
        .collect::<Result<_>>()?;
    Ok(Case {
        name: format!("extra:{name}"),
        inputs,
        plan,
    })
}

const CLOCKS: &str = "
package wasi:clocks@0.2.3 {
  interface monotonic-clock {
    type instant = u64;
    now: func() -> instant;
  }
}";

const DIAMOND: &str = "
package test:dia {
  interface base-api { get: func() -> u32; }
  interface left-api { left: func() -> u32; }
  interface right-api { right: func() -> string; }
  interface top-api { top: func(x: u32) -> list<u32>; }
}";

const HANDLES: &str = "
package test:res {
  interface handles {
    resource handle {
      constructor(id: u32);
      id: func() -> u32;
    }
  }
  interface user-api {
    use handles.{handle};
    open: func() -> handle;
    close: func(h: handle);
  }
}";

/// Composed shapes no fixture case has (yet).
fn extra_cases() -> Result<Vec<Case>> {
    let diamond = |world: &str, more: &str| format!("package test:{world}; {more} {DIAMOND}");
    let semver = |world: &str, body: &str, version: &str| {
        format!(
            "package test:{world}; world {world} {{ {body} }}
             package test:api@{version} {{ interface numbers {{ next: func() -> u32; }} }}"
        )
    };
    let clock_user = |world: &str, version: &str| {
        format!(
            "package test:{world};
             world {world} {{
               import wasi:clocks/monotonic-clock@{version};
               export test:clocked/{world}-api;
             }}
             package wasi:clocks@{version} {{
               interface monotonic-clock {{ type instant = u64; now: func() -> instant; }}
             }}
             package test:clocked {{ interface {world}-api {{ run: func(); }} }}"
        )
    };
    Ok(vec![
        // Given out of dependency order; `base` is both consumed twice and
        // re-exported; `top` also exports a plain function; the shared clock
        // import is needed by two inputs.
        extra(
            "diamond",
            &[
                (
                    "top",
                    &diamond(
                        "top",
                        "world top {
                           import test:dia/left-api;
                           import test:dia/right-api;
                           export test:dia/top-api;
                           export run: func() -> u32;
                         }",
                    ),
                ),
                (
                    "right",
                    &format!(
                        "{} {CLOCKS}",
                        diamond(
                            "right",
                            "world right {
                               import wasi:clocks/monotonic-clock@0.2.3;
                               import test:dia/base-api;
                               export test:dia/right-api;
                             }",
                        )
                    ),
                ),
                (
                    "left",
                    &diamond(
                        "left",
                        "world left { import test:dia/base-api; export test:dia/left-api; }",
                    ),
                ),
                (
                    "base",
                    &format!(
                        "{} {CLOCKS}",
                        diamond(
                            "base",
                            "world base {
                               import wasi:clocks/monotonic-clock@0.2.3;
                               export test:dia/base-api;
                             }",
                        )
                    ),
                ),
            ],
            plan(&["top"], &[("base", "test:dia/base-api")]),
        )?,
        // An input nobody imports from and the plan does not export: still
        // instantiated, so its import is still an import of the composition.
        extra(
            "idle-input",
            &[
                ("main", &clock_user("main", "0.2.3")),
                (
                    "idle",
                    "package test:idle;
                     world idle { import wasi:random/random@0.2.3; export test:idling/api; }
                     package wasi:random@0.2.3 {
                       interface random { get-random-u64: func() -> u64; }
                     }
                     package test:idling { interface api { poke: func(); } }",
                ),
            ],
            plan(&["main"], &[]),
        )?,
        // A function import satisfied by another input's function export.
        extra(
            "function-wire",
            &[
                (
                    "app",
                    "package test:app;
                     world app { import log: func(message: string); export run: func(); }",
                ),
                (
                    "logger",
                    "package test:logger;
                     world logger { export log: func(message: string); }",
                ),
            ],
            plan(&["app"], &[]),
        )?,
        // The user's exported interface hands out the owner's resource.
        extra(
            "resource-across-inputs",
            &[
                (
                    "user",
                    &format!(
                        "package test:user;
                         world user {{ import test:res/handles; export test:res/user-api; }}
                         {HANDLES}"
                    ),
                ),
                (
                    "owner",
                    &format!(
                        "package test:owner; world owner {{ export test:res/handles; }} {HANDLES}"
                    ),
                ),
            ],
            plan(&["user"], &[("owner", "test:res/handles")]),
        )?,
        // The same, without exporting the resource's interface.
        extra(
            "resource-not-exported",
            &[
                (
                    "user",
                    &format!(
                        "package test:user;
                         world user {{ import test:res/handles; export test:res/user-api; }}
                         {HANDLES}"
                    ),
                ),
                (
                    "owner",
                    &format!(
                        "package test:owner; world owner {{ export test:res/handles; }} {HANDLES}"
                    ),
                ),
            ],
            plan(&["user"], &[]),
        )?,
        // Two views of one plain-named instance import: the second input
        // uses more of it than the first.
        extra(
            "named-views",
            &[
                (
                    "first",
                    "package test:first;
                     world first {
                       import host-log: interface { log: func(message: string); }
                       export first-run: func();
                     }",
                ),
                (
                    "second",
                    "package test:second;
                     world second {
                       import host-log: interface { log: func(message: string); flush: func(); }
                       export second-run: func();
                     }",
                ),
            ],
            plan(&["first", "second"], &[]),
        )?,
        // The same inputs, the larger view first.
        extra(
            "named-views-superset-first",
            &[
                (
                    "second",
                    "package test:second;
                     world second {
                       import host-log: interface { log: func(message: string); flush: func(); }
                       export second-run: func();
                     }",
                ),
                (
                    "first",
                    "package test:first;
                     world first {
                       import host-log: interface { log: func(message: string); }
                       export first-run: func();
                     }",
                ),
            ],
            plan(&["first", "second"], &[]),
        )?,
        // An import satisfied by a newer semver-compatible export.
        extra(
            "semver-wire",
            &[
                (
                    "consumer",
                    &semver(
                        "consumer",
                        "import test:api/numbers@0.1.0; export run: func() -> u32;",
                        "0.1.0",
                    ),
                ),
                (
                    "producer",
                    &semver("producer", "export test:api/numbers@0.1.2;", "0.1.2"),
                ),
            ],
            plan(&["consumer"], &[]),
        )?,
        // The only export on the import's semver track is *older* than the
        // import.
        extra(
            "semver-older-export",
            &[
                (
                    "consumer",
                    &semver(
                        "consumer",
                        "import test:api/numbers@0.1.2; export run: func() -> u32;",
                        "0.1.2",
                    ),
                ),
                (
                    "producer",
                    &semver("producer", "export test:api/numbers@0.1.0;", "0.1.0"),
                ),
            ],
            plan(&["consumer"], &[]),
        )?,
        // Semver-compatible versions of one outer import.
        extra(
            "semver-outer-imports",
            &[
                ("old", &clock_user("old", "0.2.0")),
                ("new", &clock_user("new", "0.2.3")),
            ],
            plan(&["old", "new"], &[]),
        )?,
    ])
}

// ---------------------------------------------------------------------------
// Composing.
// ---------------------------------------------------------------------------

/// Composes `case` with wac-graph, following the linker's rules.
fn compose_with_wac(case: &Case) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let mut packages: Vec<PackageId> = Vec::new();
    for input in &case.inputs {
        let package =
            Package::from_bytes(&input.name, None, input.bytes.clone(), graph.types_mut())
                .with_context(|| format!("wac cannot read input `{}`", input.name))?;
        packages.push(graph.register_package(package)?);
    }
    let world = |graph: &CompositionGraph, i: usize| graph.types()[graph[packages[i]].ty()].clone();
    let worlds: Vec<_> = (0..packages.len()).map(|i| world(&graph, i)).collect();

    let index = |name: &str| {
        case.inputs
            .iter()
            .position(|input| input.name == name)
            .ok_or_else(|| anyhow!("unknown input `{name}`"))
    };

    // For each input, each import some other input provides: (import name,
    // provider, export name). The plan's `provide` choices come first.
    let mut wires: Vec<Vec<(String, usize, String)>> = Vec::new();
    for (me, world) in worlds.iter().enumerate() {
        let my_name = &case.inputs[me].name;
        let mut mine = Vec::new();
        for import in world.imports.keys() {
            let chosen =
                case.plan.choices.iter().find(|c| {
                    c.import == *import && c.importer.as_ref().is_none_or(|i| i == my_name)
                });
            let providers: Vec<(usize, String)> = match chosen {
                Some(choice) => {
                    let provider = index(&choice.exporter)?;
                    let export = matching_export(worlds[provider].exports.keys(), import)
                        .filter(|_| provider != me)
                        .ok_or_else(|| {
                            anyhow!("`{}` does not export `{import}`", choice.exporter)
                        })?;
                    vec![(provider, export)]
                }
                None => worlds
                    .iter()
                    .enumerate()
                    .filter(|&(other, _)| other != me)
                    .filter_map(|(other, w)| {
                        matching_export(w.exports.keys(), import).map(|e| (other, e))
                    })
                    .collect(),
            };
            match providers.as_slice() {
                [] => {} // left to wac: an implicit import
                [(provider, export)] => mine.push((import.clone(), *provider, export.clone())),
                many => bail!("`{import}` of `{my_name}` is exported by several inputs: {many:?}"),
            }
        }
        wires.push(mine);
    }

    // Instantiate in dependency order (ties keep input order), then wire.
    let deps: Vec<Vec<usize>> = wires
        .iter()
        .map(|w| w.iter().map(|(_, provider, _)| *provider).collect())
        .collect();
    let mut nodes: Vec<Option<NodeId>> = vec![None; packages.len()];
    for i in dependency_order(&deps)? {
        nodes[i] = Some(graph.instantiate(packages[i]));
    }
    let nodes: Vec<NodeId> = nodes.into_iter().map(Option::unwrap).collect();
    for (me, mine) in wires.iter().enumerate() {
        for (import, provider, export) in mine {
            let alias = graph.alias_instance_export(nodes[*provider], export)?;
            graph
                .set_instantiation_argument(nodes[me], import, alias)
                .with_context(|| format!("wiring `{import}` of `{}`", case.inputs[me].name))?;
        }
    }

    // Exports: everything the entries export, then the extra exports.
    let mut exports: Vec<(usize, String)> = Vec::new();
    for entry in &case.plan.entries {
        let i = index(entry)?;
        exports.extend(worlds[i].exports.keys().map(|name| (i, name.clone())));
    }
    for (input, export) in &case.plan.extra_exports {
        exports.push((index(input)?, export.clone()));
    }
    let mut exported: BTreeMap<String, usize> = BTreeMap::new();
    for (i, name) in exports {
        match exported.get(&name) {
            Some(&from) if from == i => continue,
            Some(&from) => bail!(
                "`{name}` is exported by both `{}` and `{}`",
                case.inputs[from].name,
                case.inputs[i].name
            ),
            None => {}
        }
        let alias = graph.alias_instance_export(nodes[i], &name)?;
        graph.export(alias, name.clone())?;
        exported.insert(name, i);
    }

    Ok(graph.encode(EncodeOptions {
        define_components: true,
        validate: true,
        processor: None,
    })?)
}

/// The export among `exports` satisfying `import`: the same name or, failing
/// that, the newest semver-compatible one.
fn matching_export<'a>(
    exports: impl Iterator<Item = &'a String> + Clone,
    import: &str,
) -> Option<String> {
    if let Some(same) = exports.clone().find(|e| *e == import) {
        return Some(same.clone());
    }
    let version = |name: &str| {
        name.rsplit_once('@')
            .and_then(|(_, v)| semver::Version::parse(v).ok())
    };
    exports
        .filter(|e| are_semver_compatible(e, import))
        .max_by_key(|e| version(e))
        .cloned()
}

/// The inputs ordered so that each comes after those it depends on; ties
/// keep input order.
fn dependency_order(deps: &[Vec<usize>]) -> Result<Vec<usize>> {
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        state: &mut [u8],
        order: &mut Vec<usize>,
    ) -> Result<()> {
        match state[i] {
            2 => return Ok(()),
            1 => bail!("dependency cycle through input #{i}"),
            _ => {}
        }
        state[i] = 1;
        for &dep in &deps[i] {
            visit(dep, deps, state, order)?;
        }
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    let mut state = vec![0u8; deps.len()];
    let mut order = Vec::new();
    for i in 0..deps.len() {
        visit(i, deps, &mut state, &mut order)?;
    }
    Ok(order)
}

// ---------------------------------------------------------------------------
// Comparing.
// ---------------------------------------------------------------------------

/// The top-level imports and exports of a validated component, by name,
/// with their kinds.
#[derive(Debug, Default)]
struct Externs {
    imports: BTreeMap<String, &'static str>,
    exports: BTreeMap<String, &'static str>,
}

fn import_kind(ty: &ComponentTypeRef) -> &'static str {
    match ty {
        ComponentTypeRef::Module(_) => "module",
        ComponentTypeRef::Func(_) => "func",
        ComponentTypeRef::Value(_) => "value",
        ComponentTypeRef::Type(_) => "type",
        ComponentTypeRef::Instance(_) => "instance",
        ComponentTypeRef::Component(_) => "component",
    }
}

fn export_kind(kind: ComponentExternalKind) -> &'static str {
    match kind {
        ComponentExternalKind::Module => "module",
        ComponentExternalKind::Func => "func",
        ComponentExternalKind::Value => "value",
        ComponentExternalKind::Type => "type",
        ComponentExternalKind::Instance => "instance",
        ComponentExternalKind::Component => "component",
    }
}

/// Validates `component` and reads its top-level imports and exports.
fn externs(component: &[u8]) -> Result<Externs> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(component)
        .context("the composition does not validate")?;
    let mut externs = Externs::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth == 0 => break,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import?;
                    let name = import.name.name.to_owned();
                    let kind = import_kind(&import.ty);
                    if externs.imports.insert(name.clone(), kind).is_some() {
                        bail!("`{name}` is imported twice");
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export?;
                    let name = export.name.name.to_owned();
                    let kind = export_kind(export.kind);
                    if externs.exports.insert(name.clone(), kind).is_some() {
                        bail!("`{name}` is exported twice");
                    }
                }
            }
            _ => {}
        }
    }
    Ok(externs)
}

/// How the two compositions of one case compare.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Same import and export names, of the same kinds.
    Same,
    /// Different names: `import <name>` / `export <name>` items only one
    /// side has. (Kinds of common names must always agree.)
    Differ {
        linker_only: BTreeSet<String>,
        wac_only: BTreeSet<String>,
    },
    /// The linker composes, wac fails with this error (all causes).
    WacFails(String),
    /// wac composes (a valid component), the linker fails with this error:
    /// the `LinkError` variant, then the error with all causes.
    LinkerFails(String),
}

/// An expected [`Outcome`] other than [`Outcome::Same`]. (Add a `WacFails`
/// here when a case needs it.)
#[derive(Debug)]
enum Expected {
    Differ {
        linker_only: &'static [&'static str],
        wac_only: &'static [&'static str],
    },
    /// The linker fails with an error whose variant and causes contain this
    /// text, and wac composes.
    LinkerFails(&'static str),
}

struct Difference {
    case: &'static str,
    expected: Expected,
    reason: &'static str,
}

/// The documented differences; see the module documentation.
const DIFFERENCES: &[Difference] = &[
    Difference {
        case: "extra:semver-older-export",
        expected: Expected::Differ {
            linker_only: &["import test:api/numbers@0.1.2"],
            wac_only: &[],
        },
        reason: "wac's plug rule takes any export on the import's semver track; \
                 component-linker only one no older than the import",
    },
    Difference {
        case: "extra:named-views",
        expected: Expected::LinkerFails(
            "TypeMismatch: input `second` cannot be instantiated with the instances wired \
             to its imports: its import `host-log` does not match the composed component's \
             import: type mismatch for import `host-log`",
        ),
        reason: "component-linker limitation: a plain-named outer import is declared with \
                 the first input's view only; wac declares the union of the views",
    },
];

impl Expected {
    fn matches(&self, outcome: &Outcome) -> bool {
        let set = |items: &[&str]| items.iter().map(|&s| s.to_owned()).collect::<BTreeSet<_>>();
        match (self, outcome) {
            (
                Expected::Differ {
                    linker_only,
                    wac_only,
                },
                Outcome::Differ {
                    linker_only: l,
                    wac_only: w,
                },
            ) => *l == set(linker_only) && *w == set(wac_only),
            (Expected::LinkerFails(text), Outcome::LinkerFails(error)) => error.contains(text),
            _ => false,
        }
    }
}

/// Composes `case` both ways and compares. Errors are failures of the test
/// itself: a composition that does not validate, a kind that differs for a
/// common name, or both tools failing.
fn compare(case: &Case) -> Result<Outcome> {
    let linked = link(&case.inputs, &case.plan);
    let wac = compose_with_wac(case);
    let (linked, wac) = match (linked, wac) {
        (Ok(linked), Ok(wac)) => (linked, wac),
        (Ok(_), Err(err)) => return Ok(Outcome::WacFails(format!("{err:#}"))),
        (Err(err), Ok(wac)) => {
            externs(&wac).context("wac's output")?;
            let debug = format!("{err:?}");
            let variant = debug.split(|c: char| !c.is_alphanumeric()).next();
            let error = anyhow::Error::new(err);
            return Ok(Outcome::LinkerFails(format!(
                "{}: {error:#}",
                variant.unwrap_or_default()
            )));
        }
        (Err(err), Err(wac_err)) => {
            bail!("both fail; component-linker: {err}; wac: {wac_err:#}")
        }
    };
    let ours = externs(&linked.component).context("component-linker's output")?;
    let theirs = externs(&wac).context("wac's output")?;

    let mut linker_only = BTreeSet::new();
    let mut wac_only = BTreeSet::new();
    for (what, ours, theirs) in [
        ("import", &ours.imports, &theirs.imports),
        ("export", &ours.exports, &theirs.exports),
    ] {
        for (name, kind) in ours {
            match theirs.get(name) {
                None => {
                    linker_only.insert(format!("{what} {name}"));
                }
                Some(k) if k != kind => {
                    bail!("{what} `{name}` is a {kind} for component-linker, a {k} for wac")
                }
                Some(_) => {}
            }
        }
        for name in theirs.keys().filter(|name| !ours.contains_key(*name)) {
            wac_only.insert(format!("{what} {name}"));
        }
    }
    Ok(if linker_only.is_empty() && wac_only.is_empty() {
        Outcome::Same
    } else {
        Outcome::Differ {
            linker_only,
            wac_only,
        }
    })
}

/// Compares every case, printing one line per case, and fails listing every
/// case whose outcome is not the expected one.
fn check(cases: &[Case], extra: bool) {
    assert!(!cases.is_empty(), "no cases to compare");
    let mut failures = Vec::new();
    for case in cases {
        let documented = DIFFERENCES.iter().find(|d| d.case == case.name);
        let result = compare(case);
        match (&result, documented) {
            (Ok(Outcome::Same), None) => println!("{}: same imports and exports", case.name),
            (Ok(outcome), Some(d)) if d.expected.matches(outcome) => {
                println!(
                    "{}: documented difference ({}): {outcome:?}",
                    case.name, d.reason
                )
            }
            (Ok(outcome), Some(d)) => failures.push(format!(
                "{}: expected the documented difference {:?} ({}), got {outcome:?}",
                case.name, d.expected, d.reason
            )),
            (Ok(outcome), None) => failures.push(format!(
                "{}: undocumented difference {outcome:?}",
                case.name
            )),
            (Err(err), _) => failures.push(format!("{}: {err:#}", case.name)),
        }
    }
    for d in DIFFERENCES
        .iter()
        .filter(|d| d.case.starts_with("extra:") == extra)
    {
        if !cases.iter().any(|case| case.name == d.case) {
            failures.push(format!("{}: documented, but no such case", d.case));
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn fixture_cases_match_wac() {
    check(&fixture_cases().unwrap_or_else(|e| panic!("{e:#}")), false);
}

#[test]
fn extra_shapes_match_wac() {
    check(&extra_cases().unwrap_or_else(|e| panic!("{e:#}")), true);
}
