//! Configuration in layers: built-in defaults, then `switchboard.toml`, then `SWITCHBOARD_*`
//! environment variables, then command-line flags (each layer overrides the one before).
//!
//! The file is the one named by `--config` / `SWITCHBOARD_CONFIG`, else `switchboard.toml` in
//! the working directory if there is one. Unknown keys are errors, so a typo never silently
//! falls back to a default.

use anyhow::Context;
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What `switchboard.toml` may set. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub listen: Option<String>,
    pub outbound_max_attempts: Option<u32>,
    pub outbound_base_delay_ms: Option<u64>,
    pub public_url: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub smtp_listen: Option<String>,
    pub retrain_after: Option<u32>,
    pub retrain_every_secs: Option<u64>,
}

impl FileConfig {
    /// Reads the file named explicitly (an error if missing), or `switchboard.toml` if present.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("switchboard.toml");
                if !default.exists() {
                    return Ok(FileConfig::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
        Ok(toml::from_str(text)?)
    }
}

/// The matches of the innermost subcommand (where the flags of the command that runs live).
pub fn leaf(m: &ArgMatches) -> &ArgMatches {
    match m.subcommand() {
        Some((_, sub)) => leaf(sub),
        None => m,
    }
}

/// True when neither a flag nor an environment variable set `id`, so the file may.
pub fn unset(m: &ArgMatches, id: &str) -> bool {
    match m.try_contains_id(id) {
        // Not an argument of this command: nothing to layer.
        Err(_) => false,
        Ok(false) => true,
        Ok(true) => matches!(m.value_source(id), Some(ValueSource::DefaultValue) | None),
    }
}

/// `value` from the file when the command line and environment left it to the default.
pub fn layer<T>(m: &ArgMatches, id: &str, current: &mut T, file: Option<T>) {
    if unset(m, id)
        && let Some(v) = file
    {
        *current = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_keys() {
        let c = FileConfig::parse(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/var/lib/sb\"\noutbound_max_attempts = 3\n",
        )
        .unwrap();
        assert_eq!(c.listen.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!(c.data_dir, Some(PathBuf::from("/var/lib/sb")));
        assert_eq!(c.outbound_max_attempts, Some(3));
        assert!(c.database.is_none());
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors() {
        let e = FileConfig::parse("lisen = \"x\"").unwrap_err().to_string();
        assert!(e.contains("lisen"), "{e}");
        let e = FileConfig::parse("outbound_max_attempts = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("outbound_max_attempts") || e.contains("integer"),
            "{e}"
        );
    }
}
