//! `twofold secret-key generate`: the value an operator pastes into TWOFOLD_SECRET_KEY;
//! `rotate` and `retire` in `rotation.rs`.

use crate::support::{TempDir, run, twofold};

mod rotation;

/// Runs the command in an empty directory and answers the one line it printed.
pub fn generate_key(cwd: &TempDir) -> String {
    let mut cmd = twofold();
    cmd.current_dir(cwd.path()).args(["secret-key", "generate"]);
    let out = run(&mut cmd, None);
    assert_eq!(out.stderr, "", "{out:?}");
    out.one_stdout_line().to_owned()
}

#[test]
fn secret_key_generate_prints_one_new_id_and_base64url_key_per_run() {
    let cwd = TempDir::new();
    let a = generate_key(&cwd);
    let b = generate_key(&cwd);
    for key in [&a, &b] {
        let (id, material) = key.split_once(':').unwrap();
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{key}"
        );
        // 32 bytes in unpadded base64url are 43 characters.
        assert_eq!(material.len(), 43, "{key}");
        assert!(
            material
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{key}"
        );
    }
    // Both the id and the key material are fresh each time.
    let (a_id, a_key) = a.split_once(':').unwrap();
    let (b_id, b_key) = b.split_once(':').unwrap();
    assert_ne!(a_id, b_id);
    assert_ne!(a_key, b_key);
    // Printing a key touches no state: no data directory appears.
    assert!(!cwd.join("twofold-data").exists());
}
