//! A full sign-in through the real process, with codes from a third-party TOTP generator
//! (Python's standard library), as a user with an authenticator app would do it.

use twofold_proto::{ErrorCode, Factor, FactorStatus, LoginResponse};

use crate::support::{
    Server, TempDir, assert_python_totp_matches_rfc_6238, create_org_and_user, serve_cmd,
    totp_codes,
};

#[tokio::test]
async fn totp_sign_in_with_codes_from_an_independent_generator_then_replay_is_refused() {
    assert_python_totp_matches_rfc_6238();
    let dir = TempDir::new();
    let server = Server::start(serve_cmd(&dir));
    let password = "correct horse battery staple";
    let user_id = create_org_and_user(&["--data-dir", &dir.arg()], &[], "acme", "alice", password);
    let api = server.api();

    // Enrol with a password-only session.
    let first = api.login_password_only("acme", "alice", password).await;
    let enrollment = api.enroll_totp(&first).await;

    // One clock reading for both codes. Activation claims step P; the sign-in needs a
    // later step, so it uses P+1, which the server's ±1 window accepts while its own step
    // is P, P+1 or P+2 — however the 30 s boundaries fall during the test.
    let codes = totp_codes(&enrollment.secret, &[0, 1]);
    let activated = api.activate(&first, &enrollment.id, &codes[0].code).await;
    let factor: Factor = activated.json();
    assert_eq!(factor.id, enrollment.id);
    assert_eq!(factor.status, FactorStatus::Active);

    api.logout(&first).await;
    let gone = api
        .send(reqwest::Method::GET, "/me", Some(&first), None)
        .await;
    gone.expect_problem(401, ErrorCode::Unauthenticated);

    // Password again: now a second factor is required.
    let flow = api.start_flow("acme", "alice", password).await;
    let done = api.mfa(&flow, &codes[1].code).await;
    let session = match done.json::<LoginResponse>() {
        LoginResponse::Authenticated { session_token, .. } => session_token,
        other => panic!("expected authenticated, got {other:?}"),
    };
    let me = api.me(&session).await;
    assert_eq!(me.id, user_id);
    assert_eq!(me.session.aal, 2);
    assert_eq!(me.session.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    assert!(me.mfa.enrolled);
    assert_eq!(me.mfa.factors, 1);

    // The same code on a new flow: its step was used, so it is a replay.
    let flow = api.start_flow("acme", "alice", password).await;
    api.mfa(&flow, &codes[1].code)
        .await
        .expect_problem(401, ErrorCode::CodeReused);

    // The flow survives a refused code: a wrong one on it is `invalid_code`. The last
    // digit is changed so it differs from the real code (another step's code could equal
    // it only by a one-in-a-million chance).
    let mut wrong = codes[1].code.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    api.mfa(&flow, &wrong)
        .await
        .expect_problem(401, ErrorCode::InvalidCode);

    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}
