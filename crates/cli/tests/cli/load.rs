//! The load tool (`twofold-load`, used as a library) against a real `twofold serve`: a
//! population written by the tool, imported with `twofold user import`, then each scenario
//! for about a second. What is checked is what the server answered, never how fast.

use std::time::Duration;

use twofold_load::report::Report;
use twofold_load::scenario::{self, RunConfig, Scenario};
use twofold_load::users::{
    LoadUser, PasswordCost, PrepareOptions, generate_users, read_users_csv, write_users_csv,
};

use crate::support::{Server, TempDir, assert_uuid, run, serve_cmd, twofold};

async fn load(
    server: &Server,
    scenario: Scenario,
    users: &[LoadUser],
    concurrency: usize,
) -> Report {
    let config = RunConfig {
        concurrency,
        duration: Duration::from_secs(1),
        // A hang must fail the test, not block it.
        request_timeout: Duration::from_secs(20),
        ..RunConfig::new(scenario, server.url(""), "load", users.to_vec())
    };
    scenario::run(config)
        .await
        .unwrap_or_else(|e| panic!("{scenario}: {e}\nserver log:\n{}", server.log()))
}

/// Every answer of a class, checked to be exactly `expected`.
fn only_answers(report: &Report, class: &str, expected: &[&str]) {
    let c = report
        .class(class)
        .unwrap_or_else(|| panic!("no class {class}: {report}"));
    for answer in c.answers.keys() {
        assert!(
            expected.contains(&answer.as_str()),
            "{answer} in {class}:\n{report}"
        );
    }
}

#[tokio::test]
async fn every_scenario_runs_against_an_imported_population() {
    let dir = TempDir::new();
    let data = ["--data-dir".to_owned(), dir.arg()];
    assert_uuid(run(twofold().args(&data).args(["org", "create", "load"]), None).one_stdout_line());

    // 40 users with cheap hashes, written and read back through the file, as `prepare` and
    // `run` do.
    let csv = dir.join("users.csv");
    let made = generate_users(&PrepareOptions {
        users: 40,
        prefix: "load".into(),
        period: 30,
        cost: PasswordCost::Fast,
    })
    .unwrap();
    write_users_csv(&csv, &made).unwrap();
    let imported = run(
        twofold()
            .args(&data)
            .args(["user", "import", "--org", "load"])
            .arg(&csv),
        None,
    );
    assert!(imported.status.success(), "{imported:?}");
    let users = read_users_csv(&csv, None).unwrap();
    assert_eq!(users.len(), 40);

    let server = Server::start(serve_cmd(&dir));
    // Each scenario gets users of its own: a user's TOTP step is accepted once, and
    // wrong-codes locks its users, so sharing would make one scenario disturb the next.
    let (mfa_users, rest) = users.split_at(15);
    let (attacked, rest) = rest.split_at(5);
    let (signing_in, storming) = rest.split_at(10);

    // mfa-step: one flow per user, each finished by one valid code. The server is named
    // twice, as two servers of one deployment would be: requests alternate between them.
    let config = RunConfig {
        concurrency: 8,
        duration: Duration::from_secs(1),
        request_timeout: Duration::from_secs(20),
        also: vec![server.url("").replace("127.0.0.1", "localhost")],
        ..RunConfig::new(
            Scenario::MfaStep,
            server.url(""),
            "load",
            mfa_users.to_vec(),
        )
    };
    let r = scenario::run(config).await.unwrap();
    only_answers(&r, "mfa_step", &["200 authenticated"]);
    let mfa = r.class("mfa_step").unwrap();
    assert_eq!(mfa.answered("200 authenticated"), 15, "{r}");
    assert_eq!(mfa.successes, 15, "{r}");
    assert_eq!(r.setup.as_ref().unwrap().flows, 15);

    // wrong-codes: exactly the lockout budget is evaluated, everything else refused.
    let r = load(&server, Scenario::WrongCodes, attacked, 4).await;
    only_answers(
        &r,
        "wrong_code",
        &["401 invalid_code", "429 too_many_attempts"],
    );
    assert_eq!(
        r.class("wrong_code").unwrap().answered("401 invalid_code"),
        25,
        "{r}"
    );
    let check = r.wrong_codes.as_ref().unwrap();
    assert_eq!(check.evaluated_attempts, 25);
    assert_eq!(check.max_per_user, 5);
    assert!(!check.exceeded, "{r}");
    assert!(!r.check_failed());

    // sign-in: password and code together.
    let r = load(&server, Scenario::SignIn, signing_in, 4).await;
    let sign_in = r.class("sign_in").unwrap();
    assert!(sign_in.successes >= 1, "{r}");
    assert!(
        sign_in
            .answers
            .keys()
            .all(|a| !a.starts_with('5') && !a.starts_with("0 ")),
        "{r}"
    );

    // storm: the flood, code checks beside it, and health checks that keep answering.
    let r = load(&server, Scenario::Storm, storming, 4).await;
    let health = r.class("healthz").unwrap();
    assert!(health.requests > 0, "{r}");
    only_answers(&r, "healthz", &["200 ok"]);
    for class in ["sign_in", "mfa_step"] {
        let c = r.class(class).unwrap();
        assert!(
            c.answers
                .keys()
                .all(|a| !a.starts_with('5') && !a.starts_with("0 ")),
            "{r}"
        );
    }

    // The report survives its JSON form (what `--json` prints for scripts); floats may
    // lose their last bit in JSON, so the counts are compared.
    let back: Report = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(back.stop_reason, r.stop_reason);
    for (name, class) in &r.classes {
        assert_eq!(back.classes[name].answers, class.answers);
        assert_eq!(back.classes[name].latency, class.latency);
    }

    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}
