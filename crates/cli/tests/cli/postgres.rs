//! Several server processes sharing one PostgreSQL database, as in a scaled-out deployment.
//! Runs only when `TWOFOLD_TEST_POSTGRES_URL` names a database (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`); each test works in a schema of its own,
//! dropped afterwards, so runs never see each other's data. The helpers here serve the
//! other PostgreSQL tests too (`races.rs`, `crash.rs`).

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};
use twofold_proto::{Factor, LoginResponse};

use crate::secret_key::generate_key;
use crate::support::{
    Answer, Api, Server, TempDir, create_org_and_user, run, serve_cmd, totp_codes,
};

const URL_VAR: &str = "TWOFOLD_TEST_POSTGRES_URL";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The database to test against. The PostgreSQL tests are compiled as ignored when none
/// is configured (build.rs), so reaching this without one fails the test.
pub(crate) fn postgres_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("{URL_VAR} must name the test database"),
    }
}

/// A fresh schema, dropped (with everything in it) when the test ends, pass or fail.
pub(crate) struct Schema {
    base_url: String,
    name: String,
}

impl Schema {
    pub(crate) async fn create(base_url: &str) -> Schema {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "t_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        // Set but unreachable is a failure: the run asked for these tests.
        let mut conn = PgConnection::connect(base_url)
            .await
            .unwrap_or_else(|e| panic!("{URL_VAR} is set but cannot connect: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Schema {
            base_url: base_url.to_owned(),
            name,
        }
    }

    /// The URL every process uses: the base URL with the schema as its search path.
    pub(crate) fn url(&self) -> String {
        let sep = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.base_url, self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.base_url.clone(), self.name.clone());
        // Drop cannot await, and may run inside the test's runtime: clean up on a thread
        // with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&url).await.ok()?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

/// A server on the shared database with its own data directory, the given key and any
/// further settings in `env`.
pub(crate) fn start_server(
    schema: &Schema,
    data: &TempDir,
    key: &str,
    env: &[(&str, &str)],
) -> Server {
    let mut cmd = serve_cmd(data);
    cmd.env("TWOFOLD_DATABASE_URL", schema.url())
        .env("TWOFOLD_SECRET_KEY", key)
        .envs(env.iter().copied());
    let server = Server::start(cmd);
    assert!(server.log().contains("postgres"), "{}", server.log());
    server
}

/// Org and user created by the CLI against the shared database, then a TOTP factor
/// enrolled and activated through `api`. Answers the secret and the step the activation
/// used up.
pub(crate) async fn user_with_active_factor(
    schema: &Schema,
    key: &str,
    api: &Api,
) -> (String, u64) {
    let cli_dir = TempDir::new();
    let url = schema.url();
    create_org_and_user(
        &["--data-dir", &cli_dir.arg(), "--database-url", &url],
        &[("TWOFOLD_SECRET_KEY", key)],
        "acme",
        "alice",
        PASSWORD,
    );
    let session = api.login_password_only("acme", "alice", PASSWORD).await;
    let e = api.enroll_totp(&session).await;
    let now = &totp_codes(&e.secret, &[0])[0];
    let f: Factor = api.activate(&session, &e.id, &now.code).await.json();
    assert_eq!(f.id, e.id);
    (e.secret, now.step)
}

pub(crate) fn is_authenticated(a: &Answer) -> bool {
    a.status.is_success()
        && matches!(
            a.json::<LoginResponse>(),
            LoginResponse::Authenticated { .. }
        )
}

#[tokio::test]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn server_with_another_secret_key_refuses_to_start_once_postgres_holds_a_factor() {
    let base = postgres_url();
    let schema = Schema::create(&base).await;
    let scratch = TempDir::new();
    let key = generate_key(&scratch);
    let other_key = generate_key(&scratch);
    let data_a = TempDir::new();
    let a = start_server(&schema, &data_a, &key, &[]);
    user_with_active_factor(&schema, &key, &a.api()).await;

    let data_c = TempDir::new();
    let mut cmd = serve_cmd(&data_c);
    cmd.env("TWOFOLD_DATABASE_URL", schema.url())
        .env("TWOFOLD_SECRET_KEY", &other_key);
    let out = run(&mut cmd, None);
    assert_ne!(out.code(), Some(0), "{out:?}");
    // The refusal names the key the database needs and the setting to fix.
    let (key_id, _) = key.split_once(':').unwrap();
    let refusal: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("twofold: "))
        .collect();
    assert_eq!(refusal.len(), 1, "{}", out.stderr);
    assert!(refusal[0].contains(key_id), "{}", refusal[0]);
    assert!(refusal[0].contains("TWOFOLD_SECRET_KEY"), "{}", refusal[0]);
    // Anything else is the server's own INFO logging from before the refusal (sqlx
    // relays PostgreSQL's "relation \"_sqlx_migrations\" already exists, skipping"
    // notice at INFO on every start after the first), never another error.
    for line in out.stderr_lines() {
        assert!(
            line.starts_with("twofold: ") || line.contains(" INFO "),
            "{}",
            out.stderr
        );
    }

    // The server with the right key is unaffected.
    let session = a.api().login("acme", "alice", PASSWORD).await;
    assert!(matches!(session, LoginResponse::MfaRequired { .. }));
    let (status, log) = a.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}
