//! The error type of [`link`](crate::link).

/// The underlying cause of some [`LinkError`]s, as reported by wasmparser,
/// wit-parser or wit-component.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why [`link`](crate::link) could not compose its inputs.
///
/// Every variant names the inputs and the import or export names involved,
/// so that the message alone says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// An input's bytes are not a valid WebAssembly component.
    #[error("input `{name}` is not a valid WebAssembly component")]
    InvalidComponent {
        /// The input's name.
        name: String,
        /// What is wrong with it.
        #[source]
        source: Source,
    },

    /// Two inputs have the same name.
    #[error("two inputs are named `{name}`")]
    DuplicateInput {
        /// The name used twice.
        name: String,
    },

    /// The plan names an input that is not among the inputs.
    #[error("the plan names input `{name}`, but no input has that name")]
    UnknownInput {
        /// The name given by the plan.
        name: String,
    },

    /// The plan asks to re-export something an input does not export.
    #[error("input `{component}` has no export named `{export}`")]
    MissingExport {
        /// The input named by the plan.
        component: String,
        /// The export name it lacks.
        export: String,
    },

    /// Two different inputs would provide the same export of the composed
    /// component.
    #[error(
        "export `{name}` of the composed component would come from several inputs: {}",
        .exporters.join(", ")
    )]
    DuplicateExport {
        /// The export name.
        name: String,
        /// The inputs that would provide it, in plan order.
        exporters: Vec<String>,
    },

    /// The plan chooses an exporter for an import that no input has.
    #[error(
        "the plan chooses an exporter for import `{import}`{}, but no such import exists",
        .importer.as_ref().map(|i| format!(" of `{i}`")).unwrap_or_default()
    )]
    UnusedChoice {
        /// The importer the choice is for (`None`: every importer).
        importer: Option<String>,
        /// The import name.
        import: String,
    },

    /// An import of one input is exported by more than one other input, so
    /// the default wiring cannot choose.
    #[error(
        "input `{importer}` imports `{import}`, which several inputs export: {}",
        .exporters.join(", ")
    )]
    AmbiguousExport {
        /// The input whose import is ambiguous.
        importer: String,
        /// The import name.
        import: String,
        /// The inputs exporting that name, in input order.
        exporters: Vec<String>,
    },

    /// The inputs import from each other in a cycle, so there is no order in
    /// which to instantiate them.
    #[error("inputs import from each other in a cycle: {}", .cycle.join(" -> "))]
    Cycle {
        /// The inputs on the cycle; the first is repeated at the end. Each
        /// one imports from the next.
        cycle: Vec<String>,
    },

    /// An import is wired to an export of a different kind (for example an
    /// instance import to a function export).
    #[error(
        "input `{importer}` imports `{import}` as {expected}, but `{exporter}` exports it as {found}"
    )]
    KindMismatch {
        /// The importing input.
        importer: String,
        /// The import (and export) name.
        import: String,
        /// The exporting input.
        exporter: String,
        /// The kind of the import, e.g. `an instance`.
        expected: String,
        /// The kind of the export.
        found: String,
    },

    /// An import that no input satisfies is not an instance import, and only
    /// instance imports can become imports of the composed component.
    #[error(
        "input `{component}` imports `{import}` as {kind} and no input exports it; \
         only instance (interface) imports can become imports of the composed component"
    )]
    UnsupportedImport {
        /// The importing input.
        component: String,
        /// The import name.
        import: String,
        /// The kind of the import, e.g. `a function`.
        kind: String,
    },

    /// An import left to the composed component uses types of an interface
    /// that another input exports, so the two cannot be declared apart.
    #[error(
        "import `{import}` of the composed component uses types of `{dependency}`, \
         but input `{exporter}` exports `{dependency}`, so it cannot also be imported"
    )]
    SplitDependency {
        /// The outer import.
        import: String,
        /// The interface it depends on.
        dependency: String,
        /// The input exporting that interface.
        exporter: String,
    },

    /// The imports of the composed component could not be declared, for
    /// example because two inputs disagree about the signature of an
    /// imported function.
    #[error("cannot declare the imports of the composed component")]
    OuterImports {
        /// The cause.
        #[source]
        source: Source,
    },

    /// An input cannot be instantiated with what it was wired to: an import
    /// and the export (or outer import) chosen for it have different types.
    #[error(
        "input `{importer}` cannot be instantiated with the instances wired to its imports{}",
        match (import, exporter) {
            (Some(i), Some(e)) => format!(": its import `{i}` does not match the export of `{e}`"),
            (Some(i), None) => format!(": its import `{i}` does not match the composed component's import"),
            _ => String::new(),
        }
    )]
    TypeMismatch {
        /// The input that could not be instantiated.
        importer: String,
        /// The import whose type does not match, when the validator names it.
        import: Option<String>,
        /// The input exporting what that import was wired to (`None` for an
        /// outer import).
        exporter: Option<String>,
        /// The validator's complaint.
        #[source]
        source: wasmparser::BinaryReaderError,
    },

    /// The composed component does not validate for another reason. This is
    /// a bug in this crate; please report it with the inputs.
    #[error("the composed component does not validate (a bug in component-linker)")]
    Validation {
        /// The validator's complaint.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
}
