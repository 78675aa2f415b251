//! Starts real servers for the tests and prepares users in them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use twofold_client::{Client, TotpStart};
use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{LoginResponse, Method, MfaRequest, SetMfaPolicy, TotpEnrollment};
use twofold_server::config::Database;
use twofold_server::domain::users::{NewUser, Role};
use twofold_server::{Application, Config, ManualClock, Timestamp, Twofold};
use zeroize::Zeroizing;

use crate::mailbox::Received;

/// Runs each test body once per engine: `mod name { sqlite, postgres }`.
macro_rules! both_engines {
    ($(async fn $name:ident($srv:ident: TestServer) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $srv = $crate::harness::TestServer::start($crate::harness::Engine::Sqlite).await;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                let engine = $crate::harness::Engine::postgres().await;
                let $srv = $crate::harness::TestServer::start(engine).await;
                $body
            }
        }
    )*};
}
pub(crate) use both_engines;

/// [`both_engines!`] with the configuration first changed by `$tweak`, a
/// `fn(&mut Config)` in scope where the macro is used.
macro_rules! both_engines_with {
    ($tweak:path; $(async fn $name:ident($srv:ident: TestServer) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $srv = $crate::harness::TestServer::start_with(
                    $crate::harness::Engine::Sqlite,
                    $tweak,
                )
                .await;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                let engine = $crate::harness::Engine::postgres().await;
                let $srv = $crate::harness::TestServer::start_with(engine, $tweak).await;
                $body
            }
        }
    )*};
}
pub(crate) use both_engines_with;

/// Runs each test body once per engine with the [`Engine`] in hand, for tests that
/// start their servers themselves: `mod name { sqlite, postgres }`.
macro_rules! each_engine {
    ($(async fn $name:ident($engine:ident: Engine) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $engine = $crate::harness::Engine::Sqlite;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                let $engine = $crate::harness::Engine::postgres().await;
                $body
            }
        }
    )*};
}
pub(crate) use each_engine;

pub const PASSWORD: &str = "correct horse battery staple";

/// The subject of the code mailed before a first authenticator app is added.
pub const FIRST_APP_MAIL: &str = "Your code to add an authenticator app";

/// Mid-way through a 30 s step, so ±1-step tests never straddle a boundary by accident.
pub const START: i64 = 1_800_000_015_000;

#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite,
    Postgres { url: String },
}

impl Engine {
    /// A fresh schema in the test PostgreSQL. The PostgreSQL cases are compiled as ignored
    /// when no test database is configured (build.rs), so reaching this without one, or
    /// with one that cannot be reached, fails the test: never a silent pass.
    pub async fn postgres() -> Engine {
        let base = std::env::var("TWOFOLD_TEST_POSTGRES_URL")
            .expect("TWOFOLD_TEST_POSTGRES_URL must name the test database");
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("TWOFOLD_TEST_POSTGRES_URL is set but unreachable: {e}"));
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Engine::Postgres {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        }
    }
}

pub struct TestServer {
    pub url: String,
    /// The metrics listener's base URL, when `metrics_listen` is set.
    pub metrics_url: Option<String>,
    pub client: Client,
    pub clock: ManualClock,
    pub twofold: Twofold,
    pub config: Config,
    /// Where the mail the tests read arrives: the outbox, unless an SMTP server's (set by
    /// the tests that deliver over SMTP).
    pub mail_dir: Option<PathBuf>,
    /// Whether organisations made by the harness mail a code before a first app (the
    /// default); off where no mail can be read.
    pub first_app_mail: bool,
    dir: Arc<TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A directory removed when the last server using it is gone.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestServer {
    pub async fn start(engine: Engine) -> TestServer {
        Self::start_with(engine, |_| {}).await
    }

    pub async fn start_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir =
            std::env::temp_dir().join(format!("twofold-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::with_data_dir(&dir);
        config.listen = "127.0.0.1:0".parse().unwrap();
        if let Engine::Postgres { url } = engine {
            config.database = Database::Postgres(url);
        }
        tweak(&mut config);
        Self::launch(
            config,
            ManualClock::new(Timestamp::from_millis(START)),
            Arc::new(TempDir(dir)),
        )
        .await
    }

    /// A server reached as `http://localhost:<port>`, which is also its public URL: a
    /// browser takes a host name, never an IP address, as a WebAuthn relying party. The
    /// port is a free one found first (and freed) here.
    pub async fn start_on_localhost(engine: Engine) -> TestServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_with(engine, |c| {
            c.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            c.public_url = Some(
                twofold_server::config::PublicUrl::parse(&format!("http://localhost:{port}"))
                    .unwrap(),
            );
        })
        .await
    }

    /// Another server on the same database, key and clock: a second instance of one
    /// service (or this one after a restart).
    pub async fn sibling(&self) -> TestServer {
        Self::launch(self.config.clone(), self.clock.clone(), self.dir.clone()).await
    }

    async fn launch(mut config: Config, clock: ManualClock, dir: Arc<TempDir>) -> TestServer {
        // A server reached at its public URL (`start_on_localhost`) keeps the port that
        // URL names; any other takes a free one (a public URL elsewhere is only what the
        // server believes it is reached at).
        let reached_at_public_url = config
            .public_url
            .as_ref()
            .is_some_and(|u| u.as_str().starts_with("http://localhost:"));
        if !reached_at_public_url {
            config.listen = "127.0.0.1:0".parse().unwrap();
        }
        let app = Application::build(&config, Arc::new(clock.clone()))
            .await
            .unwrap();
        let url = match &config.public_url {
            Some(public) if reached_at_public_url => public.as_str().to_owned(),
            _ => format!("http://{}", app.local_addr()),
        };
        let twofold = app.twofold().clone();
        let metrics_url = app.metrics_addr().map(|a| format!("http://{a}"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            client: Client::new(&url),
            url,
            metrics_url,
            clock,
            twofold,
            config,
            mail_dir: None,
            first_app_mail: true,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops serving and waits until the server has closed its database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn now_secs(&self) -> u64 {
        self.clock.now_unix_secs()
    }

    /// An organisation with one password user; answers (org, username).
    pub async fn user(&self, role: Role) -> (String, String) {
        let org = format!("org-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let org_id = self.twofold.create_org(&org, None).await.unwrap();
        if !self.first_app_mail {
            self.twofold
                .store()
                .put_org_settings(&twofold_server::store::OrgSettingsRow {
                    org_id,
                    allow_qr_redisplay: true,
                    remember_devices: true,
                    confirm_first_app_by_email: false,
                    max_authenticator_apps: None,
                    updated_at: START,
                    updated_by: None,
                })
                .await
                .unwrap();
        }
        self.user_in(&org, "alice", role).await;
        (org, "alice".into())
    }

    pub async fn user_in(&self, org: &str, username: &str, role: Role) -> String {
        self.twofold
            .create_user(NewUser {
                org: org.into(),
                username: username.into(),
                email: format!("{username}@example.com"),
                role,
                federated: false,
                password: Some(Zeroizing::new(PASSWORD.into())),
            })
            .await
            .unwrap()
    }

    /// Signs in with the password only (the user must have no active factor).
    pub async fn session(&self, org: &str, username: &str) -> Client {
        match self.client.login(org, username, PASSWORD).await.unwrap() {
            LoginResponse::Authenticated { session_token, .. } => {
                self.client.with_token(session_token)
            }
            other => panic!("expected a password-only session, got {other:?}"),
        }
    }

    /// Every message the server wrote to its outbox, oldest first, once the mail queue
    /// is idle.
    pub async fn outbox(&self) -> Vec<Received> {
        self.twofold.mailer().idle().await;
        let dir = self.mail_dir.as_deref();
        crate::mailbox::read_dir(dir.unwrap_or(self.twofold.mailer().outbox_dir()))
    }

    /// Messages in the outbox to `to` whose subject contains `subject`.
    pub async fn mails_to(&self, to: &str, subject: &str) -> Vec<Received> {
        let all = self.outbox().await;
        all.into_iter()
            .filter(|m| m.to == to && m.subject.contains(subject))
            .collect()
    }

    /// The code of the newest mail to `to` whose subject contains `subject`.
    pub async fn mailed_code(&self, to: &str, subject: &str) -> String {
        let mails = self.mails_to(to, subject).await;
        mails
            .last()
            .unwrap_or_else(|| panic!("no mail to {to} about {subject:?}"))
            .code()
    }

    /// Adds a first authenticator app from `session` (of the user with address `email`, who
    /// has no factor): the code mailed first, then the app.
    pub async fn first_app(
        &self,
        session: &Client,
        name: Option<&str>,
        email: &str,
    ) -> TotpEnrollment {
        match session.start_totp(name, None).await.unwrap() {
            TotpStart::ConfirmationRequired(_) => {}
            TotpStart::Enrolled(e) if !self.first_app_mail => return e,
            TotpStart::Enrolled(e) => panic!("expected a code mailed first, got {e:?}"),
        }
        let code = self.mailed_code(email, FIRST_APP_MAIL).await;
        match session.start_totp(name, Some(&code)).await.unwrap() {
            TotpStart::Enrolled(e) => e,
            other => panic!("expected the pending factor, got {other:?}"),
        }
    }

    /// [`TestServer::first_app`] inside enrolment flow `flow`.
    pub async fn first_app_in_flow(&self, flow: &str, email: &str) -> TotpEnrollment {
        match self
            .client
            .start_totp_in_flow(flow, None, None)
            .await
            .unwrap()
        {
            TotpStart::ConfirmationRequired(_) => {}
            TotpStart::Enrolled(e) => panic!("expected a code mailed first, got {e:?}"),
        }
        let code = self.mailed_code(email, FIRST_APP_MAIL).await;
        match self
            .client
            .start_totp_in_flow(flow, None, Some(&code))
            .await
            .unwrap()
        {
            TotpStart::Enrolled(e) => e,
            other => panic!("expected the pending factor, got {other:?}"),
        }
    }

    /// Turns off the code mailed before a first app in organisation `org` (as its admin
    /// may), for tests about something else that enrol by raw HTTP.
    pub async fn no_first_app_mail(&self, org: &str) {
        let org = self
            .twofold
            .store()
            .org_by_slug(org)
            .await
            .unwrap()
            .unwrap();
        self.twofold
            .store()
            .put_org_settings(&twofold_server::store::OrgSettingsRow {
                org_id: org.id,
                allow_qr_redisplay: true,
                remember_devices: true,
                confirm_first_app_by_email: false,
                max_authenticator_apps: None,
                updated_at: START,
                updated_by: None,
            })
            .await
            .unwrap();
    }

    /// A new admin `username` of `org` with an active authenticator app, and a session
    /// that passed it just now (admin actions need a fresh second factor). The clock stays
    /// where it was (the app's next step passes the session).
    pub async fn admin_in(&self, org: &str, username: &str) -> Client {
        self.admin_with_app(org, username, Role::Admin).await.0
    }

    /// [`TestServer::admin_in`] with the role given, also answering the app.
    pub async fn admin_with_app(&self, org: &str, username: &str, role: Role) -> (Client, Totp) {
        self.user_in(org, username, role).await;
        self.with_app(org, username).await
    }

    /// Gives existing user `username` of `org` (who has no factor) an active app, and
    /// answers a session that passed it just now, and the app.
    pub async fn with_app(&self, org: &str, username: &str) -> (Client, Totp) {
        let session = self.session(org, username).await;
        let email = format!("{username}@example.com");
        let e = self.first_app(&session, None, &email).await;
        let totp = Totp::new(
            Secret::from_base32(&e.secret).unwrap(),
            TotpParams::default(),
        )
        .unwrap();
        session
            .activate_factor(&e.id, &totp.generate_at(self.now_secs()))
            .await
            .unwrap();
        let next = totp.generate_at(self.now_secs() + 30);
        session
            .pass_second_factor(Method::Totp, &next)
            .await
            .unwrap();
        (session, totp)
    }

    /// Signs in a user who must enrol (`enrollment_required`), enrols an app and answers
    /// the aal-2 session.
    pub async fn session_after_enrolment(&self, org: &str, username: &str) -> Client {
        let flow = match self.client.login(org, username, PASSWORD).await.unwrap() {
            LoginResponse::EnrollmentRequired { flow_token, .. } => flow_token,
            other => panic!("expected enrollment_required, got {other:?}"),
        };
        let e = self
            .first_app_in_flow(&flow, &format!("{username}@example.com"))
            .await;
        let totp = Totp::new(
            Secret::from_base32(&e.secret).unwrap(),
            TotpParams::default(),
        )
        .unwrap();
        let done = self
            .client
            .activate_in_flow(&flow, &e.id, &totp.generate_at(self.now_secs()))
            .await
            .unwrap();
        self.client.with_token(token(&done))
    }

    /// A user with one active TOTP factor and an aal-1 session from before enrolment.
    pub async fn enrolled(&self) -> Enrolled {
        let (org, username) = self.user(Role::Member).await;
        let session = self.session(&org, &username).await;
        let e = self
            .first_app(&session, Some("Phone"), &format!("{username}@example.com"))
            .await;
        let totp = Totp::new(
            Secret::from_base32(&e.secret).unwrap(),
            TotpParams::default(),
        )
        .unwrap();
        let code = totp.generate_at(self.now_secs());
        session.activate_factor(&e.id, &code).await.unwrap();
        // The activation used this step; move to the next so tests start with a fresh one.
        self.advance(30);
        Enrolled {
            org,
            username,
            session,
            factor_id: e.id,
            totp,
            secret: e.secret,
        }
    }

    /// Starts a sign-in for an enrolled user; answers the flow token.
    pub async fn flow(&self, u: &Enrolled) -> String {
        match self
            .client
            .login(&u.org, &u.username, PASSWORD)
            .await
            .unwrap()
        {
            LoginResponse::MfaRequired { flow_token, .. } => flow_token,
            other => panic!("expected mfa_required, got {other:?}"),
        }
    }

    /// Another session of `u`'s (an enrolled user signs in with a code): aal 2, with
    /// the next step's code.
    pub async fn session_of(&self, u: &Enrolled) -> Client {
        self.advance(30);
        self.strong_session(u).await
    }

    /// A session of `u` that passed their authenticator now (aal 2). Uses the current
    /// step's code.
    pub async fn strong_session(&self, u: &Enrolled) -> Client {
        let flow = self.flow(u).await;
        let done = self.submit(&flow, &u.code(self, 0)).await.unwrap();
        self.client.with_token(token(&done))
    }

    /// Starts a sign-in for `u` and sends five wrong codes: their second step locks.
    /// Answers the flow.
    pub async fn lock_out(&self, u: &Enrolled) -> String {
        let flow = self.flow(u).await;
        let right = u.code(self, 0);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..5 {
            let e = self.submit(&flow, wrong).await.unwrap_err();
            assert_eq!(e.code(), Some(twofold_proto::ErrorCode::InvalidCode), "{e}");
        }
        flow
    }

    pub async fn submit(&self, flow: &str, code: &str) -> twofold_client::Result<LoginResponse> {
        self.client
            .mfa(&MfaRequest {
                flow_token: flow.into(),
                method: Method::Totp,
                code: code.into(),
                remember_device: None,
                credential: None,
            })
            .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub struct Enrolled {
    pub org: String,
    pub username: String,
    /// A password-only session opened before the factor was activated.
    pub session: Client,
    pub factor_id: String,
    pub totp: Totp,
    /// The app's secret, base32, for computing codes independently of `twofold-otp`.
    pub secret: String,
}

impl Enrolled {
    /// The code for the clock's current step, shifted by `steps`.
    pub fn code(&self, srv: &TestServer, steps: i64) -> String {
        let t = srv.now_secs() as i64 + steps * 30;
        self.totp.generate_at(t as u64)
    }
}

/// `PUT /mfa-policy` requiring MFA.
pub fn require_mfa(invalidate_sessions: bool, grace_period_days: Option<u32>) -> SetMfaPolicy {
    SetMfaPolicy {
        required: true,
        invalidate_sessions: Some(invalidate_sessions),
        grace_period_days,
        confirmation_code: None,
    }
}

/// `PUT /mfa-policy` turning MFA off with the mailed `code`.
pub fn disable_mfa(code: &str) -> SetMfaPolicy {
    SetMfaPolicy {
        required: false,
        invalidate_sessions: None,
        grace_period_days: None,
        confirmation_code: Some(code.into()),
    }
}

/// The session token of an `authenticated` answer.
pub fn token(r: &LoginResponse) -> String {
    match r {
        LoginResponse::Authenticated { session_token, .. } => session_token.clone(),
        other => panic!("expected authenticated, got {other:?}"),
    }
}

pub trait ClockExt {
    fn now_unix_secs(&self) -> u64;
}

impl ClockExt for ManualClock {
    fn now_unix_secs(&self) -> u64 {
        use twofold_server::Clock;
        self.now().unix_secs()
    }
}
