//! Where the CLI keeps its sessions between commands: `$XDG_CONFIG_HOME/twofold/
//! sessions.json` (else `~/.config/…`), one entry per server, readable by the user alone
//! (the directory 0700, the file 0600, written whole to a temporary file and renamed, so
//! it is never seen half written or with wider permissions). It holds the session token,
//! which is what a browser's cookie holds, and never a password or a code.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// One server's session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Saved {
    pub org: String,
    pub username: String,
    pub session_token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// The identity provider signed in through (`twofold login --sso`), to sign in the
    /// same way again when the session expires; none for a password sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// The sessions file.
pub struct SessionFile {
    path: PathBuf,
}

impl SessionFile {
    /// The file in the user's configuration directory.
    pub fn locate() -> Result<SessionFile, Failure> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })
            .ok_or_else(|| {
                Failure::new(
                    "failed",
                    "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the session",
                )
            })?;
        Ok(SessionFile {
            path: base.join("twofold").join("sessions.json"),
        })
    }

    fn read_all(&self) -> Result<BTreeMap<String, Saved>, Failure> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    "failed",
                    format!(
                        "{} is damaged ({e}): delete it and sign in again",
                        self.path.display()
                    ),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Failure::new(
                "failed",
                format!("cannot read {}: {e}", self.path.display()),
            )),
        }
    }

    /// The session kept for `server`, if any.
    pub fn get(&self, server: &str) -> Result<Option<Saved>, Failure> {
        Ok(self.read_all()?.remove(server))
    }

    /// Keeps `saved` for `server` (`None` forgets it).
    pub fn put(&self, server: &str, saved: Option<&Saved>) -> Result<(), Failure> {
        let mut all = self.read_all()?;
        match saved {
            Some(s) => all.insert(server.to_owned(), s.clone()),
            None => all.remove(server),
        };
        self.write_all(&all).map_err(|e| {
            Failure::new(
                "failed",
                format!("cannot write {}: {e}", self.path.display()),
            )
        })
    }

    fn write_all(&self, all: &BTreeMap<String, Saved>) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(&self.path);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(all)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}
