//! Reading the top-level imports and exports of an input component.

use std::fmt;

use indexmap::IndexMap;
use wasm_encoder::ComponentExportKind;
use wasmparser::{
    ComponentExternalKind, ComponentTypeRef, Parser, Payload, Validator, WasmFeatures,
};

use crate::LinkError;

/// The kind of an imported or exported item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Module,
    Func,
    Value,
    Type,
    Instance,
    Component,
}

impl Kind {
    pub(crate) fn of_import(ty: &ComponentTypeRef) -> Kind {
        match ty {
            ComponentTypeRef::Module(_) => Kind::Module,
            ComponentTypeRef::Func(_) => Kind::Func,
            ComponentTypeRef::Value(_) => Kind::Value,
            ComponentTypeRef::Type(_) => Kind::Type,
            ComponentTypeRef::Instance(_) => Kind::Instance,
            ComponentTypeRef::Component(_) => Kind::Component,
        }
    }

    pub(crate) fn of_extern(kind: ComponentExternalKind) -> Kind {
        match kind {
            ComponentExternalKind::Module => Kind::Module,
            ComponentExternalKind::Func => Kind::Func,
            ComponentExternalKind::Value => Kind::Value,
            ComponentExternalKind::Type => Kind::Type,
            ComponentExternalKind::Instance => Kind::Instance,
            ComponentExternalKind::Component => Kind::Component,
        }
    }

    pub(crate) fn export_kind(self) -> ComponentExportKind {
        match self {
            Kind::Module => ComponentExportKind::Module,
            Kind::Func => ComponentExportKind::Func,
            Kind::Value => ComponentExportKind::Value,
            Kind::Type => ComponentExportKind::Type,
            Kind::Instance => ComponentExportKind::Instance,
            Kind::Component => ComponentExportKind::Component,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Module => "a core module",
            Kind::Func => "a function",
            Kind::Value => "a value",
            Kind::Type => "a type",
            Kind::Instance => "an instance",
            Kind::Component => "a component",
        })
    }
}

/// The top-level imports and exports of a validated input component, in the
/// order the component declares them.
#[derive(Debug)]
pub(crate) struct Externs {
    pub(crate) imports: IndexMap<String, Kind>,
    pub(crate) exports: IndexMap<String, Kind>,
}

/// Validates `bytes` as a component and lists its top-level imports and
/// exports.
pub(crate) fn read(name: &str, bytes: &[u8]) -> Result<Externs, LinkError> {
    let invalid = |source: crate::Source| LinkError::InvalidComponent {
        name: name.to_owned(),
        source,
    };
    if !Parser::is_component(bytes) {
        let what = if Parser::is_core_wasm(bytes) {
            "it is a core WebAssembly module, not a component"
        } else {
            "it does not start with the WebAssembly component header"
        };
        return Err(invalid(what.into()));
    }
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| invalid(e.into()))?;

    let mut externs = Externs {
        imports: IndexMap::new(),
        exports: IndexMap::new(),
    };
    // Nested modules and components are reported inline by `parse_all`;
    // only the outermost sections matter here.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| invalid(e.into()))? {
            // wasmparser reads a nested module or component cut short by
            // the end of the input as a complete one; reject it here.
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                if unchecked_range.end > bytes.len() {
                    return Err(invalid(
                        "a nested module or component extends past the end of the input".into(),
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => break,
            },
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| invalid(e.into()))?;
                    externs
                        .imports
                        .insert(import.name.name.to_owned(), Kind::of_import(&import.ty));
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| invalid(e.into()))?;
                    externs
                        .exports
                        .insert(export.name.name.to_owned(), Kind::of_extern(export.kind));
                }
            }
            _ => {}
        }
    }
    Ok(externs)
}
