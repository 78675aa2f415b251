//! Rows for the tests to insert: every field set, to a value no other field of the row
//! has, so that a column read into the wrong field shows in a round trip.

use twofold_core::store::{
    ApiKeyRow, AuditRow, ConfirmationRow, DeviceRow, ElevatedRow, FLOW_MFA, FactorKind, FactorRow,
    FactorState, FlowRow, OrgRow, RecoveryRow, SessionRow, Store, StoreError, UserRow,
};

/// The tests' "now" (Unix ms); every time is fixed relative to it.
pub const T0: i64 = 1_800_000_000_000;
pub const SEC: i64 = 1_000;
pub const MIN: i64 = 60 * SEC;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// The encryption key every sealed secret of the fixtures names.
pub const KEY_ID: &str = "key-2024";

/// A token's stored hash: not valid UTF-8, with a zero byte, so that a blob column which
/// mangles bytes is caught.
pub fn hash(token: &str) -> Vec<u8> {
    let mut h = vec![0x00, 0xff, 0xfe];
    h.extend_from_slice(token.as_bytes());
    h
}

/// A password hash in our own format (Argon2id, PHC string).
pub fn argon2_hash(tag: &str) -> String {
    format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdC17dGFnfQ$aGFzaC0{tag}")
}

pub fn org(slug: &str) -> OrgRow {
    OrgRow {
        id: format!("org-{slug}"),
        slug: slug.to_owned(),
        name: format!("{slug} Ltd"),
        created_at: T0 - 30 * DAY,
        miss_hash: None,
    }
}

/// A member of `org` whose id is `<slug>-<username>`.
pub fn user(org: &OrgRow, username: &str) -> UserRow {
    UserRow {
        id: format!("{}-{username}", org.slug),
        org_id: org.id.clone(),
        org_slug: org.slug.clone(),
        username: username.to_owned(),
        email: format!("{username}@{}.example", org.slug),
        role: "member".to_owned(),
        federated: false,
        password_hash: Some(argon2_hash(username)),
        created_at: T0 - 20 * DAY,
        last_login_at: None,
        last_login_ip: None,
    }
}

pub async fn given_org(store: &Store, slug: &str) -> OrgRow {
    let o = org(slug);
    store.insert_org(&o).await.unwrap();
    o
}

pub async fn given_user(store: &Store, org: &OrgRow, username: &str) -> UserRow {
    let u = user(org, username);
    store.insert_user(&u).await.unwrap();
    u
}

/// An organisation `acme` with user `alice`.
pub async fn given_alice(store: &Store) -> (OrgRow, UserRow) {
    let o = given_org(store, "acme").await;
    let u = given_user(store, &o, "alice").await;
    (o, u)
}

/// Registers [`KEY_ID`], which sealed secrets must name.
pub async fn given_key(store: &Store) {
    store
        .register_secret_key(KEY_ID, b"check-value", T0 - 40 * DAY)
        .await
        .unwrap();
}

/// An active authenticator app, as inserted (the columns an insert does not write hold
/// their defaults).
pub fn totp(id: &str, user_id: &str) -> FactorRow {
    FactorRow {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        kind: FactorKind::Totp,
        name: format!("Phone {id}"),
        status: FactorState::Active,
        secret_key_id: Some(KEY_ID.to_owned()),
        secret_sealed: Some(hash(&format!("sealed-{id}"))),
        algorithm: Some("SHA256".to_owned()),
        digits: 8,
        period: 60,
        last_used_step: None,
        created_at: T0 - 10 * DAY,
        activated_at: Some(T0 - 9 * DAY),
        last_used_at: None,
        preferred: false,
        drift_steps: 0,
        next_secret_key_id: None,
        next_secret_sealed: None,
        address: None,
        resync_step: None,
        resync_at: None,
    }
}

/// An authenticator app waiting for its first code.
pub fn pending_totp(id: &str, user_id: &str) -> FactorRow {
    FactorRow {
        status: FactorState::Pending,
        activated_at: None,
        ..totp(id, user_id)
    }
}

/// An active email factor.
pub fn email_factor(id: &str, user_id: &str) -> FactorRow {
    FactorRow {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        kind: FactorKind::Email,
        name: format!("Email {id}"),
        status: FactorState::Active,
        secret_key_id: None,
        secret_sealed: None,
        algorithm: None,
        digits: 6,
        period: 300,
        last_used_step: None,
        created_at: T0 - 8 * DAY,
        activated_at: Some(T0 - 7 * DAY),
        last_used_at: None,
        preferred: false,
        drift_steps: 0,
        next_secret_key_id: None,
        next_secret_sealed: None,
        address: Some(format!("{user_id}@mail.example")),
        resync_step: None,
        resync_at: None,
    }
}

/// A password-only session of `user_id`, made at [`T0`], live for a day.
pub fn session(id: &str, user_id: &str) -> SessionRow {
    SessionRow {
        id: id.to_owned(),
        token_hash: hash(&format!("session-{id}")),
        user_id: user_id.to_owned(),
        aal: 1,
        amr: "pwd".to_owned(),
        factor_id: None,
        created_at: T0,
        expires_at: T0 + DAY,
        mfa_at: None,
        ip: Some("192.0.2.10".to_owned()),
        user_agent: Some(format!("agent/{id}")),
    }
}

/// A sign-in flow of `user_id`, made at [`T0`], live for 10 minutes.
pub fn flow(id: &str, user_id: &str) -> FlowRow {
    FlowRow {
        id: id.to_owned(),
        token_hash: hash(&format!("flow-{id}")),
        user_id: user_id.to_owned(),
        created_at: T0,
        expires_at: T0 + 10 * MIN,
        purpose: FLOW_MFA.to_owned(),
    }
}

/// A device of `user_id` remembered at `created_at`, for 30 days.
pub fn device(id: &str, user_id: &str, created_at: i64) -> DeviceRow {
    DeviceRow {
        id: id.to_owned(),
        token_hash: hash(&format!("device-{id}")),
        user_id: user_id.to_owned(),
        created_at,
        expires_at: created_at + 30 * DAY,
        last_used_at: None,
        ip: Some("198.51.100.7".to_owned()),
        user_agent: Some(format!("browser/{id}")),
    }
}

/// A single-use elevated token of session `session_id`, made at [`T0`], live 5 minutes.
pub fn elevated(id: &str, user_id: &str, session_id: &str) -> ElevatedRow {
    ElevatedRow {
        id: id.to_owned(),
        token_hash: hash(&format!("elevated-{id}")),
        user_id: user_id.to_owned(),
        session_id: session_id.to_owned(),
        scopes: "factors:write password:change".to_owned(),
        amr: "pwd otp".to_owned(),
        single_use: true,
        created_at: T0,
        expires_at: T0 + 5 * MIN,
        used_at: None,
    }
}

pub fn api_key(id: &str, org_id: &str, created_at: i64) -> ApiKeyRow {
    ApiKeyRow {
        id: id.to_owned(),
        org_id: org_id.to_owned(),
        name: format!("Key {id}"),
        key_hash: hash(&format!("api-key-{id}")),
        created_by: Some(format!("admin-of-{org_id}")),
        created_at,
        last_used_at: None,
    }
}

/// A mailed code `code` for `purpose`, made at [`T0`], live 5 minutes, 5 attempts.
pub fn confirmation(user_id: &str, purpose: &str, code: &str) -> ConfirmationRow {
    ConfirmationRow {
        user_id: user_id.to_owned(),
        purpose: purpose.to_owned(),
        salt: hash(&format!("salt-{code}")),
        code_hash: hash(&format!("code-{code}")),
        expires_at: T0 + 5 * MIN,
        attempts_left: 5,
        created_at: T0,
        bound_to: Some(format!("flow-for-{code}")),
    }
}

pub fn audit(id: &str, org_id: &str, at: i64) -> AuditRow {
    AuditRow {
        id: id.to_owned(),
        org_id: org_id.to_owned(),
        at,
        event: format!("event.{id}"),
        actor_id: Some(format!("actor-{id}")),
        subject_id: Some(format!("subject-{id}")),
        ip: Some("203.0.113.5".to_owned()),
        user_agent: Some(format!("agent-{id}")),
        details: format!(r#"{{"id":"{id}"}}"#),
    }
}

pub fn recovery(id: &str, user_id: &str) -> RecoveryRow {
    RecoveryRow {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        code_hash: argon2_hash(id),
        created_at: T0 - DAY,
    }
}

/// Runs `n` operations at once, each on a task of its own released together; answers
/// their results in order. For the guarantees that hold however many requests race.
pub async fn at_once<T, F>(n: usize, op: impl Fn(usize) -> F) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (start, work) = (start.clone(), op(i));
            tokio::spawn(async move {
                start.wait().await;
                work.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// `res` failed because a row with the same unique value is there already.
#[track_caller]
pub fn assert_duplicate<T: std::fmt::Debug>(res: Result<T, StoreError>) {
    match res {
        Err(StoreError::Duplicate(_)) => {}
        Err(StoreError::Database(e)) if e.is_unique_violation() => {}
        other => panic!("expected a unique violation, got {other:?}"),
    }
}

/// `res` failed because the database refused the statement (a foreign key, a check, a
/// table that is not there), not because of a duplicate.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(res: Result<T, StoreError>) {
    match res {
        Err(StoreError::Database(e)) if !e.is_unique_violation() => {}
        other => panic!("expected the database to refuse it, got {other:?}"),
    }
}
