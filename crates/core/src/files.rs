//! The data directory's files are readable by the service's own user only: the database
//! (and its WAL) holds hashed mailed codes and sealed secrets, the outbox holds mail in
//! plain text, and other local users have no business reading either. Directories Twofold
//! creates are 0700 and its files 0600; its own files found looser (from an older release)
//! are tightened at start, and so is the data directory itself, unless it is a shared one
//! (sticky, like `/tmp`). Other directories that already existed are left as they are (a
//! database under `/var/lib`): the files' own modes keep their contents private. Unix
//! only; elsewhere these fall back to the defaults.

use std::path::Path;

/// Creates `dir` (and any missing parents) with mode 0700 if it does not exist.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates the data directory 0700, or takes group and other permissions away from an
/// existing one (an older release made it 0755), unless it is sticky: a shared directory
/// such as `/tmp` must stay open to its other users.
pub fn private_data_dir(dir: &Path) -> std::io::Result<()> {
    private_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(dir)?.permissions().mode() & 0o1000 != 0 {
            return Ok(());
        }
    }
    tighten(dir, 0o700)
}

/// Creates `path` empty with mode 0600 if it does not exist; tightens it if it does.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?;
    tighten(path, 0o600)
}

/// Writes `bytes` to a new file `path` with mode 0600 (failing if it exists).
pub fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)
}

/// Takes group and other permissions away from `path` if it has any (and exists).
pub fn tighten(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::info!(path = %path.display(), "was readable by other users: tightened");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn made_private_and_loose_ones_tightened() {
        let root = std::env::temp_dir().join(format!("twofold-files-{}", uuid::Uuid::new_v4()));
        let dir = root.join("data");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("db");
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        private_file(&file).unwrap();
        assert_eq!(mode(&dir), 0o755, "an existing directory is left alone");
        assert_eq!(mode(&file), 0o600);
        private_data_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "the data directory itself is tightened");
        let shared = root.join("shared");
        private_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        private_data_dir(&shared).unwrap();
        assert_eq!(
            mode(&shared) & 0o777,
            0o777,
            "a sticky shared directory is left open"
        );
        let new = dir.join("new");
        write_new_private(&new, b"x").unwrap();
        assert_eq!(mode(&new), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
