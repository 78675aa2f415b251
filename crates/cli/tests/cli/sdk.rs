//! The TypeScript SDK's own tests (`sdk/`, Node's test runner) against this build's
//! `twofold` binary: installed from the lock file when missing, then `npm test`. Needs
//! Node 20+ and npm (on every machine of this kind); without them the test fails, it does
//! not skip.

use std::path::Path;
use std::process::Command;

const SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk");

/// `npm ci` when `node_modules` was not installed from this very lock file.
fn install(sdk: &Path) {
    let lock = std::fs::read(sdk.join("package-lock.json")).unwrap();
    let digest = {
        use sha2::Digest;
        data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(&lock))
    };
    let marker = sdk.join("node_modules/.twofold-lock-sha256");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == digest) {
        return;
    }
    eprintln!("installing the SDK's packages from sdk/package-lock.json (npm ci)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(sdk)
        .status()
        .unwrap_or_else(|e| panic!("cannot run npm (the SDK tests need Node 20+ and npm): {e}"));
    assert!(status.success(), "npm ci failed in sdk/");
    std::fs::write(&marker, digest).unwrap();
}

#[test]
fn the_typescript_sdk_passes_its_tests_against_this_server() {
    let sdk = Path::new(SDK);
    install(sdk);
    let out = Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(sdk)
        .env("TWOFOLD_BIN", env!("CARGO_BIN_EXE_twofold"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "npm test failed in sdk/:\n{text}");
    // Node's runner ends with its counts: every test ran, none was skipped.
    assert!(
        text.contains("# fail 0") && text.contains("# skipped 0"),
        "{text}"
    );
}
