//! Counting the component-level index spaces of the output.

use wasmparser::{ComponentAlias, ComponentOuterAliasKind};

use crate::input::Kind;

/// The next free index of each component-level index space (and of the
/// core module space, which component exports can also name).
#[derive(Debug, Default, Clone)]
pub(crate) struct IndexSpaces {
    modules: u32,
    funcs: u32,
    values: u32,
    types: u32,
    instances: u32,
    components: u32,
}

impl IndexSpaces {
    /// Allocates the next index of `kind`'s space and returns it.
    pub(crate) fn next(&mut self, kind: Kind) -> u32 {
        let slot = match kind {
            Kind::Module => &mut self.modules,
            Kind::Func => &mut self.funcs,
            Kind::Value => &mut self.values,
            Kind::Type => &mut self.types,
            Kind::Instance => &mut self.instances,
            Kind::Component => &mut self.components,
        };
        let index = *slot;
        *slot += 1;
        index
    }

    /// Records `count` type definitions.
    pub(crate) fn add_types(&mut self, count: u32) {
        self.types += count;
    }

    /// Records what an alias defines.
    pub(crate) fn alias(&mut self, alias: &ComponentAlias<'_>) {
        let kind = match alias {
            ComponentAlias::InstanceExport { kind, .. } => Kind::of_extern(*kind),
            // Core items live in core index spaces, never named here.
            ComponentAlias::CoreInstanceExport { .. } => return,
            ComponentAlias::Outer { kind, .. } => match kind {
                ComponentOuterAliasKind::CoreModule => Kind::Module,
                ComponentOuterAliasKind::CoreType => return,
                ComponentOuterAliasKind::Type => Kind::Type,
                ComponentOuterAliasKind::Component => Kind::Component,
            },
        };
        self.next(kind);
    }
}
