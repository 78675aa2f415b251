//! `twofold backup FILE` and `twofold restore FILE | --in-place`: each one call (the
//! domain's backup and fence, the server crate's restore of a SQLite file) and its answer
//! printed. Why a restore refuses codes for a while is `twofold_core::domain::backup`'s.

use std::path::Path;

use serde_json::json;
use twofold_server::domain::backup::FenceEnd;
use twofold_server::store::Fenced;
use twofold_server::{Config, Timestamp};

use crate::args::{Output, Restore};
use crate::failure::Failure;
use crate::output;

/// The period of the apps Twofold enrols; the time printed is theirs (an imported app with
/// a longer period waits one of its own periods more at most).
const PERIOD_SECS: u32 = 30;

pub async fn backup(config: &Config, file: &Path, out: Output) -> Result<(), Failure> {
    let done = twofold_server::backup::backup(config, crate::clock::clock(), file).await?;
    let result = json!({
        "file": file.display().to_string(),
        "taken_at": done.taken_at.to_rfc3339(),
        "secret_key_ids": done.secret_key_ids,
    });
    output::print(out, &result, |_| {
        println!(
            "backed up to {} as of {}",
            file.display(),
            done.taken_at.to_rfc3339()
        );
        println!("{}", needs_keys(&done.secret_key_ids));
    })
}

pub async fn restore(r: Restore, config: &Config, out: Output) -> Result<(), Failure> {
    let clock = crate::clock::clock();
    let window = config.security.totp_window;
    let (fence, fenced, restored) = match &r.file {
        Some(file) if !r.in_place => {
            let (fence, restored) = twofold_server::backup::restore(config, file, clock.as_ref())?;
            (fence, restored.fenced, Some(restored))
        }
        _ => {
            let tf = twofold_server::open_for_admin(config, clock.clone()).await?;
            let (fence, fenced) = tf.fence_restored().await?;
            (fence, fenced, None)
        }
    };
    let from = fence.app_codes_accepted_from(PERIOD_SECS, window);
    let now = clock.now();
    let mut result = json!({
        "app_codes_accepted_from": from.to_rfc3339(),
        "apps_fenced": fenced.app_factors,
        "in_progress_ended": fenced.in_progress_ended,
    });
    if let (Some(file), Some(restored)) = (&r.file, &restored) {
        result["file"] = file.display().to_string().into();
        result["taken_at"] = restored
            .taken_at
            .map(|t| Timestamp::from_millis(t).to_rfc3339())
            .into();
        result["secret_key_ids"] = restored.secret_key_ids.clone().into();
    }
    output::print(out, &result, |_| {
        if let (Some(file), Some(restored)) = (&r.file, &restored) {
            let taken = restored.taken_at.map_or(String::new(), |t| {
                format!(" (taken {})", Timestamp::from_millis(t).to_rfc3339())
            });
            println!("restored {}{taken}", file.display());
            println!("{}", needs_keys(&restored.secret_key_ids));
        }
        print_fence(fenced, from, now);
    })
}

/// What the fence means for the people signing in, in plain words.
fn print_fence(fenced: Fenced, from: Timestamp, now: Timestamp) {
    println!(
        "codes accepted before now stay refused: {} authenticator app(s) fenced, {} session(s), \
         device(s), sign-in(s), mailed code(s) and token(s) ended",
        fenced.app_factors, fenced.in_progress_ended
    );
    println!(
        "authenticator-app codes are accepted again from {} (in {} s): start the servers after \
         that, or people's codes are refused until then and count towards their lockout",
        from.to_rfc3339(),
        now.secs_until(from)
    );
}

fn needs_keys(ids: &[String]) -> String {
    if ids.is_empty() {
        "it holds no sealed secret: any secret key opens it".to_owned()
    } else {
        format!(
            "it needs the secret key with id {} (TWOFOLD_SECRET_KEY or TWOFOLD_SECRET_KEY_FILE)",
            ids.join(", ")
        )
    }
}
