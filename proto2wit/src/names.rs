//! Proto identifiers → WIT identifiers.

use heck::ToKebabCase;

/// WIT keywords that `wit-encoder` does not escape itself.
const EXTRA_KEYWORDS: &[&str] = &["map", "include", "error-context", "async", "await"];

/// Turns a proto identifier (`GetHTTP2Stream`, `ip_v4_addr`, `Rep_V2`) into a
/// valid WIT identifier (`get-http2-stream`, `ip-v4-addr`, `rep-v2`).
///
/// WIT words must start with a letter, so a word that starts with a digit is
/// merged into the word before it (`field_2x` → `field2x`); a leading digit
/// gets an `x` prefix. Returns `None` if nothing usable is left.
pub fn kebab(proto: &str) -> Option<String> {
    let kebab = proto.to_kebab_case();
    let mut words: Vec<String> = Vec::new();
    for word in kebab.split('-').filter(|w| !w.is_empty()) {
        let word: String = word
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if word.is_empty() {
            continue;
        }
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            match words.last_mut() {
                Some(last) => last.push_str(&word),
                None => words.push(format!("x{word}")),
            }
        } else {
            words.push(word);
        }
    }
    (!words.is_empty()).then(|| words.join("-"))
}

/// Spelling of `name` for `wit_encoder::Ident`: `%`-escapes the keywords
/// wit-encoder itself misses.
pub(crate) fn encoder_ident(name: &str) -> String {
    if EXTRA_KEYWORDS.contains(&name) {
        format!("%{name}")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::kebab;

    #[test]
    fn kebab_handles_digits_and_acronyms() {
        assert_eq!(kebab("GetHTTP2Stream").as_deref(), Some("get-http2-stream"));
        assert_eq!(kebab("ip_v4_addr").as_deref(), Some("ip-v4-addr"));
        assert_eq!(kebab("Rep_V2").as_deref(), Some("rep-v2"));
        assert_eq!(kebab("field_2x").as_deref(), Some("field2x"));
        assert_eq!(kebab("vHiveMetadata").as_deref(), Some("v-hive-metadata"));
        assert_eq!(kebab("_2").as_deref(), Some("x2"));
        assert_eq!(kebab("__").as_deref(), None);
    }
}
