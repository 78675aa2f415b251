//! `twofold secret-key rotate` and `retire`: the operator's half of rotating the key that
//! seals secrets at rest, while the servers run (README, "Rotating the secret key"). Each
//! is one domain call; the rules (conditional re-sealing, when a key may be retired) are
//! the domain's.
//!
//! `rotate` opens the database as `serve` does, with the same keys (loaded and checked
//! against the database), since it must open what the old key sealed and seal it again
//! under the new one. `retire` touches no secret and needs no key.

use std::sync::Arc;

use twofold_server::crypto::secret_box::KEY_FILE;
use twofold_server::domain::secret_keys::Rotation;
use twofold_server::{Config, SystemClock};

use crate::args::{Output, SecretKeyCommand};
use crate::failure::Failure;
use crate::output;

pub(super) async fn run(
    cmd: SecretKeyCommand,
    config: &Config,
    out: Output,
) -> Result<(), Failure> {
    match cmd {
        // Answered before any configuration is read.
        SecretKeyCommand::Generate => Ok(()),
        SecretKeyCommand::Rotate { .. } => rotate(config, out).await,
        SecretKeyCommand::Retire { id, .. } => {
            let tf = twofold_server::open_for_admin(config, Arc::new(SystemClock)).await?;
            let retired = tf.retire_secret_key(&id).await;
            tf.close().await;
            retired?;
            output::print(out, &serde_json::json!({ "retired": id }), |_| {
                println!(
                    "retired key {id}: a server given it as its current key now refuses to \
                     start; take it out of TWOFOLD_SECRET_KEY_PREVIOUS (or secret.key.previous)"
                );
            })
        }
    }
}

async fn rotate(config: &Config, out: Output) -> Result<(), Failure> {
    // `serve` makes a key when there is none; here that would be a key nothing was sealed
    // under, and a stray file left behind.
    if config.secret_key.is_none() && !config.data_dir.join(KEY_FILE).exists() {
        return Err(Failure::usage(format!(
            "secret-key rotate needs the new key: set TWOFOLD_SECRET_KEY (or \
             TWOFOLD_SECRET_KEY_FILE), or put it in {}",
            config.data_dir.join(KEY_FILE).display()
        )));
    }
    let tf = twofold_server::open(config, Arc::new(SystemClock)).await?;
    let done = tf.rotate_secret_key().await;
    tf.close().await;
    let done = done?;
    output::print(out, &done, print_rotation)?;
    if !done.unreadable.is_empty() {
        return Err(Failure::new(
            "unreadable",
            format!(
                "{} secret(s) did not open under the key they name and were left as they are: {}",
                done.unreadable.len(),
                done.unreadable.join(", ")
            ),
        ));
    }
    if let Some(key) = done.remaining.first() {
        return Err(Failure::new(
            "keys_in_use",
            format!(
                "{} secret(s) are still sealed under key {} (a server still seals with it: give \
                 every server key {} as TWOFOLD_SECRET_KEY, then run rotate again)",
                done.left(),
                key.key_id,
                done.key_id
            ),
        ));
    }
    Ok(())
}

fn print_rotation(done: &Rotation) {
    println!(
        "re-sealed under key {}: {} TOTP secret(s), {} waiting secret(s), {} identity \
         provider client secret(s)",
        done.key_id, done.factor_secrets, done.next_secrets, done.oidc_client_secrets
    );
    if done.changed_meanwhile > 0 {
        println!(
            "{} secret(s) changed by a running server meanwhile were read again",
            done.changed_meanwhile
        );
    }
    if done.remaining.is_empty() && done.unreadable.is_empty() {
        println!(
            "nothing is sealed under another key: retire the old one with \
             `twofold secret-key retire <id>`"
        );
    }
}
