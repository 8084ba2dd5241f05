//! Settings files (JSON, or TOML when the name ends in `.toml`) read strictly: a key the
//! settings do not have is an error naming it, not silently ignored.

use std::path::Path;

use serde::de::DeserializeOwned;

/// Reads settings of type `T` from `path`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let show = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| show(&e))?;
    let mut unknown = Vec::new();
    let record = |key: serde_ignored::Path<'_>| unknown.push(key.to_string());
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let settings = if is_toml {
        let deserializer = toml::Deserializer::parse(&text).map_err(|e| show(&e))?;
        serde_ignored::deserialize(deserializer, record).map_err(|e| show(&e))?
    } else {
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        let settings =
            serde_ignored::deserialize(&mut deserializer, record).map_err(|e| show(&e))?;
        deserializer.end().map_err(|e| show(&e))?;
        settings
    };
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
