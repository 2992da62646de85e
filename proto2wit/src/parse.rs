//! Parsing `.proto` text with protox, from disk or from memory, without
//! letting protox's parser panic into the caller.
//!
//! Two defences, both here and nowhere else:
//!
//! * every file's text is pre-scanned for integer literals protox-parse
//!   (0.9 and 0.10) cannot lex: a leading zero followed by an `8` or `9`
//!   (`09`, `0349`). Its lexer `debug_assert`s that a failed integer parse is
//!   an overflow, so a debug build panics and a release build reports a wrong
//!   diagnostic. The scan reports `file:line:col` naming the literal instead,
//!   as protoc does;
//! * the whole compilation runs under one [`std::panic::catch_unwind`] (see
//!   [`guarded`]), so any other panic inside protox becomes an
//!   [`Error::Proto`] naming the file being parsed, never an unwind.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use prost_types::FileDescriptorSet;
use protox::file::{File, FileResolver, GoogleFileResolver, IncludeFileResolver};

use crate::Error;

/// Parses and checks `.proto` files with protox (no `protoc` needed), returning
/// a descriptor set that includes imports and source info.
///
/// `files` are names relative to an include dir (`helloworld.proto`) or paths
/// under one; imports are looked up in `includes`, in order, then among
/// protox's copies of the well-known `google/protobuf/*.proto` files.
///
/// Never panics on any file content: see [`compile_sources`] for the checks.
pub fn compile_protos(
    files: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> Result<FileDescriptorSet, Error> {
    let roots: Vec<PathBuf> = files.iter().map(|f| f.as_ref().to_owned()).collect();
    let sources = Sources {
        memory: BTreeMap::new(),
        includes: includes.iter().map(|i| i.as_ref().to_owned()).collect(),
    };
    compile(&roots, sources)
}

/// Parses and checks `.proto` files held in memory, touching no file system:
/// each `(name, text)` pair is one file, `name` being how imports spell it
/// (`a/b.proto`). Every file is compiled; imports resolve among `sources`
/// and the well-known `google/protobuf/*.proto` files. The result is as
/// [`compile_protos`]'s.
///
/// Never panics, in debug or release builds. An integer literal that is not
/// a valid octal number (`09`, `0349`) is an [`Error::Proto`] at its
/// `file:line:col`; should protox's parser panic on anything else, the panic
/// is caught and returned as an [`Error::Proto`] naming the file (at line and
/// column 0), after the process's panic hook has run (it prints the panic
/// message, by default).
///
/// ```
/// # fn main() -> Result<(), proto2wit::Error> {
/// let fds = proto2wit::compile_sources(&[(
///     "hello.proto",
///     "syntax = \"proto3\"; package hi; message M { string s = 1; }",
/// )])?;
/// assert_eq!(fds.file[0].message_type[0].name(), "M");
///
/// let err = proto2wit::compile_sources(&[("bad.proto", "syntax = \"proto3\";\nmessage M {\n  int32 a = 09;\n}\n")])
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "bad.proto:3:13: `09` is not a valid octal number (an integer literal with a leading 0 is octal, and 8 and 9 are not octal digits)"
/// );
/// # Ok(())
/// # }
/// ```
pub fn compile_sources(
    sources: &[(impl AsRef<str>, impl AsRef<str>)],
) -> Result<FileDescriptorSet, Error> {
    let memory: BTreeMap<String, String> = sources
        .iter()
        .map(|(n, t)| (n.as_ref().to_owned(), t.as_ref().to_owned()))
        .collect();
    let roots: Vec<PathBuf> = memory.keys().map(PathBuf::from).collect();
    compile(
        &roots,
        Sources {
            memory,
            includes: Vec::new(),
        },
    )
}

/// Where files come from: memory first, then the include dirs in order,
/// then protox's well-known files.
#[derive(Debug, Clone)]
struct Sources {
    memory: BTreeMap<String, String>,
    includes: Vec<PathBuf>,
}

impl Sources {
    /// The text of `name`, for locating a protox diagnostic.
    fn text_of(&self, name: &str) -> Option<String> {
        if let Some(text) = self.memory.get(name) {
            return Some(text.clone());
        }
        self.includes
            .iter()
            .map(|i| i.join(name))
            .chain(std::iter::once(PathBuf::from(name)))
            .find_map(|p| std::fs::read_to_string(p).ok())
    }
}

/// What the resolver learnt that protox's error type cannot carry.
#[derive(Debug, Default)]
struct State {
    /// The file whose text protox is parsing right now.
    parsing: Option<String>,
    /// A diagnostic of ours (the octal scan) that made the resolver fail.
    error: Option<Error>,
}

/// A [`FileResolver`] over [`Sources`] that scans each file before protox
/// parses it.
struct Resolver {
    sources: Sources,
    state: Rc<RefCell<State>>,
}

impl Resolver {
    /// Scans `text`, then parses it with `parse` (noting which file is being
    /// parsed, for the panic guard).
    fn parse(
        &self,
        name: &str,
        text: &str,
        parse: impl FnOnce() -> Result<File, protox::Error>,
    ) -> Result<File, protox::Error> {
        if let Some(err) = scan_octal(name, text) {
            let message = err.to_string();
            self.state.borrow_mut().error = Some(err);
            return Err(protox::Error::new(message));
        }
        self.state.borrow_mut().parsing = Some(name.to_owned());
        let file = parse()?;
        self.state.borrow_mut().parsing = None;
        Ok(file)
    }
}

impl FileResolver for Resolver {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        self.sources
            .includes
            .iter()
            .find_map(|i| IncludeFileResolver::new(i.clone()).resolve_path(path))
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if let Some(text) = self.sources.memory.get(name) {
            return self.parse(name, text, || File::from_source(name, text));
        }
        for include in &self.sources.includes {
            let path = include.join(name);
            match std::fs::read(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Ok(bytes) => {
                    if let Ok(text) = String::from_utf8(bytes) {
                        // protox reads the file again, to keep its path (and
                        // its shadowing checks).
                        return self.parse(name, &text, || File::open(name, &path));
                    }
                    // Not UTF-8: protox refuses it before parsing.
                    return File::open(name, &path);
                }
                // Unreadable: protox reports why, before parsing.
                Err(_) => return File::open(name, &path),
            }
        }
        self.state.borrow_mut().parsing = Some(name.to_owned());
        let file = GoogleFileResolver::new().open_file(name)?;
        self.state.borrow_mut().parsing = None;
        Ok(file)
    }
}

/// Compiles `roots` (and their imports) from `sources`.
fn compile(roots: &[PathBuf], sources: Sources) -> Result<FileDescriptorSet, Error> {
    let state = Rc::new(RefCell::new(State::default()));
    let resolver = Resolver {
        sources: sources.clone(),
        state: Rc::clone(&state),
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_source_info(true).include_imports(true);
    let mut current = String::new();
    let result = guarded(&state, &mut current, |current| {
        for root in roots {
            *current = root.display().to_string();
            compiler.open_file(root)?;
        }
        Ok(compiler.file_descriptor_set())
    });
    match result {
        Ok(Ok(fds)) => Ok(fds),
        Ok(Err(err)) => Err(state
            .borrow_mut()
            .error
            .take()
            .unwrap_or_else(|| proto_error(&err, &sources))),
        Err(panic) => Err(panic),
    }
}

/// The one panic guard of the crate: runs `work` (all of protox's parsing
/// and checking for one compilation) and turns a panic inside it into an
/// [`Error::Proto`] naming the file protox was parsing (or, if it panicked
/// while checking, the root file being compiled), at line and column 0.
///
/// Unwind safety: nothing `work` touches is observed after a panic except
/// `state`, which holds plain values, and `current`, a name; the protox
/// compiler it borrows is dropped unused.
fn guarded<T>(
    state: &RefCell<State>,
    current: &mut String,
    work: impl FnOnce(&mut String) -> Result<T, protox::Error>,
) -> Result<Result<T, protox::Error>, Error> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(current)));
    outcome.map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let file = state
            .borrow_mut()
            .parsing
            .take()
            .unwrap_or_else(|| current.clone());
        Error::Proto {
            file,
            line: 0,
            column: 0,
            message: format!(
                "the .proto parser (protox) panicked: {what}; this is a bug in protox, please report it with this file"
            ),
        }
    })
}

/// A protox error as an [`Error::Proto`], located by its first label.
fn proto_error(err: &protox::Error, sources: &Sources) -> Error {
    use miette::Diagnostic;
    let file = err.file().unwrap_or("<input>").to_string();
    let mut line = 0;
    let mut column = 0;
    let span = err
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| *l.inner());
    if let Some(span) = span
        && let Some(text) = sources.text_of(&file)
    {
        (line, column) = line_col(&text, span.offset());
    }
    let mut message = err.to_string();
    if let Some(help) = err.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    Error::Proto {
        file,
        line,
        column,
        message,
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let upto = &text[..offset];
    let line = upto.matches('\n').count() + 1;
    let column = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The first integer literal of `text` that is not a valid octal number (a
/// `0` followed by digits, one of them `8` or `9`, not part of a float), as
/// an [`Error::Proto`] at its position.
///
/// Tokenises as protox-parse's lexer does: strings (`'…'`, `"…"`, with
/// backslash escapes, ended by their quote or a newline), comments (`//` and
/// `#` to the end of the line, `/* … */`), identifiers (which may hold
/// digits), hexadecimal integers and floats (`0.9`, `09.5`, `09e1`, `.09`)
/// are skipped.
pub(crate) fn scan_octal(file: &str, text: &str) -> Option<Error> {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    // An exponent starting at `i` (`e5`, `E-2`): its end, if there is one.
    let exponent = |i: usize| {
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                return Some(digits(j));
            }
        }
        None
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' => {
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    // An escape takes the next byte with it (a multi-byte
                    // character's continuation bytes are never quotes).
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = digits(i + 1);
                i = exponent(i).unwrap_or(i);
            }
            b'0' if matches!(b.get(i + 1), Some(b'x' | b'X'))
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) =>
            {
                i += 2;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
            }
            b'0'..=b'9' => {
                let start = i;
                let end = digits(i);
                i = end;
                if b.get(end) == Some(&b'.') {
                    // A float: `09.5`, `0.`, `1.5e3`.
                    i = digits(end + 1);
                    i = exponent(i).unwrap_or(i);
                } else if let Some(after) = exponent(end) {
                    i = after;
                } else {
                    let literal = &text[start..end];
                    if literal.len() > 1
                        && literal.starts_with('0')
                        && literal.bytes().any(|d| d == b'8' || d == b'9')
                    {
                        let (line, column) = line_col(text, start);
                        return Some(Error::Proto {
                            file: file.to_owned(),
                            line,
                            column,
                            message: format!(
                                "`{literal}` is not a valid octal number (an integer literal with a leading 0 is octal, and 8 and 9 are not octal digits)"
                            ),
                        });
                    }
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Option<String> {
        scan_octal("f.proto", text).map(|e| e.to_string())
    }

    #[test]
    fn invalid_octal_is_found_and_located() {
        let msg = |at: &str, lit: &str| {
            format!(
                "f.proto:{at}: `{lit}` is not a valid octal number (an integer literal with a leading 0 is octal, and 8 and 9 are not octal digits)"
            )
        };
        assert_eq!(scan("int32 a = 09;"), Some(msg("1:11", "09")));
        assert_eq!(
            scan("// 09\n/* 0349\n*/ x = \"09\\\"08\" '0\\'9' 0x9F 09.5 09e1 .09 a09 0349;"),
            Some(msg("3:47", "0349"))
        );
        assert_eq!(scan("# 08\n  é 0008"), Some(msg("2:5", "0008")));
    }

    #[test]
    fn valid_numbers_pass() {
        for text in [
            "0 00 07 0777 0x89 0X8f 10 99 1.09 09.5 0.9e9 09E+1 .89 a08 _09 \"09\" '0349' // 09",
            "/* 09 */ # 08\n 1.",
            "\"unterminated 09\n 1",
            "/* unterminated 09",
        ] {
            assert_eq!(scan(text), None, "{text}");
        }
    }

    #[test]
    fn a_panic_in_protox_is_a_located_error() {
        let state = RefCell::new(State::default());
        let mut current = String::from("root.proto");
        let err = guarded::<()>(&state, &mut current, |_| panic!("lexer exploded"))
            .expect_err("the panic is caught");
        assert_eq!(
            err.to_string(),
            "root.proto:0:0: the .proto parser (protox) panicked: lexer exploded; this is a bug in protox, please report it with this file"
        );
        // While a file is being parsed, the panic names that file.
        state.borrow_mut().parsing = Some("dep.proto".into());
        let err = guarded::<()>(&state, &mut current, |_| panic!("{}", 7))
            .expect_err("the panic is caught");
        assert!(
            err.to_string()
                .starts_with("dep.proto:0:0: the .proto parser (protox) panicked: 7;"),
            "{err}"
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("é", 1), (1, 1));
        assert_eq!(line_col("x", 99), (1, 2));
    }
}
