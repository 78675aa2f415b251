//! Races between two `twofold serve` processes sharing one PostgreSQL database: the same
//! code, or a burst of wrong codes, arriving at both at once. Neither process can see what
//! the other holds in memory, so only the database can decide these races: exactly one
//! request wins each TOTP step, and exactly the lockout budget of wrong codes is evaluated
//! for a user, however the requests are split between the processes. Runs only when
//! `TWOFOLD_TEST_POSTGRES_URL` is set (see `postgres.rs`).

use twofold_proto::{ErrorCode, LoginResponse};

use crate::postgres::{
    PASSWORD, Schema, is_authenticated, postgres_url, start_server, user_with_active_factor,
};
use crate::secret_key::generate_key;
use crate::support::{
    Answer, Api, PyCode, TempDir, concurrently, create_org, create_user, totp_codes,
};

/// Steps in a row on which both servers are raced.
const ROUNDS: usize = 5;
/// Concurrent requests per server in each round, each on a sign-in flow of its own.
const PER_SERVER: usize = 3;

/// Codes for `wanted` consecutive-or-later steps after the clock's current one, skipping
/// any step whose code equals another step's code anywhere a window of `window` steps
/// could reach: the server takes the closest matching step, so an ambiguous code could be
/// judged against a step the test did not mean. All from one reading of the clock, by the
/// independent (Python) generator.
fn unambiguous_codes(secret: &str, window: i64, wanted: usize) -> Vec<PyCode> {
    let reach = 2 * window + 2;
    let offsets: Vec<i64> = (-reach..=reach + 2 * i64::try_from(wanted).unwrap()).collect();
    let all = totp_codes(secret, &offsets);
    let picked: Vec<PyCode> = all
        .iter()
        .zip(&offsets)
        .filter(|&(c, &o)| o >= 1 && all.iter().filter(|d| d.code == c.code).count() == 1)
        .map(|(c, _)| c.clone())
        .take(wanted)
        .collect();
    assert_eq!(picked.len(), wanted, "{all:?}");
    picked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn same_code_sent_to_two_servers_at_once_is_accepted_once_per_step() {
    let base = postgres_url();
    let schema = Schema::create(&base).await;
    let scratch = TempDir::new();
    // One key for every process: the factor sealed through A must open on B.
    let key = generate_key(&scratch);
    // A window of 10 steps keeps ROUNDS fresh steps from one clock reading acceptable for
    // minutes, so no round can fail by time. A lockout threshold of 100 keeps the lockout
    // out of the race: with the default 5 the losers' replays would lock the user and
    // later losers would be refused as locked before the replay rule saw them.
    let env = [
        ("TWOFOLD_TOTP_WINDOW", "10"),
        ("TWOFOLD_LOCKOUT_THRESHOLD", "100"),
    ];
    let (data_a, data_b) = (TempDir::new(), TempDir::new());
    let a = start_server(&schema, &data_a, &key, &env);
    let b = start_server(&schema, &data_b, &key, &env);
    let apis = [a.api(), b.api()];

    let (secret, activated_step) = user_with_active_factor(&schema, &key, &apis[0]).await;
    // Steps after the activation's: read at or after it, offsets 1 and up are later.
    let codes = unambiguous_codes(&secret, 10, ROUNDS);
    assert!(codes[0].step > activated_step, "{codes:?} {activated_step}");

    // Each request finishes a flow of its own, started on the server it is sent to, so
    // the replay rule alone decides. A refused code leaves its flow open: each round only
    // the winner's flow is used up and replaced.
    let mut flows: Vec<(usize, String)> = Vec::new();
    for i in 0..2 * PER_SERVER {
        let server = i % 2;
        let flow = apis[server].start_flow("acme", "alice", PASSWORD).await;
        flows.push((server, flow));
    }
    let mut wins = [0usize; 2];
    for (round, code) in codes.iter().enumerate() {
        let answers: Vec<Answer> = concurrently(flows.iter().map(|(server, flow)| {
            let (api, flow, code) = (apis[*server].clone(), flow.clone(), code.code.clone());
            async move { api.mfa(&flow, &code).await }
        }))
        .await;
        let winners: Vec<usize> = (0..answers.len())
            .filter(|&i| is_authenticated(&answers[i]))
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:#?}");
        for (i, answer) in answers.iter().enumerate() {
            if i != winners[0] {
                answer.expect_problem(401, ErrorCode::CodeReused);
            }
        }
        let winner = winners[0];
        let server = flows[winner].0;
        wins[server] += 1;
        // The session is in the database: good on either server.
        let LoginResponse::Authenticated { session_token, .. } = answers[winner].json() else {
            unreachable!()
        };
        for api in &apis {
            assert_eq!(api.me(&session_token).await.session.aal, 2);
        }
        flows[winner].1 = apis[server].start_flow("acme", "alice", PASSWORD).await;
    }
    eprintln!(
        "{ROUNDS} rounds of {} concurrent requests: server A won {}, server B {}",
        2 * PER_SERVER,
        wins[0],
        wins[1]
    );

    for server in [a, b] {
        let (status, log) = server.terminate();
        assert!(status.success(), "{status:?}\n{log}");
    }
}

/// Fresh users, one per round, each hit by this many wrong codes at once.
const WRONG_ROUNDS: usize = 3;
const WRONG_AT_ONCE: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(twofold_pg), ignore = "TWOFOLD_TEST_POSTGRES_URL is not set")]
async fn wrong_codes_split_over_two_servers_are_evaluated_five_times_then_locked() {
    let base = postgres_url();
    let schema = Schema::create(&base).await;
    let scratch = TempDir::new();
    let key = generate_key(&scratch);
    // Default settings: a window of one step, the lock after 5 failures.
    let (data_a, data_b) = (TempDir::new(), TempDir::new());
    let a = start_server(&schema, &data_a, &key, &[]);
    let b = start_server(&schema, &data_b, &key, &[]);
    let apis = [a.api(), b.api()];

    let url = schema.url();
    let cli_dir = TempDir::new();
    let cli_args = ["--data-dir", &cli_dir.arg(), "--database-url", &url];
    let cli_env = [("TWOFOLD_SECRET_KEY", key.as_str())];
    create_org(&cli_args, &cli_env, "acme");

    for round in 0..WRONG_ROUNDS {
        let username = format!("user{round}");
        create_user(&cli_args, &cli_env, "acme", &username, PASSWORD);
        let secret = enrol(&apis[0], &username).await;
        // Wrong for every step either server could be looking at during the round.
        let near = totp_codes(&secret, &[-3, -2, -1, 0, 1, 2, 3]);
        let wrong = ["000000", "111111", "222222", "333333"]
            .into_iter()
            .find(|w| near.iter().all(|c| c.code != *w))
            .unwrap();

        // One flow on each server; half of the burst goes to each.
        let mut flows = Vec::new();
        for api in &apis {
            flows.push(api.start_flow("acme", &username, PASSWORD).await);
        }
        let answers: Vec<(usize, Answer)> = concurrently((0..WRONG_AT_ONCE).map(|i| {
            let server = i % 2;
            let (api, flow) = (apis[server].clone(), flows[server].clone());
            async move { (server, api.mfa(&flow, wrong).await) }
        }))
        .await;

        let mut evaluated = [0usize; 2];
        let mut locked = [0usize; 2];
        for (server, answer) in &answers {
            match (answer.status.as_u16(), answer.problem().code) {
                (401, ErrorCode::InvalidCode) => evaluated[*server] += 1,
                (429, ErrorCode::TooManyAttempts) => {
                    assert!(answer.problem().retry_after.unwrap() > 0, "{answer:?}");
                    locked[*server] += 1;
                }
                _ => panic!("round {round}: unexpected answer {answer:?}"),
            }
        }
        assert_eq!(
            evaluated[0] + evaluated[1],
            5,
            "round {round}: exactly the budget is evaluated across both servers \
             (A {}, B {})",
            evaluated[0],
            evaluated[1]
        );
        assert_eq!(locked[0] + locked[1], WRONG_AT_ONCE - 5, "round {round}");
        eprintln!(
            "round {round}: evaluated A {} B {}, locked out A {} B {}",
            evaluated[0], evaluated[1], locked[0], locked[1]
        );

        // The lock is in the database: both servers refuse even the right code now.
        let right = &totp_codes(&secret, &[1])[0];
        for (api, flow) in apis.iter().zip(&flows) {
            api.mfa(flow, &right.code)
                .await
                .expect_problem(429, ErrorCode::TooManyAttempts);
        }
    }

    for server in [a, b] {
        let (status, log) = server.terminate();
        assert!(status.success(), "{status:?}\n{log}");
    }
}

/// Enrols and activates a TOTP factor for `username` (who has none yet) through `api`.
/// Answers the secret.
async fn enrol(api: &Api, username: &str) -> String {
    let session = api.login_password_only("acme", username, PASSWORD).await;
    let e = api.enroll_totp(&session).await;
    let now = &totp_codes(&e.secret, &[0])[0];
    let activated = api.activate(&session, &e.id, &now.code).await;
    assert!(activated.status.is_success(), "{activated:?}");
    e.secret
}
