//! The `TWOFOLD_*` environment variables: which ones are settings, and refusing the rest
//! by name (a misspelt `TWOFOLD_LOCKOUT_TRESHOLD` silently ignored would leave the
//! operator believing a setting is in force that is not).

use std::collections::BTreeMap;

use super::ConfigError;
use super::layers::{ENV_ONLY, SETTINGS, env_name};

/// Every `TWOFOLD_*` variable the server reads: one per setting, and those only the
/// environment gives.
pub fn known() -> Vec<String> {
    SETTINGS
        .iter()
        .map(|key| env_name(key))
        .chain(ENV_ONLY.iter().map(|v| (*v).to_owned()))
        .collect()
}

fn is_known(name: &str) -> bool {
    ENV_ONLY.contains(&name) || SETTINGS.iter().any(|key| env_name(key) == name)
}

/// Reserved for the test suite's own switches (`TWOFOLD_TEST_POSTGRES_URL`), which a server
/// started by a test inherits.
const TEST_PREFIX: &str = "TWOFOLD_TEST_";

/// The client commands' own variables (`TWOFOLD_URL`, the server they talk to): not the
/// server's settings, but not mistakes either when a server's environment holds them.
const CLIENT_VARS: &[&str] = &["TWOFOLD_URL"];

/// A snapshot of the environment the configuration is read from.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process's environment (variables that are not valid Unicode are left out: none
    /// of ours can be one).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment holding exactly these variables (for tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// One setting's variable. Reading a name that is not [`known`] is a bug that would
    /// make its own variable "unknown"; the tests' debug builds catch it.
    pub fn get(&self, name: &str) -> Option<String> {
        debug_assert!(is_known(name), "{name} is not a setting's variable");
        self.vars.get(name).cloned()
    }

    /// The first `TWOFOLD_*` variable that is not a setting, as an error naming it and the
    /// setting it most likely meant.
    pub fn refuse_unknown(&self) -> Result<(), ConfigError> {
        let unknown = self
            .vars
            .keys()
            .filter(|k| k.starts_with("TWOFOLD_") && !k.starts_with(TEST_PREFIX))
            .filter(|k| !CLIENT_VARS.contains(&k.as_str()))
            .find(|k| !is_known(k));
        let Some(name) = unknown else {
            return Ok(());
        };
        let hint = known()
            .into_iter()
            .map(|known| (edit_distance(name, &known), known))
            .filter(|(d, _)| *d <= 3)
            .min()
            .map(|(_, known)| format!(" (did you mean {known}?)"))
            .unwrap_or_default();
        Err(ConfigError::new(format!(
            "unknown environment variable {name}{hint}: it is not a Twofold setting"
        )))
    }
}

/// Levenshtein distance: enough to point a misspelt variable at the intended one.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_variable_is_refused_by_name_with_a_suggestion() {
        let env = Environment::from_pairs([("TWOFOLD_LOCKOUT_TRESHOLD", "3")]);
        let e = env.refuse_unknown().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown environment variable TWOFOLD_LOCKOUT_TRESHOLD (did you mean \
             TWOFOLD_LOCKOUT_THRESHOLD?): it is not a Twofold setting"
        );
        let e = Environment::from_pairs([("TWOFOLD_COLOUR", "blue")])
            .refuse_unknown()
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "unknown environment variable TWOFOLD_COLOUR: it is not a Twofold setting"
        );
    }

    #[test]
    fn settings_test_switches_and_other_programs_variables_pass() {
        let env =
            Environment::from_pairs(known().into_iter().map(|k| (k, "x".to_owned())).chain([
                ("TWOFOLD_TEST_POSTGRES_URL".to_owned(), "x".to_owned()),
                ("PATH".to_owned(), "/bin".to_owned()),
                ("TWOFOLDX".to_owned(), "1".to_owned()),
            ]));
        assert!(env.refuse_unknown().is_ok());
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("LISTEN", "LISTEN"), 0);
        assert_eq!(edit_distance("LISTN", "LISTEN"), 1);
        assert_eq!(edit_distance("LITSEN", "LISTEN"), 2);
        assert_eq!(edit_distance("", "AB"), 2);
    }
}
