//! Writing the composed component.
//!
//! The output is, in order:
//!
//! 1. the sections declaring the outer imports (see [`crate::outer`]);
//! 2. every input, embedded verbatim as a nested component, in input order;
//! 3. per input, in instantiation order: aliases of the exports it is wired
//!    to, then its instantiation;
//! 4. aliases of the exported items and the exports;
//! 5. a `component-name` section naming each nested component and instance
//!    after its input, and each imported instance after its import.

use std::collections::BTreeMap;
use std::ops::Range;

use indexmap::IndexMap;
use wasm_encoder::{
    Alias, Component, ComponentAliasSection, ComponentExportKind, ComponentExportSection,
    ComponentInstanceSection, ComponentNameSection, ComponentSectionId, NameMap, RawSection,
};

use crate::Input;
use crate::input::Kind;
use crate::outer::Declared;
use crate::wiring::{InputId, Provider, Wiring};

/// One export of the composed component.
#[derive(Debug)]
pub(crate) struct Export {
    pub(crate) name: String,
    pub(crate) from: InputId,
    pub(crate) kind: Kind,
}

/// The encoded output, before validation.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    /// The byte range of each input's instantiation section.
    pub(crate) instantiations: Vec<(Range<usize>, InputId)>,
}

/// Aliases exports of instances, each (instance, name) pair once.
struct Aliases {
    cache: IndexMap<(InputId, String), u32>,
}

impl Aliases {
    fn get(
        &mut self,
        section: &mut ComponentAliasSection,
        declared: &mut Declared,
        instances: &IndexMap<InputId, u32>,
        from: InputId,
        name: &str,
        kind: Kind,
    ) -> u32 {
        let key = (from, name.to_owned());
        if let Some(&index) = self.cache.get(&key) {
            return index;
        }
        section.alias(Alias::InstanceExport {
            instance: instances[&from],
            kind: kind.export_kind(),
            name,
        });
        let index = declared.spaces.next(kind);
        self.cache.insert(key, index);
        index
    }
}

/// Writes the composed component; see the module documentation.
pub(crate) fn encode(
    inputs: &[Input],
    wiring: &Wiring,
    mut declared: Declared,
    exports: &[Export],
) -> Encoded {
    let mut component = Component::new();
    for (id, data) in &declared.sections {
        component.section(&RawSection { id: *id, data });
    }

    let mut component_names = NameMap::new();
    let mut components = Vec::with_capacity(inputs.len());
    for input in inputs {
        component.section(&RawSection {
            id: ComponentSectionId::Component.into(),
            data: &input.bytes,
        });
        let index = declared.spaces.next(Kind::Component);
        component_names.append(index, &input.name);
        components.push(index);
    }

    let mut aliases = Aliases {
        cache: IndexMap::new(),
    };
    // Instances are named after the import or input they stand for.
    let mut instance_names: BTreeMap<u32, String> = declared
        .instances
        .iter()
        .map(|(name, &index)| (index, name.clone()))
        .collect();
    let mut instances: IndexMap<InputId, u32> = IndexMap::new();
    let mut instantiations = Vec::with_capacity(inputs.len());
    for &id in &wiring.order {
        let mut alias_section = ComponentAliasSection::new();
        let mut args: Vec<(&str, ComponentExportKind, u32)> = Vec::new();
        for (import, (kind, provider)) in &wiring.imports[id.0] {
            let kind = *kind;
            let index = match provider {
                Provider::Outer => declared.instances[wiring.outer_name(import)],
                Provider::Input(from, export) => aliases.get(
                    &mut alias_section,
                    &mut declared,
                    &instances,
                    *from,
                    export,
                    kind,
                ),
            };
            args.push((import, kind.export_kind(), index));
        }
        if !alias_section.is_empty() {
            component.section(&alias_section);
        }
        let start = component.as_slice().len();
        let mut instance_section = ComponentInstanceSection::new();
        instance_section.instantiate(components[id.0], args);
        component.section(&instance_section);
        instantiations.push((start..component.as_slice().len(), id));
        let index = declared.spaces.next(Kind::Instance);
        instance_names.insert(index, inputs[id.0].name.clone());
        instances.insert(id, index);
    }

    if !exports.is_empty() {
        let mut alias_section = ComponentAliasSection::new();
        let mut export_section = ComponentExportSection::new();
        let mut indices = Vec::with_capacity(exports.len());
        for export in exports {
            indices.push(aliases.get(
                &mut alias_section,
                &mut declared,
                &instances,
                export.from,
                &export.name,
                export.kind,
            ));
        }
        for (export, index) in exports.iter().zip(indices) {
            export_section.export(&export.name, export.kind.export_kind(), index, None);
            declared.spaces.next(export.kind);
        }
        component.section(&alias_section);
        component.section(&export_section);
    }

    let mut names = ComponentNameSection::new();
    names.components(&component_names);
    let mut instance_map = NameMap::new();
    for (index, name) in instance_names {
        instance_map.append(index, &name);
    }
    names.instances(&instance_map);
    component.section(&names);

    Encoded {
        bytes: component.finish(),
        instantiations,
    }
}
