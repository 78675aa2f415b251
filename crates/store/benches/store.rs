//! Criterion benchmarks of the store's hot queries — the ones every sign-in runs — on
//! SQLite with 1,000 and with 100,000 users, to show that their cost does not grow with
//! the number of users (every one is an index lookup or an update by primary key).
//!
//! `cargo bench -p twofold-store --bench store`; figures in docs/PERFORMANCE.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use twofold_core::config::Database;
use twofold_core::store::{
    AuditRow, CheckOutcome, CheckRules, Checked, CodeCheck, Evaluation, FactorKind, FactorRow,
    FactorState, Finish, FlowRow, ImportedUser, OrgRow, RuleError, SessionRow, Store, TotpFactor,
    UserRow,
};

const KEY_ID: &str = "bench";

/// Rules that accept step `.0` at once (or match nothing), never lock and record nothing:
/// the store's own cost.
struct Rules(Option<i64>);

impl CheckRules for Rules {
    fn lock_after(&self, _attempt: i64) -> Option<i64> {
        None
    }
    fn evaluate(&mut self, _f: &TotpFactor) -> Result<Evaluation, RuleError> {
        Ok(self
            .0
            .map_or(Evaluation::NoMatch, |step| Evaluation::Match {
                step,
                drift: 0,
            }))
    }
    fn failed(&self, _: Checked<'_>, _: i64, _: bool, _: Option<i64>) -> Vec<AuditRow> {
        Vec::new()
    }
    fn accepted(&self, _: Checked<'_>, _: &str) -> Vec<AuditRow> {
        Vec::new()
    }
}
const NOW: i64 = 1_800_000_000_000;

fn temp_db(users: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "twofold-store-bench-{}-{users}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("twofold.db")
}

fn user_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn token_hash(kind: u8, i: usize) -> Vec<u8> {
    let mut h = vec![kind; 32];
    h[..8].copy_from_slice(&(i as u64).to_be_bytes());
    h
}

/// A store holding `users` users, each with an active factor and one open flow.
async fn populated(users: usize) -> (Store, PathBuf) {
    let path = temp_db(users);
    let store = twofold_store::open(&Database::Sqlite(path.clone()))
        .await
        .unwrap();
    store
        .insert_org(&OrgRow {
            id: "org".into(),
            slug: "bench".into(),
            name: "bench".into(),
            created_at: NOW,
            miss_hash: None,
        })
        .await
        .unwrap();
    store
        .register_secret_key(KEY_ID, &[0u8; 64], NOW)
        .await
        .unwrap();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..users {
        let id = user_id(i);
        batch.push(ImportedUser {
            user: UserRow {
                id: id.clone(),
                org_id: "org".into(),
                org_slug: "bench".into(),
                username: format!("user{i}"),
                email: format!("user{i}@example.com"),
                role: "member".into(),
                federated: false,
                password_hash: Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into()),
                created_at: NOW,
                last_login_at: None,
                last_login_ip: None,
            },
            factor: Some(FactorRow {
                id: format!("f-{id}"),
                user_id: id,
                kind: FactorKind::Totp,
                name: "bench".into(),
                status: FactorState::Active,
                secret_key_id: Some(KEY_ID.into()),
                secret_sealed: Some(vec![7u8; 60]),
                algorithm: Some("SHA1".into()),
                digits: 6,
                period: 30,
                last_used_step: None,
                created_at: NOW,
                activated_at: Some(NOW),
                last_used_at: None,
                preferred: false,
                drift_steps: 0,
                next_secret_key_id: None,
                next_secret_sealed: None,
                address: None,
                resync_step: None,
                resync_at: None,
            }),
        });
        if batch.len() == 1000 || i + 1 == users {
            store
                .insert_imported_users(&batch)
                .await
                .map_err(|(_, e)| e)
                .unwrap();
            batch.clear();
        }
    }
    for i in 0..users {
        store
            .insert_flow(&FlowRow {
                id: format!("flow-{i}"),
                token_hash: token_hash(1, i),
                user_id: user_id(i),
                created_at: NOW,
                expires_at: NOW + 300_000,
                purpose: "mfa".into(),
            })
            .await
            .unwrap();
    }
    (store, path)
}

fn hot_queries(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("store_sqlite");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for users in [1_000usize, 100_000] {
        let (store, path) = rt.block_on(populated(users));
        // A spread of users, so the benchmarks do not just hit one hot page.
        let pick = |n: u64| (n.wrapping_mul(2_654_435_761) % users as u64) as usize;

        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("user_by_login", users), |b| {
            b.iter(|| {
                n += 1;
                let name = format!("user{}", pick(n));
                rt.block_on(store.user_by_login("bench", &name))
                    .unwrap()
                    .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("flow_by_token", users), |b| {
            b.iter(|| {
                n += 1;
                rt.block_on(store.flow_by_token(&token_hash(1, pick(n))))
                    .unwrap()
                    .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("factors_of_user", users), |b| {
            b.iter(|| {
                n += 1;
                let f = rt
                    .block_on(store.factors_of_user(&user_id(pick(n))))
                    .unwrap();
                assert_eq!(f.len(), 1);
            })
        });
        // A whole code check (lock state, factors, claim, count) with a matcher that
        // accepts step `step` at once, and one that matches nothing.
        let check = |user: usize, step: Option<i64>| CodeCheck {
            now: NOW,
            only: None,
            rules: Box::new(Rules(step)),
            finish: Finish::Claim {
                user_id: user_id(user),
            },
        };
        // Each iteration claims a step newer than any before for that user.
        let mut step = 1_000_000i64;
        group.bench_function(BenchmarkId::new("check_code_accepted", users), |b| {
            b.iter(|| {
                n += 1;
                step += 1;
                let out = rt
                    .block_on(store.check_code(check(pick(n), Some(step))))
                    .unwrap();
                assert!(matches!(out, CheckOutcome::Accepted { .. }));
            })
        });
        group.bench_function(BenchmarkId::new("check_code_wrong", users), |b| {
            b.iter(|| {
                n += 1;
                let out = rt.block_on(store.check_code(check(pick(n), None))).unwrap();
                assert!(matches!(out, CheckOutcome::Failed { .. }));
            })
        });
        let mut s = 0usize;
        group.bench_function(BenchmarkId::new("insert_session", users), |b| {
            b.iter(|| {
                s += 1;
                rt.block_on(store.insert_session(&SessionRow {
                    id: format!("s-{users}-{s}"),
                    token_hash: token_hash(2, s),
                    user_id: user_id(pick(s as u64)),
                    aal: 2,
                    amr: "pwd otp".into(),
                    factor_id: None,
                    created_at: NOW,
                    expires_at: NOW + 3_600_000,
                    mfa_at: Some(NOW),
                    ip: None,
                    user_agent: None,
                }))
                .unwrap()
            })
        });
        let sessions = s.max(1);
        group.bench_function(BenchmarkId::new("session_by_token", users), |b| {
            b.iter(|| {
                n += 1;
                let i = 1 + (n as usize % sessions);
                rt.block_on(store.session_by_token(&token_hash(2, i), NOW))
                    .unwrap()
                    .unwrap()
            })
        });
        rt.block_on(store.close());
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    group.finish();
}

criterion_group!(benches, hot_queries);
criterion_main!(benches);
