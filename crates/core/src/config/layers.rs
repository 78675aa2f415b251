//! Where a setting's value comes from: the one list of settings, and the three layers that
//! may give each — `twofold.toml`, its `TWOFOLD_*` variable, a command-line flag — the
//! later winning. A setting is named once, here; `Config::load` reads it by that name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::values::Setting;
use super::{CONFIG_FILE, ConfigError, Environment, Flags};

/// Every setting `twofold.toml` may hold, the `[smtp]` table's as `smtp.*`. Its variable
/// is `TWOFOLD_` and the key in capitals with `_` for `.` (`smtp.ca_file`:
/// `TWOFOLD_SMTP_CA_FILE`, see [`env_name`]); `listen`, `public_url` and `database_url`
/// are also flags.
pub(super) const SETTINGS: &[&str] = &[
    "listen",
    "public_url",
    "database_url",
    "issuer",
    "log_format",
    "metrics_listen",
    "sqlite_synchronous",
    "totp_window",
    "lockout_threshold",
    "lockout_base_seconds",
    "lockout_max_seconds",
    "flow_ttl_seconds",
    "session_ttl_seconds",
    "password_hash_concurrency",
    "password_hash_queue",
    "max_totp_factors",
    "remember_device_days",
    "max_remembered_devices",
    "max_connections",
    "header_read_timeout_seconds",
    "request_timeout_seconds",
    "trusted_proxies",
    "ip_failure_burst",
    "ip_failures_per_minute",
    "smtp.host",
    "smtp.port",
    "smtp.security",
    "smtp.username",
    "smtp.password",
    "smtp.password_file",
    "smtp.from",
    "smtp.ca_file",
    "smtp.timeout_seconds",
];

/// Variables that are not in the file: where the file is, the log filter (read before
/// anything else, to log the rest), and the key that seals secrets, which must not sit in
/// the data directory beside what it seals.
pub(super) const ENV_ONLY: &[&str] = &[
    "TWOFOLD_DATA_DIR",
    "TWOFOLD_LOG",
    "TWOFOLD_SECRET_KEY",
    "TWOFOLD_SECRET_KEY_FILE",
    "TWOFOLD_METRICS_TOKEN",
    "TWOFOLD_METRICS_TOKEN_FILE",
    "TWOFOLD_SECRET_KEY_PREVIOUS",
    "TWOFOLD_SECRET_KEY_PREVIOUS_FILE",
];

/// Setting `key`'s environment variable.
pub(super) fn env_name(key: &str) -> String {
    format!("TWOFOLD_{}", key.to_ascii_uppercase().replace('.', "_"))
}

/// The three layers, read once.
pub(super) struct Layers<'a> {
    file_path: PathBuf,
    /// `twofold.toml`'s values as text, by key.
    file: BTreeMap<String, String>,
    env: &'a Environment,
    flags: &'a Flags,
}

/// One setting's winning value, and its source as error messages name it.
pub(super) struct Given {
    pub(super) text: String,
    /// `--listen`, `TWOFOLD_LISTEN`, or `<data-dir>/twofold.toml \`listen\``.
    pub(super) source: String,
    /// The key alone for a value from the file (`smtp.password_file`), else the source.
    pub(super) short: String,
}

impl<'a> Layers<'a> {
    /// The layers of a server whose data directory is `data_dir`.
    pub(super) fn read(
        data_dir: &Path,
        env: &'a Environment,
        flags: &'a Flags,
    ) -> Result<Self, ConfigError> {
        let file_path = data_dir.join(CONFIG_FILE);
        Ok(Self {
            file: read_file(&file_path)?,
            file_path,
            env,
            flags,
        })
    }

    /// Setting `key` as given, from the highest layer that gives it.
    pub(super) fn given(&self, key: &str) -> Option<Given> {
        debug_assert!(SETTINGS.contains(&key), "{key} is missing from SETTINGS");
        let flag = match key {
            "listen" => self.flags.listen.as_ref(),
            "public_url" => self.flags.public_url.as_ref(),
            "database_url" => self.flags.database_url.as_ref(),
            _ => None,
        };
        if let Some(text) = flag {
            let source = format!("--{}", key.replace('_', "-"));
            return Some(Given {
                text: text.clone(),
                short: source.clone(),
                source,
            });
        }
        let var = env_name(key);
        if let Some(text) = self.env.get(&var) {
            return Some(Given {
                text,
                short: var.clone(),
                source: var,
            });
        }
        self.file.get(key).map(|text| Given {
            text: text.clone(),
            source: format!("{} `{key}`", self.file_path.display()),
            short: key.to_owned(),
        })
    }

    /// Setting `key`'s winning value, parsed, or a one-line error naming its source.
    pub(super) fn get<T: Setting>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        let Some(given) = self.given(key) else {
            return Ok(None);
        };
        // A database URL may hold a password: name the setting, never echo its value
        // (nor a password's).
        let shown = if key == "database_url" || key.contains("password") {
            String::new()
        } else {
            format!(" {:?}", given.text)
        };
        T::parse_setting(&given.text)
            .map(Some)
            .map_err(|why| ConfigError::new(format!("invalid {}{shown}: {why}", given.source)))
    }
}

/// `twofold.toml` flattened to text by key (none if there is no file). A key that is not
/// a setting is an error naming it and its line: a misspelt setting must not be ignored.
fn read_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(ConfigError::new(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let fail = |line: Option<usize>, why: String| {
        let line = line.map(|n| format!(" (line {n})")).unwrap_or_default();
        ConfigError::new(format!("{}{line}: {why}", path.display()))
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        fail(line, e.message().trim().to_owned())
    })?;
    let mut flat = BTreeMap::new();
    let mut pending: Vec<(String, toml::Table)> = vec![(String::new(), table)];
    while let Some((prefix, table)) = pending.pop() {
        for (name, value) in table {
            let key = format!("{prefix}{name}");
            let is_table = SETTINGS.iter().any(|s| s.starts_with(&format!("{key}.")));
            let text_value = match value {
                toml::Value::Table(inner) if is_table => {
                    pending.push((format!("{key}."), inner));
                    continue;
                }
                _ if is_table => {
                    return Err(fail(
                        line_of(&text, &name),
                        format!("`{key}`: expected a table, [{key}]"),
                    ));
                }
                _ if !SETTINGS.contains(&key.as_str()) => {
                    return Err(fail(line_of(&text, &name), unknown_key(&prefix, &name)));
                }
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                // A list of address ranges, as the variable's comma-separated text.
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        fail(line_of(&text, &name), format!("`{key}`: expected strings"))
                    })?
                    .join(","),
                _ => {
                    return Err(fail(
                        line_of(&text, &name),
                        format!("`{key}`: expected a string or a whole number"),
                    ));
                }
            };
            flat.insert(key, text_value);
        }
    }
    Ok(flat)
}

/// "unknown field `name`", and the setting of the same table it most likely meant.
fn unknown_key(prefix: &str, name: &str) -> String {
    let hint = SETTINGS
        .iter()
        .filter_map(|s| s.strip_prefix(prefix))
        .filter(|s| !s.contains('.'))
        .map(|s| (super::environment::edit_distance(name, s), s))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, s)| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    format!("unknown field `{name}`{hint}: it is not a Twofold setting")
}

/// The line that sets `name` (the first: enough to point an operator at it).
fn line_of(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let line = line
                .strip_prefix('"')
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix('"'))
                .or_else(|| line.strip_prefix(name));
            line.is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_has_a_variable_of_its_own() {
        let mut vars: Vec<String> = SETTINGS.iter().map(|k| env_name(k)).collect();
        vars.extend(ENV_ONLY.iter().map(|v| (*v).to_owned()));
        let count = vars.len();
        vars.sort();
        vars.dedup();
        assert_eq!(vars.len(), count, "two settings share a variable");
        assert_eq!(env_name("smtp.ca_file"), "TWOFOLD_SMTP_CA_FILE");
    }

    #[test]
    fn a_key_is_found_on_its_line() {
        let text = "listen = \"a\"\n\n[smtp]\n  \"hots\" = 1\nport=2\n";
        assert_eq!(line_of(text, "listen"), Some(1));
        assert_eq!(line_of(text, "hots"), Some(4));
        assert_eq!(line_of(text, "port"), Some(5));
        assert_eq!(line_of(text, "smtp"), None);
    }
}
