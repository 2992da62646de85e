//! Declaring the imports of the composed component.
//!
//! # Design
//!
//! The imports left to the composed component (WASI interfaces, mostly) are
//! instance imports whose types refer to each other: `wasi:io/streams` uses
//! the `error` resource of `wasi:io/error`, and a resource is only the same
//! resource if every importer sees the *same* imported instance. Encoding
//! those instance types by hand would mean re-implementing much of
//! wit-component, so instead:
//!
//! 1. every input that needs an outer import is decoded back to WIT
//!    ([`wit_component::decode`]) and all those WIT views are merged into one
//!    [`Resolve`]. Merging unions the partial views each input has of an
//!    interface (a component imports only the functions it uses);
//! 2. a fresh world imports exactly the outer imports, plus the interfaces
//!    their types come from, and exports what the inputs export (so that
//!    wit-component declares the imports that hold types only, which the
//!    exports use);
//! 3. wit-component encodes a component for a dummy core module of that
//!    world. Its leading type, import and alias sections, before its first
//!    core module, declare the world's imports with correct types. Those
//!    sections are copied verbatim to the start of the output.

use indexmap::IndexMap;
use wasmparser::{ComponentTypeRef, Parser, Payload};
use wit_component::{ComponentEncoder, DecodedWasm, StringEncoding};
use wit_parser::{
    InterfaceId, ManglingAndAbi, Package, PackageName, Resolve, World, WorldId, WorldItem, WorldKey,
};

use crate::input::Kind;
use crate::spaces::IndexSpaces;
use crate::wiring::{InputId, Wiring};
use crate::{Input, LinkError};

/// The declaration of the composed component's imports.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    /// Raw sections, as (section id, contents), to start the output with.
    pub(crate) sections: Vec<(u8, Vec<u8>)>,
    /// The instance index of each import, in declaration order.
    pub(crate) instances: IndexMap<String, u32>,
    /// The index spaces after those sections.
    pub(crate) spaces: IndexSpaces,
}

fn outer_error(source: impl Into<crate::Source>) -> LinkError {
    LinkError::OuterImports {
        source: source.into(),
    }
}

/// Declares every import in `wiring.outer`, and the interfaces their types
/// depend on.
pub(crate) fn declare(inputs: &[Input], wiring: &Wiring) -> Result<Declared, LinkError> {
    if wiring.outer.is_empty() {
        return Ok(Declared::default());
    }

    // 1. One resolve holding the WIT view of every input needing an outer
    // import.
    let mut users: Vec<InputId> = wiring.outer.values().flatten().copied().collect();
    users.sort();
    users.dedup();
    let mut resolve = Resolve::default();
    let mut worlds: IndexMap<InputId, WorldId> = IndexMap::new();
    let versions = crate::wiring::package_renames(&wiring.outer_renames);
    for &id in &users {
        let input = &inputs[id.0];
        let world = merge_input(&mut resolve, id, input, &versions)?;
        worlds.insert(id, world);
    }

    // 2. The world importing the outer imports, dependencies first.
    let mut imports: IndexMap<WorldKey, WorldItem> = IndexMap::new();
    for (name, needed_by) in &wiring.outer {
        let world = worlds[&needed_by[0]];
        let Some((key, item)) = resolve.worlds[world]
            .imports
            .iter()
            .find(|(key, _)| world_key_name(&resolve, key).as_deref() == Some(name.as_str()))
        else {
            return Err(outer_error(format!(
                "the WIT decoded from input `{}` has no import `{name}`",
                inputs[needed_by[0].0].name
            )));
        };
        let WorldItem::Interface { id, .. } = item else {
            return Err(outer_error(format!(
                "import `{name}` of input `{}` is not an interface",
                inputs[needed_by[0].0].name
            )));
        };
        let (key, item, id) = (key.clone(), item.clone(), *id);
        let mut elaborate = Elaborate {
            resolve: &resolve,
            worlds: &worlds,
            wiring,
            inputs,
            outer_import: name,
            imports: &mut imports,
        };
        elaborate.add_deps(id)?;
        imports.entry(key).or_insert(item);
    }
    // The users' exports too, though no output section comes from them:
    // wit-component declares an import whose interface has types only (a
    // proto package's messages, used by the service interfaces) only when
    // a function it encodes uses those types, and the functions using them
    // are the exports.
    let mut exports: IndexMap<WorldKey, WorldItem> = IndexMap::new();
    for world in worlds.values() {
        for (key, item) in &resolve.worlds[*world].exports {
            if matches!(item, WorldItem::Interface { .. }) && !imports.contains_key(key) {
                exports.entry(key.clone()).or_insert_with(|| item.clone());
            }
        }
    }
    let world = add_world(&mut resolve, imports, exports);

    // 3. A component declaring those imports.
    let mut module = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .map_err(outer_error)?;
    let component = ComponentEncoder::default()
        .module(&module)
        .map_err(outer_error)?
        .merge_imports_based_on_semver(false)
        .validate(true)
        .encode()
        .map_err(outer_error)?;
    let declared = leading_sections(&component)?;

    for name in wiring.outer.keys() {
        if !declared.instances.contains_key(name.as_str()) {
            return Err(outer_error(format!(
                "wit-component did not declare import `{name}`"
            )));
        }
    }
    Ok(declared)
}

/// Decodes `input` to WIT and merges it into `resolve`; returns the input's
/// world in `resolve`.
///
/// Packages whose version `versions` merges into a newer one are renamed
/// first, so that views of both versions union into one.
fn merge_input(
    resolve: &mut Resolve,
    id: InputId,
    input: &Input,
    versions: &[(String, semver::Version, semver::Version)],
) -> Result<WorldId, LinkError> {
    let invalid = |source: crate::Source| LinkError::InvalidComponent {
        name: input.name.clone(),
        source,
    };
    let (mut decoded, world) = match wit_component::decode(&input.bytes) {
        Ok(DecodedWasm::Component(decoded, world)) => (decoded, world),
        Ok(DecodedWasm::WitPackage(..)) => {
            return Err(invalid("it holds a WIT package, not a component".into()));
        }
        Err(e) => return Err(invalid(e.into())),
    };
    // Every decoded component's world is `root:component/root`; give each
    // its own package so that merging does not try to unify the worlds.
    if let Some(pkg) = decoded.worlds[world].package {
        let old = decoded.packages[pkg].name.clone();
        decoded.package_names.shift_remove(&old);
        let name = PackageName {
            namespace: "cofaas-linker-input".to_owned(),
            name: format!("input{}", id.0),
            version: None,
        };
        decoded.packages[pkg].name = name.clone();
        decoded.package_names.insert(name, pkg);
    }
    let renamed: Vec<_> = decoded
        .packages
        .iter()
        .filter_map(|(pkg, package)| {
            let base = format!("{}:{}", package.name.namespace, package.name.name);
            let version = package.name.version.as_ref()?;
            versions
                .iter()
                .find(|(p, old, _)| *p == base && old == version)
                .map(|(_, _, new)| (pkg, new.clone()))
        })
        .collect();
    for (pkg, new) in renamed {
        let old = decoded.packages[pkg].name.clone();
        decoded.package_names.shift_remove(&old);
        let mut name = old;
        name.version = Some(new);
        decoded.packages[pkg].name = name.clone();
        decoded.package_names.insert(name, pkg);
    }
    let remap = resolve.merge(decoded).map_err(|e| {
        outer_error(e.context(format!(
            "the imports of input `{}` disagree with those of other inputs",
            input.name
        )))
    })?;
    remap
        .worlds
        .get(world.index())
        .copied()
        .flatten()
        .ok_or_else(|| outer_error(format!("the world of input `{}` was lost", input.name)))
}

/// The import name a world key stands for, if it has one.
fn world_key_name(resolve: &Resolve, key: &WorldKey) -> Option<String> {
    match key {
        WorldKey::Name(name) => Some(name.clone()),
        WorldKey::Interface(id) => resolve.id_of(*id),
    }
}

/// Adds the interfaces an outer import depends on, transitively, before it.
struct Elaborate<'a> {
    resolve: &'a Resolve,
    worlds: &'a IndexMap<InputId, WorldId>,
    wiring: &'a Wiring,
    inputs: &'a [Input],
    outer_import: &'a str,
    imports: &'a mut IndexMap<WorldKey, WorldItem>,
}

impl Elaborate<'_> {
    fn add_deps(&mut self, id: InterfaceId) -> Result<(), LinkError> {
        let deps: Vec<InterfaceId> = self.resolve.interface_direct_deps(id).collect();
        for dep in deps {
            let (key, item) = self.import_of(dep)?;
            if self.imports.contains_key(&key) {
                continue;
            }
            let name = world_key_name(self.resolve, &key).unwrap_or_default();
            if let Some(exporters) = self.wiring.exporters.get(&name) {
                return Err(LinkError::SplitDependency {
                    import: self.outer_import.to_owned(),
                    dependency: name,
                    exporter: self.inputs[exporters[0].0].name.clone(),
                });
            }
            self.add_deps(dep)?;
            self.imports.insert(key, item);
        }
        Ok(())
    }

    /// How the inputs import interface `id`, or a plain interface import.
    fn import_of(&self, id: InterfaceId) -> Result<(WorldKey, WorldItem), LinkError> {
        for &world in self.worlds.values() {
            for (key, item) in &self.resolve.worlds[world].imports {
                if matches!(item, WorldItem::Interface { id: i, .. } if *i == id) {
                    return Ok((key.clone(), item.clone()));
                }
            }
        }
        if self.resolve.id_of(id).is_none() {
            return Err(outer_error(format!(
                "import `{}` depends on an unnamed interface",
                self.outer_import
            )));
        }
        let item = WorldItem::Interface {
            id,
            stability: Default::default(),
            external_id: None,
            docs: Default::default(),
            span: Default::default(),
        };
        Ok((WorldKey::Interface(id), item))
    }
}

/// Adds a world with `imports` and `exports`, in a package of its own.
fn add_world(
    resolve: &mut Resolve,
    imports: IndexMap<WorldKey, WorldItem>,
    exports: IndexMap<WorldKey, WorldItem>,
) -> WorldId {
    let world_name = "composed".to_owned();
    let world = resolve.worlds.alloc(World {
        name: world_name.clone(),
        imports,
        exports,
        package: None,
        docs: Default::default(),
        stability: Default::default(),
        includes: Vec::new(),
        span: Default::default(),
    });
    let mut suffix = 0usize;
    let name = loop {
        let name = PackageName {
            namespace: "cofaas-linker".to_owned(),
            name: if suffix == 0 {
                "composed".to_owned()
            } else {
                format!("composed{suffix}")
            },
            version: None,
        };
        if !resolve.package_names.contains_key(&name) {
            break name;
        }
        suffix += 1;
    };
    let pkg = resolve.packages.alloc(Package {
        name: name.clone(),
        docs: Default::default(),
        interfaces: IndexMap::new(),
        worlds: [(world_name, world)].into_iter().collect(),
    });
    resolve.package_names.insert(name, pkg);
    resolve.worlds[world].package = Some(pkg);
    world
}

/// Copies the type, import and alias sections that start `component`,
/// up to its first other section, and notes what they define.
fn leading_sections(component: &[u8]) -> Result<Declared, LinkError> {
    let mut declared = Declared::default();
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload.map_err(outer_error)?;
        match &payload {
            Payload::Version { .. } | Payload::CustomSection(_) => continue,
            Payload::ComponentTypeSection(reader) => declared.spaces.add_types(reader.count()),
            Payload::CoreTypeSection(_) => {}
            Payload::ComponentImportSection(reader) => {
                for import in reader.clone() {
                    let import = import.map_err(outer_error)?;
                    let index = declared.spaces.next(Kind::of_import(&import.ty));
                    if let ComponentTypeRef::Instance(_) = import.ty {
                        declared
                            .instances
                            .insert(import.name.name.to_owned(), index);
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader.clone() {
                    declared.spaces.alias(&alias.map_err(outer_error)?);
                }
            }
            _ => break,
        }
        if let Some((id, range)) = payload.as_section() {
            declared.sections.push((id, component[range].to_vec()));
        }
    }
    Ok(declared)
}
