//! Composes several WebAssembly components into one.
//!
//! Each input is a component, typically one serverless function compiled
//! for `wasm32-wasip2`. [`link`] embeds all of them in one composed
//! component and instantiates each exactly once, in dependency order:
//!
//! * an import of an input is wired to the export of the same name of the
//!   one *other* input exporting it (for example a consumer's import of
//!   `cofaas:prodcon/prodcon-producer-consumer` to the producer's export);
//!   a versioned import (`a:b/c@1.0.0`) also accepts the newest
//!   semver-compatible export (`a:b/c@1.2.0`: same major, or same minor for
//!   0.x, and not older), as wac does; the plan's [`choices`](Plan::choices)
//!   override this where several inputs export the same interface;
//! * an import that no input exports (WASI, mostly, or a function left
//!   out of this composition) becomes an import of the composed component,
//!   declared once and shared by every input needing it, so resources such
//!   as `wasi:io/streams.output-stream` stay the same resource across
//!   inputs. Its type is the union of the inputs' views of it, and
//!   semver-compatible versions of it (WASI `@0.2.0` and `@0.2.3`) become
//!   one import of the newest;
//! * the composed component exports everything the plan's
//!   [`entries`](Plan::entries) export, plus the plan's
//!   [`extra_exports`](Plan::extra_exports).
//!
//! Inputs are instantiated in dependency order; any call graph without a
//! cycle composes (chains, fan-out, fan-in, diamonds). Cycles, ambiguous or
//! missing exports, type mismatches and invalid bytes are typed
//! [`LinkError`]s naming the inputs and interfaces involved, never panics.
//!
//! The result is validated before it is returned; validation cannot be
//! turned off. Composing 50 small components takes a few milliseconds
//! (`cargo bench -p component-linker`).
//!
//! # Example
//!
//! ```
//! use component_linker::{Input, Plan, link};
//! use wit_component::{ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata};
//! use wit_parser::{ManglingAndAbi, Resolve};
//!
//! /// A component for the only world in `wit`, around a dummy core module.
//! fn component(wit: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
//!     let mut resolve = Resolve::default();
//!     let pkg = resolve.push_source("function.wit", wit)?;
//!     let world = resolve.select_world(&[pkg], None)?;
//!     let mut module = dummy_module(&resolve, world, ManglingAndAbi::Standard32);
//!     embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
//!     Ok(ComponentEncoder::default().module(&module)?.encode()?)
//! }
//!
//! let api = "package demo:api { interface numbers { next: func() -> u32; } }";
//! let producer = component(&format!(
//!     "package demo:producer; world producer {{ export demo:api/numbers; }} {api}"
//! ))?;
//! let consumer = component(&format!(
//!     "package demo:consumer; world consumer {{ import demo:api/numbers; export run: func() -> u32; }} {api}"
//! ))?;
//!
//! let mut plan = Plan::default();
//! plan.entries.push("consumer".to_owned());
//! let linked = link(
//!     &[Input::new("producer", producer), Input::new("consumer", consumer)],
//!     &plan,
//! )?;
//!
//! assert_eq!(linked.wiring[0].to_string(), "consumer: demo:api/numbers <- producer");
//! assert!(linked.outer_imports.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod encode;
mod error;
mod input;
mod outer;
mod spaces;
mod wiring;

use std::fmt;

use indexmap::IndexMap;
use wasmparser::{Validator, WasmFeatures};

pub use error::{LinkError, Source};

use encode::Export;
use wiring::{InputId, Provider};

/// One input component.
#[derive(Clone)]
pub struct Input {
    /// The input's name, e.g. the function name `producer`. Names must be
    /// unique among the inputs; errors and [`Wire`]s use them.
    pub name: String,
    /// The component's binary encoding.
    pub bytes: Vec<u8>,
}

impl Input {
    /// Pairs a name with component bytes.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Input {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .finish()
    }
}

/// What the composed component exports.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Plan {
    /// Inputs whose exports become exports of the composed component (all of
    /// their exports, under the same names).
    pub entries: Vec<String>,
    /// Further (input, export name) pairs to re-export from the composed
    /// component under the same name, e.g. every function's lifecycle
    /// interface `cofaas:prodcon/consumer-lifecycle`.
    pub extra_exports: Vec<(String, String)>,
    /// Explicit wiring, overriding the default for the imports it names:
    /// which input exports what an import asks for. Needed when several
    /// inputs export the same interface.
    pub choices: Vec<Choice>,
}

/// An explicit choice of the input satisfying an import.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Choice {
    /// The importing input, or `None` for every input importing `import`.
    pub importer: Option<String>,
    /// The import name (`test:api/numbers` or `test:api/numbers@1.0.0`).
    pub import: String,
    /// The input whose export (same name, or a semver-compatible version)
    /// satisfies it.
    pub exporter: String,
}

impl Choice {
    /// `importer`'s (or, with `None`, everyone's) `import` comes from `exporter`.
    pub fn new(
        importer: Option<impl Into<String>>,
        import: impl Into<String>,
        exporter: impl Into<String>,
    ) -> Self {
        Choice {
            importer: importer.map(Into::into),
            import: import.into(),
            exporter: exporter.into(),
        }
    }
}

/// The composed component.
#[derive(Clone)]
pub struct Linked {
    /// The composed component's binary encoding; it validates.
    pub component: Vec<u8>,
    /// Which export satisfies each wired import, in instantiation order.
    pub wiring: Vec<Wire>,
    /// The imports of the composed component, in declaration order. Each is
    /// an instance (interface) import.
    pub outer_imports: Vec<String>,
}

impl fmt::Debug for Linked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linked")
            .field(
                "component",
                &format_args!("<{} bytes>", self.component.len()),
            )
            .field("wiring", &self.wiring)
            .field("outer_imports", &self.outer_imports)
            .finish()
    }
}

/// One import wired to another input's export.
///
/// Displays as `importer: import <- exporter`, or
/// `importer: import <- exporter (export)` when the export's name differs
/// (a semver-compatible version).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Wire {
    /// The importing input.
    pub importer: String,
    /// The import name.
    pub import: String,
    /// The exporting input.
    pub exporter: String,
    /// The export name: the import name, or a compatible version of it.
    pub export: String,
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} <- {}", self.importer, self.import, self.exporter)?;
        if self.export != self.import {
            write!(f, " ({})", self.export)?;
        }
        Ok(())
    }
}

/// Composes `inputs` into one validated component, exporting what `plan`
/// asks for. See the [crate documentation](crate) for the wiring rules.
///
/// The output depends only on the inputs' order and contents and on the
/// plan: linking the same inputs twice gives the same bytes.
pub fn link(inputs: &[Input], plan: &Plan) -> Result<Linked, LinkError> {
    let mut ids: IndexMap<&str, InputId> = IndexMap::new();
    for (i, input) in inputs.iter().enumerate() {
        if ids.insert(&input.name, InputId(i)).is_some() {
            return Err(LinkError::DuplicateInput {
                name: input.name.clone(),
            });
        }
    }
    let lookup = |name: &str| {
        ids.get(name)
            .copied()
            .ok_or_else(|| LinkError::UnknownInput {
                name: name.to_owned(),
            })
    };
    for name in plan
        .entries
        .iter()
        .chain(plan.extra_exports.iter().map(|(input, _)| input))
        .chain(plan.choices.iter().flat_map(|c| c.importer.iter()))
        .chain(plan.choices.iter().map(|c| &c.exporter))
    {
        lookup(name)?;
    }

    let externs = inputs
        .iter()
        .map(|input| input::read(&input.name, &input.bytes))
        .collect::<Result<Vec<_>, _>>()?;

    // The exports, in plan order.
    let mut exports: IndexMap<String, Export> = IndexMap::new();
    let mut add_export = |name: &str, from: InputId, kind| match exports.get(name) {
        Some(existing) if existing.from == from => Ok(()),
        Some(existing) => Err(LinkError::DuplicateExport {
            name: name.to_owned(),
            exporters: vec![
                inputs[existing.from.0].name.clone(),
                inputs[from.0].name.clone(),
            ],
        }),
        None => {
            let name = name.to_owned();
            exports.insert(name.clone(), Export { name, from, kind });
            Ok(())
        }
    };
    for entry in &plan.entries {
        let id = lookup(entry)?;
        for (name, &kind) in &externs[id.0].exports {
            add_export(name, id, kind)?;
        }
    }
    for (component, export) in &plan.extra_exports {
        let id = lookup(component)?;
        let kind = *externs[id.0]
            .exports
            .get(export)
            .ok_or_else(|| LinkError::MissingExport {
                component: component.clone(),
                export: export.clone(),
            })?;
        add_export(export, id, kind)?;
    }

    let names: Vec<&str> = inputs.iter().map(|input| input.name.as_str()).collect();
    let wiring = wiring::wire(&names, &externs, &plan.choices)?;
    let declared = outer::declare(inputs, &wiring)?;
    let outer_imports = declared.instances.keys().cloned().collect();
    let exports: Vec<Export> = exports.into_values().collect();
    let encoded = encode::encode(inputs, &wiring, declared, &exports);

    if let Err(source) =
        Validator::new_with_features(WasmFeatures::all()).validate_all(&encoded.bytes)
    {
        let offset = source.offset();
        let failed = encoded
            .instantiations
            .iter()
            .find(|(range, _)| range.contains(&offset));
        return Err(match failed {
            Some((_, id)) => {
                // wasmparser says `type mismatch for import `name``.
                let import = source
                    .message()
                    .split_once("for import `")
                    .and_then(|(_, rest)| rest.split_once('`'))
                    .map(|(name, _)| name.to_owned());
                let exporter = import.as_ref().and_then(|name| {
                    match wiring.imports[id.0].get(name).map(|(_, p)| p) {
                        Some(Provider::Input(from, _)) => Some(inputs[from.0].name.clone()),
                        _ => None,
                    }
                });
                LinkError::TypeMismatch {
                    importer: inputs[id.0].name.clone(),
                    import,
                    exporter,
                    source,
                }
            }
            None => LinkError::Validation { source },
        });
    }

    let mut wires = Vec::new();
    for &id in &wiring.order {
        for (import, (_, provider)) in &wiring.imports[id.0] {
            if let Provider::Input(from, export) = provider {
                wires.push(Wire {
                    importer: inputs[id.0].name.clone(),
                    import: import.clone(),
                    exporter: inputs[from.0].name.clone(),
                    export: export.clone(),
                });
            }
        }
    }

    Ok(Linked {
        component: encoded.bytes,
        wiring: wires,
        outer_imports,
    })
}
