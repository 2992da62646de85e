//! Fixture helpers shared by the linker's test binaries: components built
//! from WIT around dummy core modules, and the case directories' plan files.

#![allow(dead_code)] // Each test binary uses a subset.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use component_linker::{Choice, Input, Plan};
use wit_component::{ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata};
use wit_parser::{ManglingAndAbi, Resolve};

/// A component for the only world of the WIT package in `source`.
pub fn component_from_source(name: &str, source: &str) -> Result<Vec<u8>> {
    let mut resolve = Resolve::default();
    let pkg = resolve.push_source(name, source)?;
    let world = resolve.select_world(&[pkg], None)?;
    let mut module = dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
    ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
}

/// A component for the only world of the WIT package in `path`.
pub fn component_from_wit(path: &Path) -> Result<Vec<u8>> {
    let source = fs::read_to_string(path)?;
    component_from_source(&path.display().to_string(), &source)
}

pub fn read_inputs(dir: &Path) -> Result<Vec<Input>> {
    let mut paths: Vec<_> = fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    let mut inputs = Vec::new();
    for path in paths {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let bytes = match path.extension().and_then(|e| e.to_str()) {
            Some("wit") => component_from_wit(&path)
                .with_context(|| format!("building fixture {}", path.display()))?,
            Some("wasm") => fs::read(&path)?,
            _ => continue,
        };
        inputs.push(Input::new(name, bytes));
    }
    Ok(inputs)
}

/// Meaningful lines of a case file: trimmed, without comments or blanks.
pub fn lines(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect())
}

/// Reads a plan file: `entry <input>`, `export <input> <name>` and
/// `provide <importer or *> <import> <exporter>` lines. Any other line
/// fails, so that a plan feature the differential test does not mirror on
/// the wac side cannot be silently dropped.
pub fn read_plan(path: &Path) -> Result<Plan> {
    let mut plan = Plan::default();
    for line in lines(path)? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["entry", input] => plan.entries.push((*input).to_owned()),
            ["export", input, export] => plan
                .extra_exports
                .push(((*input).to_owned(), (*export).to_owned())),
            ["provide", importer, import, exporter] => plan.choices.push(Choice::new(
                (*importer != "*").then_some(*importer),
                *import,
                *exporter,
            )),
            _ => bail!(
                "plan line `{line}` in {} is not understood \
                 (extend read_plan, and compose_with_wac in wac_diff.rs)",
                path.display()
            ),
        }
    }
    Ok(plan)
}
