//! `cofaas link --plan plan.toml`: a wiring plan for component-linker.
//!
//! ```toml
//! # Inputs (file stems) whose exports the composed component exports.
//! # Default: the first component on the command line.
//! entries = ["frontend"]
//! # Further exports: [input, export name].
//! exports = [["backend", "test:chain/backend-api"]]
//!
//! # Explicit wiring, where several inputs export the same interface.
//! [[provide]]
//! importer = "frontend"        # optional: every importer of `import`
//! import = "test:api/numbers"
//! exporter = "slow"
//! ```

use std::path::Path;

use serde::Deserialize;

/// The file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    entries: Option<Vec<String>>,
    #[serde(default)]
    exports: Vec<(String, String)>,
    #[serde(default)]
    provide: Vec<Provide>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Provide {
    importer: Option<String>,
    import: String,
    exporter: String,
}

/// Errors reading a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Unreadable.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a plan.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// toml's error, with line and column.
        #[source]
        source: toml::de::Error,
    },
}

/// Parses plan text; `first` is the entry when the plan names none.
pub fn parse(text: &str, first: &str) -> Result<component_linker::Plan, toml::de::Error> {
    let file: PlanFile = toml::from_str(text)?;
    let mut plan = component_linker::Plan::default();
    plan.entries = file.entries.unwrap_or_else(|| vec![first.to_owned()]);
    plan.extra_exports = file.exports;
    plan.choices = file
        .provide
        .into_iter()
        .map(|p| component_linker::Choice::new(p.importer, p.import, p.exporter))
        .collect();
    Ok(plan)
}

/// Reads a plan file (see the module docs).
pub fn read(path: &Path, first: &str) -> Result<component_linker::Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, first).map_err(|source| PlanError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse() {
        let plan = parse(
            "entries = [\"a\", \"b\"]\nexports = [[\"c\", \"x:y/z\"]]\n[[provide]]\nimport = \"x:y/n\"\nexporter = \"c\"\n",
            "first",
        )
        .unwrap();
        assert_eq!(plan.entries, ["a", "b"]);
        assert_eq!(plan.extra_exports, [("c".to_string(), "x:y/z".to_string())]);
        assert_eq!(
            plan.choices,
            [component_linker::Choice::new(None::<String>, "x:y/n", "c")]
        );
        assert_eq!(parse("", "first").unwrap().entries, ["first"]);
        let err = parse("[[provide]]\nimport = \"x\"\n", "f").unwrap_err();
        assert!(
            err.to_string().contains("missing field `exporter`"),
            "{err}"
        );
    }
}
