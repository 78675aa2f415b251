//! Crash safety: `twofold serve` is killed with SIGKILL while clients enrol authenticator
//! apps and sign in with codes, then restarted on the same database, several times over.
//! Whatever the server answered before it died must hold afterwards:
//!
//! - every activation it confirmed is still there and active, and its secret still opens
//!   and gives codes that sign in;
//! - no code it accepted (an activation's or a sign-in's) is accepted again;
//! - on SQLite, the database exactly as the crash left it passes `PRAGMA integrity_check`.
//!
//! SQLite is the interesting engine: the process that died owned the database file, its
//! write-ahead log and the log's shared-memory index, and the next start must recover them.
//! On PostgreSQL (when `TWOFOLD_TEST_POSTGRES_URL` is set) the same cycle shows that no
//! answer lived only in the dead process's memory.
//!
//! The kill comes after a random number of confirmed activations and sign-ins, preferably
//! while a code is being judged, and always while requests are in flight: with one
//! password hash at a time, logins queue up in the server.
//!
//! Two settings make every check exact instead of timing-dependent: a TOTP window of 10
//! steps, so every code the test sends stays acceptable for the whole run (a resent code
//! can only be refused as a replay, not because its time passed), and a lockout threshold
//! of 100, so resent codes are judged by the replay rule instead of being turned away by
//! the lockout. Codes come from our `otp` crate, not Python: the test needs hundreds, and
//! interoperability is proven in `signin.rs`.

use std::hash::{BuildHasher, RandomState};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{ErrorCode, Factor, FactorStatus, LoginResponse, TotpEnrollment};

use crate::postgres::{Schema, postgres_url};
use crate::support::{
    Answer, Api, Server, TempDir, concurrently, create_org, create_user, serve_cmd,
};

/// Kill-and-restart cycles in one test.
const CYCLES: usize = 5;
/// Users who enrol an authenticator in each cycle; earlier ones keep signing in.
const NEW_USERS_PER_CYCLE: usize = 4;
/// TOTP steps accepted either side of the current one (the most the server allows).
const WINDOW: u64 = 10;
const PASSWORD: &str = "correct horse battery staple";
const ORG: &str = "crash";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_keeps_every_activation_and_spent_code_on_sqlite() {
    let deployment = Deployment {
        data: TempDir::new(),
        database_url: None,
    };
    kill_and_restart_under_load(&deployment).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn sigkill_under_load_keeps_every_activation_and_spent_code_on_postgres() {
    let base = postgres_url();
    let schema = Schema::create(&base).await;
    // One server process at a time, restarted on the same data directory: the secret key
    // it creates there at first start is the one it finds again.
    let deployment = Deployment {
        data: TempDir::new(),
        database_url: Some(schema.url()),
    };
    kill_and_restart_under_load(&deployment).await;
}

/// Turns off the code mailed before a first app in organisation `ORG`.
async fn no_first_app_mail(deployment: &Deployment) {
    const SQL: &str = "INSERT INTO org_settings (org_id, allow_qr_redisplay, remember_devices, \
         confirm_first_app_by_email, updated_at) SELECT id, TRUE, TRUE, FALSE, 0 FROM orgs \
         WHERE slug = 'crash'";
    match &deployment.database_url {
        None => {
            let conn = rusqlite::Connection::open(deployment.data.join("twofold.db")).unwrap();
            conn.execute(SQL, []).unwrap();
        }
        Some(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(SQL).execute(&mut conn).await.unwrap();
        }
    }
}

/// Where the server keeps its state.
struct Deployment {
    data: TempDir,
    /// PostgreSQL, or SQLite in the data directory when `None`.
    database_url: Option<String>,
}

impl Deployment {
    fn start(&self) -> Server {
        let mut cmd = serve_cmd(&self.data);
        // Replayed codes are refused on purpose here, from one address, and many sign-ins
        // hash at once: the per-address failure limit and the hashing queue's bound, which
        // would step in first, are lifted.
        cmd.env("TWOFOLD_TOTP_WINDOW", WINDOW.to_string())
            .env("TWOFOLD_LOCKOUT_THRESHOLD", "100")
            .env("TWOFOLD_IP_FAILURE_BURST", "1000000")
            .env("TWOFOLD_PASSWORD_HASH_QUEUE", "1000000");
        if let Some(url) = &self.database_url {
            cmd.env("TWOFOLD_DATABASE_URL", url);
        }
        Server::start(cmd)
    }

    /// Arguments that point the offline CLI commands at the same database.
    fn cli_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), self.data.arg()];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }

    fn engine(&self) -> &'static str {
        if self.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    fn sqlite_file(&self) -> Option<PathBuf> {
        self.database_url
            .is_none()
            .then(|| self.data.join("twofold.db"))
    }
}

/// The whole test: users created by the CLI, then `CYCLES` times: load, SIGKILL, check the
/// database the crash left, restart, check every answer given before the kill.
async fn kill_and_restart_under_load(deployment: &Deployment) {
    let args = deployment.cli_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    create_org(&args, &[], ORG);
    let names: Vec<String> = (0..CYCLES * NEW_USERS_PER_CYCLE)
        .map(|i| format!("user{i:02}"))
        .collect();
    // Two at a time: each is a process and an Argon2id hash.
    tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            for half in names.chunks(names.len().div_ceil(2)) {
                let args = &args;
                s.spawn(move || {
                    for name in half {
                        create_user(args, &[], ORG, name, PASSWORD);
                    }
                });
            }
        });
    });
    let mut pool: Vec<User> = names
        .into_iter()
        .enumerate()
        .map(|(index, name)| User::new(index, name))
        .collect();
    // The code mailed before a first app is not what this test is about, and mail still
    // queued when the process is killed is lost (the user asks again): this organisation
    // turns it off, as its admin may.
    no_first_app_mail(deployment).await;

    let crash_copies = TempDir::new();
    let mut totals = Report::default();
    let mut server = deployment.start();
    // Codes accepted since the last restart: after the next crash, each must be refused.
    let mut spent: Vec<Spent> = Vec::new();
    for cycle in 0..CYCLES {
        let mut report = Report::default();
        // Everyone introduced so far takes part: the new users enrol, the others sign in.
        let waiting = pool.split_off((cycle + 1) * NEW_USERS_PER_CYCLE);
        let target = 1 + random_below(4 * NEW_USERS_PER_CYCLE);
        let (players, accepted) =
            load_then_kill(server, std::mem::take(&mut pool), target, &mut report).await;
        pool = players;
        pool.extend(waiting);

        if let Some(db) = deployment.sqlite_file() {
            let copy = crash_copies.join(format!("cycle-{cycle}"));
            copy_database(&db, &copy);
            integrity_check(&copy.join("twofold.db"));
        }

        server = deployment.start();
        let api = server.api();
        spent.extend(accepted);
        check_factors(&api, &mut pool, &mut report).await;
        spent = check_spent_codes_and_sign_in_again(&api, &mut pool, &spent, &mut report).await;
        eprintln!(
            "{}: cycle {cycle} (kill after {target} confirmations): {report:?}",
            deployment.engine()
        );
        totals.add(&report);
    }
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
    if let Some(db) = deployment.sqlite_file() {
        integrity_check(&db);
    }
    eprintln!("{}: all {CYCLES} cycles: {totals:?}", deployment.engine());

    // The test proved something only if there was something to lose: every cycle ended
    // with confirmed answers (the first of all is an activation) and cut-off requests.
    assert!(totals.activations > 0, "{totals:?}");
    assert!(totals.activations + totals.sign_ins >= CYCLES, "{totals:?}");
    assert!(
        totals.resent >= totals.activations + totals.sign_ins,
        "{totals:?}"
    );
    assert!(totals.signed_in_after_restart >= CYCLES, "{totals:?}");
    assert!(totals.codes_cut + totals.others_cut >= CYCLES, "{totals:?}");
}

/// One simulated person: an authenticator app and the state a client keeps.
struct User {
    index: usize,
    name: String,
    /// A password-only session opened before the factor was activated. Sessions live in
    /// the database, so it outlives every restart, and it lists the user's factors.
    session: Option<String>,
    /// The factor the server confirmed creating (pending until an activation is answered).
    factor: Option<Enrolled>,
    /// The server answered an activation, or listed the factor as active after a crash.
    active: bool,
    /// The highest step a code was sent for, answered or not; later codes are above it.
    last_sent: Option<u64>,
}

struct Enrolled {
    id: String,
    totp: Totp,
}

impl User {
    fn new(index: usize, name: String) -> User {
        User {
            index,
            name,
            session: None,
            factor: None,
            active: false,
            last_sent: None,
        }
    }

    /// A code for the lowest step after every step sent so far that the server will take,
    /// or `None` when every such step is used. The steps from `now + 2 - WINDOW` to
    /// `now + WINDOW` are inside the server's window for as long as its clock is within
    /// two steps of this reading: longer than the whole test.
    fn next_code(&mut self) -> Option<(u64, String)> {
        let totp = &self.factor.as_ref()?.totp;
        let now = current_step();
        let first = self.last_sent.map_or(0, |s| s + 1).max(now + 2 - WINDOW);
        for step in first..=now + WINDOW {
            if let Some(code) = unambiguous_code(totp, step) {
                self.last_sent = Some(step);
                return Some((step, code));
            }
        }
        None
    }

    fn login_body(&self) -> Value {
        json!({"org": ORG, "username": self.name, "password": PASSWORD})
    }
}

fn current_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

/// The code for `step`, unless another step the server could be looking at has the same
/// code (about one code in 20,000 here): the server takes the closest matching step, so such a
/// code could be judged against a step the test did not mean.
fn unambiguous_code(totp: &Totp, step: u64) -> Option<String> {
    let code = totp.generate_for_step(step);
    let reach = 2 * WINDOW + 2;
    (step - reach..=step + reach)
        .filter(|&s| s != step)
        .all(|s| totp.generate_for_step(s) != code)
        .then_some(code)
}

fn random_below(n: usize) -> usize {
    let r = RandomState::new().hash_one(SystemTime::now());
    usize::try_from(r % u64::try_from(n).unwrap()).unwrap()
}

/// A code the server accepted: for an activation or a sign-in.
#[derive(Clone, Debug)]
struct Spent {
    user: usize,
    step: u64,
    code: String,
}

/// What happened in one cycle (or all of them).
#[derive(Debug, Default)]
struct Report {
    /// Activations answered 2xx before the kill.
    activations: usize,
    /// Sign-ins answered `authenticated` before the kill.
    sign_ins: usize,
    /// Requests in flight the moment SIGKILL was sent.
    codes_in_flight: usize,
    others_in_flight: usize,
    /// Requests that got no answer (cut off by the kill).
    codes_cut: usize,
    others_cut: usize,
    /// Factors listed as active after the restart, for every activation ever confirmed.
    active_factors_listed: usize,
    /// Activations sent but cut off, found committed (the factor is active).
    unanswered_activations_found_active: usize,
    /// Enrolments answered whose activation was cut off or never sent: still pending.
    factors_still_pending: usize,
    /// Accepted codes sent again after the restart, and how they were refused.
    resent: usize,
    resent_refused_as_reused: usize,
    resent_refused_as_invalid: usize,
    /// Fresh codes that signed in after the restart (the secrets survived).
    signed_in_after_restart: usize,
}

impl Report {
    fn add(&mut self, r: &Report) {
        self.activations += r.activations;
        self.sign_ins += r.sign_ins;
        self.codes_in_flight += r.codes_in_flight;
        self.others_in_flight += r.others_in_flight;
        self.codes_cut += r.codes_cut;
        self.others_cut += r.others_cut;
        self.active_factors_listed += r.active_factors_listed;
        self.unanswered_activations_found_active += r.unanswered_activations_found_active;
        self.factors_still_pending += r.factors_still_pending;
        self.resent += r.resent;
        self.resent_refused_as_reused += r.resent_refused_as_reused;
        self.resent_refused_as_invalid += r.resent_refused_as_invalid;
        self.signed_in_after_restart += r.signed_in_after_restart;
    }
}

/// Shared by the load's tasks: confirmations so far and requests in flight.
struct Load {
    confirmed: watch::Sender<usize>,
    codes_in_flight: AtomicUsize,
    others_in_flight: AtomicUsize,
    codes_cut: AtomicUsize,
    others_cut: AtomicUsize,
}

impl Load {
    /// Sends a request; `None` when it got no answer (the server is gone).
    async fn send(
        &self,
        api: &Api,
        code: bool,
        path: &str,
        bearer: Option<&str>,
        body: Value,
    ) -> Option<Answer> {
        let (in_flight, cut) = if code {
            (&self.codes_in_flight, &self.codes_cut)
        } else {
            (&self.others_in_flight, &self.others_cut)
        };
        in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = api.try_send(Method::POST, path, bearer, Some(body)).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        if answer.is_err() {
            cut.fetch_add(1, Ordering::SeqCst);
        }
        answer.ok()
    }

    fn confirm(&self) {
        self.confirmed.send_modify(|n| *n += 1);
    }
}

/// Runs every user as a client of its own against `server`, kills the server with SIGKILL
/// once `target` activations and sign-ins were confirmed, and answers the users and the
/// codes the server accepted.
async fn load_then_kill(
    server: Server,
    users: Vec<User>,
    target: usize,
    report: &mut Report,
) -> (Vec<User>, Vec<Spent>) {
    let load = Arc::new(Load {
        confirmed: watch::Sender::new(0),
        codes_in_flight: AtomicUsize::new(0),
        others_in_flight: AtomicUsize::new(0),
        codes_cut: AtomicUsize::new(0),
        others_cut: AtomicUsize::new(0),
    });
    let api = server.api();
    let mut tasks = JoinSet::new();
    for user in users {
        tasks.spawn(drive(api.clone(), load.clone(), user));
    }
    let mut confirmed = load.confirmed.subscribe();
    let mut done = Vec::new();
    loop {
        tokio::select! {
            _ = confirmed.wait_for(|&n| n >= target) => break,
            joined = tasks.join_next() => match joined {
                Some(Ok(d)) => done.push(d),
                Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                // Every user ran out of steps: not with these sizes, but kill anyway.
                None => break,
            },
        }
    }
    // Codes are judged in a few milliseconds between logins that take tens: catch one
    // in flight if it comes within a moment.
    for _ in 0..1000 {
        if load.codes_in_flight.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    report.codes_in_flight = load.codes_in_flight.load(Ordering::SeqCst);
    report.others_in_flight = load.others_in_flight.load(Ordering::SeqCst);
    let (status, log) = tokio::task::block_in_place(|| server.kill());
    assert_eq!(status.signal(), Some(9), "{status:?}\n{log}");
    assert!(
        report.codes_in_flight + report.others_in_flight > 0,
        "nothing was in flight at the kill"
    );

    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(d) => done.push(d),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    report.codes_cut = load.codes_cut.load(Ordering::SeqCst);
    report.others_cut = load.others_cut.load(Ordering::SeqCst);
    let mut users = Vec::new();
    let mut accepted = Vec::new();
    for (user, spent, activated) in done {
        report.activations += usize::from(activated);
        report.sign_ins += spent.len() - usize::from(activated);
        users.push(user);
        accepted.extend(spent);
    }
    users.sort_by_key(|u| u.index);
    (users, accepted)
}

/// One client: signs in with the password, enrols and activates an authenticator (as far
/// as not done in an earlier cycle), then signs in with codes, one after another, until a
/// request goes unanswered or every usable step is spent. Every answer it gets must be the
/// right one. Answers the user, the codes accepted, and whether an activation was.
async fn drive(api: Api, load: Arc<Load>, mut user: User) -> (User, Vec<Spent>, bool) {
    let mut spent = Vec::new();
    let mut activated = false;
    let _ = drive_until_cut(&api, &load, &mut user, &mut spent, &mut activated).await;
    (user, spent, activated)
}

async fn drive_until_cut(
    api: &Api,
    load: &Load,
    user: &mut User,
    spent: &mut Vec<Spent>,
    activated: &mut bool,
) -> Option<()> {
    if user.session.is_none() {
        let a = load
            .send(api, false, "/auth/login", None, user.login_body())
            .await?;
        match a.json() {
            LoginResponse::Authenticated { session_token, .. } => {
                user.session = Some(session_token);
            }
            other => panic!("{}: expected a password-only session: {other:?}", user.name),
        }
    }
    let session = user.session.clone()?;
    if user.factor.is_none() {
        let a = load
            .send(
                api,
                false,
                "/me/factors/totp",
                Some(&session),
                json!({"name": "Phone"}),
            )
            .await?;
        assert_eq!(a.status, StatusCode::CREATED, "{}: {a:?}", user.name);
        let e: TotpEnrollment = a.json();
        let secret = Secret::from_base32(&e.secret).unwrap();
        let totp = Totp::new(secret, TotpParams::default()).unwrap();
        user.factor = Some(Enrolled { id: e.id, totp });
    }
    if !user.active {
        let (step, code) = user.next_code()?;
        let path = format!("/me/factors/{}/activate", user.factor.as_ref()?.id);
        let a = load
            .send(api, true, &path, Some(&session), json!({"code": code}))
            .await?;
        let f: Factor = a.json();
        assert_eq!(f.status, FactorStatus::Active, "{}: {f:?}", user.name);
        user.active = true;
        *activated = true;
        spent.push(Spent {
            user: user.index,
            step,
            code,
        });
        load.confirm();
    }
    loop {
        let a = load
            .send(api, false, "/auth/login", None, user.login_body())
            .await?;
        let LoginResponse::MfaRequired { flow_token, .. } = a.json() else {
            panic!("{}: expected mfa_required: {a:?}", user.name)
        };
        let (step, code) = user.next_code()?;
        let body = json!({"flow_token": flow_token, "method": "totp", "code": code});
        let a = load.send(api, true, "/auth/mfa", None, body).await?;
        // A fresh code inside the window: nothing but a session is right.
        let LoginResponse::Authenticated { .. } = a.json() else {
            panic!("{}: step {step} not accepted: {a:?}", user.name)
        };
        spent.push(Spent {
            user: user.index,
            step,
            code,
        });
        load.confirm();
    }
}

/// After a restart: every factor the server ever confirmed activating is listed, active;
/// one whose activation was cut off is either active or still pending, never lost (its
/// enrolment was answered); a user whose enrolment was cut off has no active factor.
async fn check_factors(api: &Api, users: &mut [User], report: &mut Report) {
    let lists = concurrently(users.iter().map(|u| {
        let (api, session) = (api.clone(), u.session.clone());
        async move {
            let session = session?;
            let a = api
                .send(Method::GET, "/me/factors", Some(&session), None)
                .await;
            Some(a.json::<Vec<Factor>>())
        }
    }))
    .await;
    for (user, listed) in users.iter_mut().zip(lists) {
        let Some(listed) = listed else { continue };
        let Some(factor) = &user.factor else {
            assert!(
                listed.iter().all(|f| f.status == FactorStatus::Pending),
                "{}: {listed:?}",
                user.name
            );
            continue;
        };
        let ours: Vec<&Factor> = listed.iter().filter(|f| f.id == factor.id).collect();
        assert_eq!(ours.len(), 1, "{}: {listed:?}", user.name);
        assert_eq!(listed.len(), 1, "{}: {listed:?}", user.name);
        match (user.active, ours[0].status) {
            (true, FactorStatus::Active) => report.active_factors_listed += 1,
            (true, FactorStatus::Pending) => {
                panic!("{}: a confirmed activation was lost: {listed:?}", user.name)
            }
            (false, FactorStatus::Active) => {
                // The activation committed but its answer was cut off.
                user.active = true;
                report.unanswered_activations_found_active += 1;
            }
            (false, FactorStatus::Pending) => report.factors_still_pending += 1,
        }
    }
}

/// After a restart: every code in `spent` is sent again, on a fresh flow, and refused;
/// then a fresh code from the same secret signs the user in. Answers the codes accepted
/// now, to be checked again after the next crash.
async fn check_spent_codes_and_sign_in_again(
    api: &Api,
    users: &mut [User],
    spent: &[Spent],
    report: &mut Report,
) -> Vec<Spent> {
    let mut checks = Vec::new();
    for user in users.iter_mut() {
        let mine: Vec<Spent> = spent
            .iter()
            .filter(|s| s.user == user.index)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let fresh = user.next_code();
        checks.push((user.login_body(), user.name.clone(), mine, fresh));
    }
    let results = concurrently(checks.into_iter().map(|(login, name, mine, fresh)| {
        let api = api.clone();
        async move {
            let a = api
                .send(Method::POST, "/auth/login", None, Some(login))
                .await;
            let LoginResponse::MfaRequired { flow_token, .. } = a.json() else {
                panic!("{name}: expected mfa_required: {a:?}")
            };
            let mut refusals = Vec::new();
            // A refused code leaves the flow open, so one flow serves them all.
            for s in &mine {
                let a = api.mfa(&flow_token, &s.code).await;
                let what = format!("{name}: the code for step {} sent again", s.step);
                assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: {a:?}");
                let code = a.problem().code;
                assert!(
                    matches!(code, ErrorCode::CodeReused | ErrorCode::InvalidCode),
                    "{what}: {a:?}"
                );
                refusals.push(code);
            }
            // The factor is still active and its secret still opens: a fresh code
            // signs in (unless the user has spent every step the window offers).
            let mut accepted = None;
            if let Some((step, code)) = fresh {
                let a = api.mfa(&flow_token, &code).await;
                let LoginResponse::Authenticated { .. } = a.json() else {
                    panic!("{name}: fresh step {step} refused after the restart: {a:?}")
                };
                accepted = Some(Spent {
                    user: mine[0].user,
                    step,
                    code,
                });
            }
            (refusals, accepted)
        }
    }))
    .await;
    let mut accepted = Vec::new();
    for (refusals, fresh) in results {
        for code in refusals {
            report.resent += 1;
            match code {
                ErrorCode::CodeReused => report.resent_refused_as_reused += 1,
                _ => report.resent_refused_as_invalid += 1,
            }
        }
        if let Some(s) = fresh {
            report.signed_in_after_restart += 1;
            accepted.push(s);
        }
    }
    accepted
}

/// Copies the database file and whatever write-ahead log and index the crash left beside
/// it, untouched, so they can be checked without disturbing the server's own recovery.
fn copy_database(db: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            std::fs::copy(&from, into.join(format!("twofold.db{suffix}"))).unwrap();
        }
    }
}

/// SQLite's own consistency checks: b-trees, indexes, constraints, foreign keys.
fn integrity_check(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let result: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(result, ["ok"], "{}", db.display());
    let dangling = conn
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |_| Ok(()))
        .unwrap()
        .count();
    assert_eq!(dangling, 0, "{}: foreign keys broken", db.display());
}
