//! The embedded default transport: each message as an `.eml` file in a folder, where an
//! operator or a mail pickup can take it.

use std::path::{Path, PathBuf};

use lettre::Message;

use super::MailError;
use crate::clock::Timestamp;

/// Writes `message` to `dir` and answers the file's path. Written aside and renamed, so
/// whoever picks mail up never sees half a message; named by time, so a listing sorts
/// oldest first (`id` is time-ordered too, for messages of the same millisecond).
pub fn write(dir: &Path, id: &str, message: &Message, at: Timestamp) -> Result<PathBuf, MailError> {
    let io = |source| MailError::Outbox {
        path: dir.display().to_string(),
        source,
    };
    // Mail holds codes in plain text: the owner's eyes only.
    crate::files::private_dir(dir).map_err(io)?;
    let tmp = dir.join(format!(".{id}.tmp"));
    let path = dir.join(format!("{:013}-{id}.eml", at.as_millis()));
    let _ = std::fs::remove_file(&tmp);
    crate::files::write_new_private(&tmp, &message.formatted()).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}
