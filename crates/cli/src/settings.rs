//! Settings files (JSON, or TOML when the name ends in `.toml`) read strictly and over the
//! program's defaults: a key the settings do not have is an error naming it, not silently
//! ignored, and a setting the file leaves out keeps the value the program would use without the
//! file, however deep it sits (`{"model": {"hidden": 16}}` changes the hidden size alone).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use unroll::training::durable::read_limited;

/// The keys that name the variant of a tagged setting (`{"kind": "cosine", …}`): an object whose
/// tag differs from the default's replaces it whole, since its other keys belong to its variant.
const TAGS: [&str; 2] = ["kind", "mode"];

/// The settings' other spellings (serde aliases), as the file may give them: merged under their
/// own name, so that the default and the file's value are one setting, not a duplicate.
const ALIASES: [(&str, &str); 1] = [("steps", "iterations")];

/// The largest settings file read: a cap keeps `/dev/zero` or a wrong file from filling memory.
const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// A TOML error on one line: where (line and column) and what, without the excerpt of the file
/// that its own message draws over several lines.
fn one_line(text: &str, error: &toml::de::Error) -> String {
    let message = error
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// Reads settings of type `T` from `path`, each one the file leaves out taken from `defaults`.
pub fn read<T: Serialize + DeserializeOwned>(path: &Path, defaults: &T) -> Result<T, String> {
    let show = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let bytes = read_limited(path, MAX_SETTINGS_BYTES).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| show(&"not UTF-8 text"))?;
    let given: Value = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| show(&one_line(&text, &e)))?
    } else {
        serde_json::from_str(&text).map_err(|e| show(&e))?
    };
    if !given.is_object() {
        return Err(show(&"the settings must be a table of named settings"));
    }
    let mut settings = serde_json::to_value(defaults).map_err(|e| show(&e))?;
    merge(&mut settings, given);
    let mut unknown = Vec::new();
    let record = |key: serde_ignored::Path<'_>| unknown.push(key.to_string());
    let settings = serde_ignored::deserialize(settings, record).map_err(|e| show(&e))?;
    if !unknown.is_empty() {
        return Err(format!(
            "{}: unknown setting{} {}",
            path.display(),
            if unknown.len() > 1 { "s" } else { "" },
            unknown
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(settings)
}

/// Puts `given` over `base`: tables key by key, everything else (and a table of another
/// variant, [`TAGS`]) replaced.
fn merge(base: &mut Value, given: Value) {
    match (base, given) {
        (Value::Object(base), Value::Object(given)) if same_variant(base, &given) => {
            for (key, value) in given {
                let key = match ALIASES.iter().find(|(alias, _)| *alias == key) {
                    Some((_, name)) => name.to_string(),
                    None => key,
                };
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, given) => *base = given,
    }
}

/// Whether two tables are the same variant of a tagged setting (or untagged).
fn same_variant(
    base: &serde_json::Map<String, Value>,
    given: &serde_json::Map<String, Value>,
) -> bool {
    // A variant may be spelt as its flag spells it (`scheduled-sampling`) or as settings files
    // write it (`scheduled_sampling`): the same variant either way.
    let spelling = |value: &Value| value.as_str().map(|name| name.replace('-', "_"));
    TAGS.iter()
        .all(|tag| match (base.get(*tag), given.get(*tag)) {
            (Some(a), Some(b)) => a == b || spelling(a).is_some_and(|a| Some(a) == spelling(b)),
            _ => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_variant_spelt_as_its_flag_is_the_same_variant() {
        let mut base = json!({"strategy": {"kind": "scheduled_sampling", "own": "sample",
            "schedule": {"kind": "linear", "k": 1.0}}});
        merge(
            &mut base,
            json!({"strategy": {"kind": "scheduled-sampling", "own": "argmax"}}),
        );
        assert_eq!(base["strategy"]["own"], "argmax");
        assert_eq!(base["strategy"]["schedule"]["kind"], "linear");
    }

    #[test]
    fn a_partial_file_keeps_every_other_default_however_deep() {
        let mut base = json!({"model": {"hidden": 256, "pattern": "output"}, "batch": 64});
        merge(&mut base, json!({"model": {"hidden": 16}}));
        assert_eq!(
            base,
            json!({"model": {"hidden": 16, "pattern": "output"}, "batch": 64})
        );
    }

    #[test]
    fn a_tagged_setting_of_another_variant_is_replaced_whole() {
        let mut base = json!({"schedule": {"kind": "step", "every": 10, "factor": 0.5}});
        merge(
            &mut base,
            json!({"schedule": {"kind": "cosine", "minimum": 0.0}}),
        );
        assert_eq!(
            base,
            json!({"schedule": {"kind": "cosine", "minimum": 0.0}})
        );
        let mut same = json!({"schedule": {"kind": "step", "every": 10, "factor": 0.5}});
        merge(&mut same, json!({"schedule": {"kind": "step", "every": 5}}));
        assert_eq!(
            same,
            json!({"schedule": {"kind": "step", "every": 5, "factor": 0.5}})
        );
    }

    #[test]
    fn a_toml_error_is_one_line_naming_line_and_column() {
        let dir = std::env::temp_dir().join(format!("unroll-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "batch = 4\nhidden = \n").unwrap();
        let error = read(&path, &json!({"batch": 1, "hidden": 2})).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains("bad.toml: line 2, column 10:"), "{error}");
    }
}
