//! Choosing what satisfies each import, and the instantiation order.

use indexmap::IndexMap;

use crate::input::{Externs, Kind};
use crate::{Choice, LinkError};

/// The position of an input in the slice given to [`link`](crate::link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct InputId(pub(crate) usize);

/// What satisfies one import of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Provider {
    /// An export of another input: the one of the same name, or of a
    /// semver-compatible version of it.
    Input(InputId, String),
    /// An import of the composed component.
    Outer,
}

/// `ns:pkg/iface@1.2.3` → (`ns:pkg/iface`, `1.2.3`).
fn split_version(name: &str) -> (&str, Option<semver::Version>) {
    match name.rsplit_once('@') {
        Some((base, version)) => match semver::Version::parse(version) {
            Ok(v) => (base, Some(v)),
            Err(_) => (name, None),
        },
        None => (name, None),
    }
}

/// Whether an export of version `export` may satisfy an import of version
/// `import`: the same major version (same minor for 0.x, same patch for
/// 0.0.x), as wac and wasmtime decide it, and, stricter than wac, the
/// export no older than the import (an older export may lack functions).
fn compatible(import: &semver::Version, export: &semver::Version) -> bool {
    let same_track = match (import.major, import.minor) {
        (0, 0) => export.major == 0 && export.minor == 0 && export.patch == import.patch,
        (0, minor) => export.major == 0 && export.minor == minor,
        (major, _) => export.major == major,
    };
    same_track && export >= import && import.pre.is_empty() == export.pre.is_empty()
}

/// The exports of `ext` that may satisfy `import`: the same name, or else
/// the newest semver-compatible version of it.
fn matching_export<'a>(ext: &'a Externs, import: &str) -> Option<&'a str> {
    if let Some((name, _)) = ext.exports.get_key_value(import) {
        return Some(name);
    }
    let (base, Some(wanted)) = split_version(import) else {
        return None;
    };
    ext.exports
        .keys()
        .filter_map(|name| match split_version(name) {
            (b, Some(v)) if b == base && compatible(&wanted, &v) => Some((v, name.as_str())),
            _ => None,
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, name)| name)
}

/// The wiring of all inputs.
#[derive(Debug)]
pub(crate) struct Wiring {
    /// For each input, each of its imports with its kind and provider, in
    /// the input's import order.
    pub(crate) imports: Vec<IndexMap<String, (Kind, Provider)>>,
    /// The imports no input satisfies, in order of first use, each with the
    /// inputs that need it.
    pub(crate) outer: IndexMap<String, Vec<InputId>>,
    /// Every export name with the inputs exporting it, in input order.
    pub(crate) exporters: IndexMap<String, Vec<InputId>>,
    /// The inputs in instantiation order: each after all it imports from.
    pub(crate) order: Vec<InputId>,
    /// Outer imports merged into a newer semver-compatible one: import name
    /// → the name declared (`wasi:clocks/monotonic-clock@0.2.0` →
    /// `…@0.2.3`).
    pub(crate) outer_renames: IndexMap<String, String>,
}

impl Wiring {
    /// The declared outer import serving import `name`.
    pub(crate) fn outer_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.outer_renames.get(name).map_or(name, String::as_str)
    }
}

/// Merges outer imports that are semver-compatible versions of one
/// interface into the newest, as wac does: a component built against WASI
/// 0.2.0 and one built against 0.2.3 share one `@0.2.3` import. The
/// importers of the newest version come first in its list, so its view
/// leads. Returns the renames.
fn merge_outer_versions(outer: &mut IndexMap<String, Vec<InputId>>) -> IndexMap<String, String> {
    let names: Vec<String> = outer.keys().cloned().collect();
    let mut renames = IndexMap::new();
    for name in &names {
        let (base, Some(version)) = split_version(name) else {
            continue;
        };
        let newest = names
            .iter()
            .filter_map(|other| match split_version(other) {
                (b, Some(v)) if b == base && compatible(&version, &v) => Some((v, other)),
                _ => None,
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, other)| other.clone());
        if let Some(newest) = newest
            && newest != *name
        {
            renames.insert(name.clone(), newest);
        }
    }
    for (old, new) in &renames {
        if let Some(users) = outer.shift_remove(old)
            && let Some(list) = outer.get_mut(new)
        {
            for user in users {
                if !list.contains(&user) {
                    list.push(user);
                }
            }
        }
    }
    renames
}

/// Package-level version renames implied by import renames:
/// (`ns:pkg`, old version) → new version.
pub(crate) fn package_renames(
    renames: &IndexMap<String, String>,
) -> Vec<(String, semver::Version, semver::Version)> {
    let mut out: Vec<(String, semver::Version, semver::Version)> = Vec::new();
    for (old, new) in renames {
        let ((old_base, Some(old_v)), (_, Some(new_v))) = (split_version(old), split_version(new))
        else {
            continue;
        };
        let package = old_base.split('/').next().unwrap_or(old_base).to_owned();
        match out
            .iter_mut()
            .find(|(p, v, _)| *p == package && *v == old_v)
        {
            Some(entry) if entry.2 < new_v => entry.2 = new_v,
            Some(_) => {}
            None => out.push((package, old_v, new_v)),
        }
    }
    out
}

/// Applies the plan's explicit choices, then the default wiring: an import
/// is satisfied by the one *other* input exporting the same name (or a
/// semver-compatible version of it), or else left to the composed component.
pub(crate) fn wire(
    names: &[&str],
    externs: &[Externs],
    choices: &[Choice],
) -> Result<Wiring, LinkError> {
    let mut used = vec![false; choices.len()];
    let mut exporters: IndexMap<String, Vec<InputId>> = IndexMap::new();
    for (i, ext) in externs.iter().enumerate() {
        for name in ext.exports.keys() {
            exporters.entry(name.clone()).or_default().push(InputId(i));
        }
    }

    let mut imports = Vec::with_capacity(externs.len());
    let mut outer: IndexMap<String, Vec<InputId>> = IndexMap::new();
    let mut deps: Vec<Vec<InputId>> = Vec::with_capacity(externs.len());
    for (i, ext) in externs.iter().enumerate() {
        let me = InputId(i);
        let mut wired = IndexMap::new();
        let mut my_deps = Vec::new();
        for (import, &kind) in &ext.imports {
            let chosen = choices.iter().position(|c| {
                c.import == *import && c.importer.as_deref().is_none_or(|i| i == names[me.0])
            });
            let candidates: Vec<(InputId, &str)> = if let Some(c) = chosen {
                used[c] = true;
                let choice = &choices[c];
                let id = names
                    .iter()
                    .position(|n| *n == choice.exporter)
                    .map(InputId)
                    .ok_or_else(|| LinkError::UnknownInput {
                        name: choice.exporter.clone(),
                    })?;
                let export = (id != me)
                    .then(|| matching_export(&externs[id.0], import))
                    .flatten()
                    .ok_or_else(|| LinkError::MissingExport {
                        component: choice.exporter.clone(),
                        export: import.clone(),
                    })?;
                vec![(id, export)]
            } else {
                externs
                    .iter()
                    .enumerate()
                    .filter(|&(id, _)| id != me.0)
                    .filter_map(|(id, other)| {
                        matching_export(other, import).map(|name| (InputId(id), name))
                    })
                    .collect()
            };
            let provider = match candidates.as_slice() {
                [] => {
                    if kind != Kind::Instance {
                        return Err(LinkError::UnsupportedImport {
                            component: names[i].to_owned(),
                            import: import.clone(),
                            kind: kind.to_string(),
                        });
                    }
                    outer.entry(import.clone()).or_default().push(me);
                    Provider::Outer
                }
                [(exporter, export)] => {
                    let found = externs[exporter.0].exports[*export];
                    if found != kind {
                        return Err(LinkError::KindMismatch {
                            importer: names[i].to_owned(),
                            import: import.clone(),
                            exporter: names[exporter.0].to_owned(),
                            expected: kind.to_string(),
                            found: found.to_string(),
                        });
                    }
                    if !my_deps.contains(exporter) {
                        my_deps.push(*exporter);
                    }
                    Provider::Input(*exporter, (*export).to_owned())
                }
                many => {
                    return Err(LinkError::AmbiguousExport {
                        importer: names[i].to_owned(),
                        import: import.clone(),
                        exporters: many.iter().map(|(id, _)| names[id.0].to_owned()).collect(),
                    });
                }
            };
            wired.insert(import.clone(), (kind, provider));
        }
        imports.push(wired);
        deps.push(my_deps);
    }

    if let Some(unused) = used.iter().position(|u| !u) {
        let c = &choices[unused];
        return Err(LinkError::UnusedChoice {
            importer: c.importer.clone(),
            import: c.import.clone(),
        });
    }
    let order = topological_order(names, &deps)?;
    let outer_renames = merge_outer_versions(&mut outer);
    Ok(Wiring {
        outer_renames,
        imports,
        outer,
        exporters,
        order,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Visiting,
    Done,
}

/// Orders the inputs so that each comes after those it depends on; ties
/// keep input order. `deps[i]` lists what input `i` imports from.
fn topological_order(names: &[&str], deps: &[Vec<InputId>]) -> Result<Vec<InputId>, LinkError> {
    fn visit(
        id: InputId,
        names: &[&str],
        deps: &[Vec<InputId>],
        marks: &mut [Mark],
        path: &mut Vec<InputId>,
        order: &mut Vec<InputId>,
    ) -> Result<(), LinkError> {
        match marks[id.0] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let start = path.iter().position(|&p| p == id).unwrap_or(0);
                let cycle = path[start..]
                    .iter()
                    .chain([&id])
                    .map(|p| names[p.0].to_owned())
                    .collect();
                return Err(LinkError::Cycle { cycle });
            }
            Mark::New => {}
        }
        marks[id.0] = Mark::Visiting;
        path.push(id);
        for &dep in &deps[id.0] {
            visit(dep, names, deps, marks, path, order)?;
        }
        path.pop();
        marks[id.0] = Mark::Done;
        order.push(id);
        Ok(())
    }

    let mut marks = vec![Mark::New; names.len()];
    let mut order = Vec::with_capacity(names.len());
    let mut path = Vec::new();
    for i in 0..names.len() {
        visit(InputId(i), names, deps, &mut marks, &mut path, &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[usize]) -> Vec<InputId> {
        v.iter().copied().map(InputId).collect()
    }

    #[test]
    fn order_puts_dependencies_first_and_keeps_input_order() {
        let names = ["a", "b", "c", "d"];
        let deps = [ids(&[2]), ids(&[]), ids(&[1]), ids(&[])];
        let order = topological_order(&names, &deps).unwrap();
        assert_eq!(order, ids(&[1, 2, 0, 3]));
    }

    #[test]
    fn cycle_is_named_from_where_it_was_entered() {
        let names = ["a", "b", "c"];
        let deps = [ids(&[1]), ids(&[2]), ids(&[1])];
        let err = topological_order(&names, &deps).unwrap_err();
        match err {
            LinkError::Cycle { cycle } => assert_eq!(cycle, ["b", "c", "b"]),
            other => panic!("unexpected {other:?}"),
        }
    }
}
