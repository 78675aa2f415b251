//! Email as a second factor, with every code read from a real SMTP server (aiosmtpd):
//! enrolment and activation with a mailed code, a code mailed at once when email is
//! preferred, another method chosen for one sign-in, 6 digits valid 5 minutes, single
//! use, 5 tries, not resent within 30 s, counted towards the lockout, stored hashed;
//! step-up and removal with a mailed code.

use twofold_client::Client;
use twofold_proto::{ErrorCode, LoginResponse, Method, MfaRequest, StepUpRequest};
use twofold_server::Config;
use twofold_server::domain::users::Role;

use crate::harness::{Engine, PASSWORD, TestServer, each_engine, require_mfa, token};
use crate::mail::quick_retry;
use crate::mailbox::{Received, SinkOptions, SmtpSink};

/// A server whose mail goes to a real SMTP server, with the configuration changed by
/// `tweak`.
pub(crate) async fn server(
    engine: Engine,
    tweak: impl FnOnce(&mut Config),
) -> (SmtpSink, TestServer) {
    let sink = SmtpSink::start(SinkOptions::default());
    let smtp = sink.smtp_config();
    let mut srv = TestServer::start_with(engine, |c| {
        c.mail.smtp = Some(smtp);
        c.mail.retry = quick_retry(3);
        tweak(c);
    })
    .await;
    srv.mail_dir = Some(sink.out_dir());
    (sink, srv)
}

/// Reads what the SMTP server received, a message at a time.
pub(crate) struct Inbox<'a> {
    srv: &'a TestServer,
    sink: &'a SmtpSink,
    seen: usize,
}

impl<'a> Inbox<'a> {
    pub(crate) fn new(srv: &'a TestServer, sink: &'a SmtpSink) -> Self {
        Inbox { srv, sink, seen: 0 }
    }

    /// The messages delivered since the last call.
    async fn new_mail(&mut self) -> Vec<Received> {
        self.srv.twofold.mailer().idle().await;
        let all = self.sink.received();
        let fresh = all[self.seen..].to_vec();
        self.seen = all.len();
        fresh
    }

    /// The code in the one new message whose subject is `subject` (others are skipped).
    pub(crate) async fn code(&mut self, subject: &str) -> String {
        let got: Vec<Received> = self
            .new_mail()
            .await
            .into_iter()
            .filter(|m| m.subject == subject)
            .collect();
        assert_eq!(got.len(), 1, "expected one {subject:?}, got {got:?}");
        assert_eq!(got[0].to, "alice@example.com");
        got[0].code()
    }
}

const SET_UP: &str = "Your code to set up sign-in codes by email";
pub(crate) const SIGN_IN: &str = "Your sign-in code";
const STEP_UP: &str = "Your code to confirm a change";

/// alice, with a password-only session and an active email factor (her only factor);
/// answers the session and the factor's id.
pub(crate) async fn with_email(
    srv: &TestServer,
    inbox: &mut Inbox<'_>,
) -> (String, Client, String) {
    let (org, user) = srv.user(Role::Member).await;
    let s = srv.session(&org, &user).await;
    let e = s.enroll_email(None).await.unwrap();
    let code = inbox.code(SET_UP).await;
    s.activate_factor(&e.id, &code).await.unwrap();
    (org, s, e.id)
}

async fn with_email_code(
    srv: &TestServer,
    flow: &str,
    code: &str,
) -> twofold_client::Result<LoginResponse> {
    srv.client
        .mfa(&MfaRequest {
            flow_token: flow.into(),
            method: Method::Email,
            code: code.into(),
            remember_device: None,
            credential: None,
        })
        .await
}

/// Signs alice in: answers the flow token and the `mfa_required` answer's details.
async fn login(srv: &TestServer, org: &str) -> (String, Vec<Method>, Method, Option<String>) {
    match srv.client.login(org, "alice", PASSWORD).await.unwrap() {
        LoginResponse::MfaRequired {
            flow_token,
            methods,
            preferred,
            code_sent_to,
            ..
        } => (flow_token, methods, preferred, code_sent_to),
        other => panic!("expected mfa_required, got {other:?}"),
    }
}

/// alice with email as her only factor, at her second step: answers her organisation, the
/// flow and the code mailed for it.
async fn at_second_step(srv: &TestServer, inbox: &mut Inbox<'_>) -> (String, String, String) {
    let (org, _, _) = with_email(srv, inbox).await;
    let (flow, ..) = login(srv, &org).await;
    let code = inbox.code(SIGN_IN).await;
    (org, flow, code)
}

/// Five wrong codes for `flow`, each refused as `invalid_code`.
async fn five_wrong_codes(srv: &TestServer, flow: &str, code: &str) {
    for _ in 0..5 {
        let err = with_email_code(srv, flow, &other_than(code))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
    }
}

/// A session of alice's that signed in with a mailed code (email preferred).
async fn email_session(srv: &TestServer, inbox: &mut Inbox<'_>, org: &str) -> Client {
    let (flow, ..) = login(srv, org).await;
    let code = inbox.code(SIGN_IN).await;
    srv.client
        .with_token(token(&with_email_code(srv, &flow, &code).await.unwrap()))
}

fn other_than(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.into()
}

each_engine! {
    async fn an_email_factor_is_activated_with_the_mailed_code_and_signs_in(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = s.enroll_email(Some("Work mail")).await.unwrap();
        assert_eq!(e.sent_to, "al***@example.com");
        assert_eq!(e.resend_after, 30);
        let code = inbox.code(SET_UP).await;
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        // Pending until the code comes back; a wrong one is refused.
        let listed = s.factors().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].factor_type, twofold_proto::FactorType::Email);
        assert_eq!(listed[0].status, twofold_proto::FactorStatus::Pending);
        assert_eq!(listed[0].email.as_deref(), Some("alice@example.com"));
        let err = s.activate_factor(&e.id, &other_than(&code)).await.unwrap_err();
        assert_eq!((err.problem().map(|p| p.status), err.code()), (Some(401), Some(ErrorCode::InvalidCode)), "{err}");
        let f = s.activate_factor(&e.id, &code).await.unwrap();
        assert_eq!((f.status, f.name.as_str()), (twofold_proto::FactorStatus::Active, "Work mail"));
        let added = inbox.new_mail().await;
        assert!(added.iter().any(|m| m.subject == "A second factor was added to your account"), "{added:?}");

        // Her only factor, so it is preferred: the password step mails the code at once.
        let (flow, methods, preferred, sent_to) = login(&srv, &org).await;
        assert_eq!(methods, [Method::Email]);
        assert_eq!(preferred, Method::Email);
        assert_eq!(sent_to.as_deref(), Some("al***@example.com"));
        let code = inbox.code(SIGN_IN).await;
        let done = with_email_code(&srv, &flow, &format!("{} {}", &code[..3], &code[3..])).await.unwrap();
        let me = srv.client.with_token(token(&done)).me().await.unwrap();
        assert_eq!((me.session.aal, me.session.amr.clone()), (2, vec!["pwd".into(), "otp".into(), "email".into()]));
        assert!(s.factors().await.unwrap()[0].last_used_at.is_some());
        // Single use: the same code on a new sign-in (which mails a new one) is refused.
        let (flow, _, _, _) = login(&srv, &org).await;
        let next = inbox.code(SIGN_IN).await;
        if next != code {
            let err = with_email_code(&srv, &flow, &code).await.unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        }
        let org_id = srv.twofold.store().user_by_login(&org, "alice").await.unwrap().unwrap().org_id;
        let events = srv.twofold.store().audit_events(&org_id, None, 50).await.unwrap();
        let signed_in = events.iter().find(|e| e.event == "signin.succeeded").unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&signed_in.details).unwrap(),
            serde_json::json!({"amr": ["pwd", "otp", "email"], "method": "email", "factor_id": f.id})
        );
        assert!(events.iter().any(|e| e.event == "factor.enrolled" && e.details.contains(&f.id)));
    }

    async fn an_email_code_lives_five_minutes(engine: Engine) {
        // A sign-in flow longer than the code, so the code is what expires.
        let (sink, srv) = server(engine, |c| c.security.flow_ttl = std::time::Duration::from_secs(900)).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (_, flow, code) = at_second_step(&srv, &mut inbox).await;
        srv.advance(300);
        let err = with_email_code(&srv, &flow, &code).await.unwrap_err();
        assert_eq!((err.problem().map(|p| p.status), err.code()), (Some(400), Some(ErrorCode::CodeExpired)), "{err}");
        // A new code for the same sign-in.
        srv.client.send_sign_in_email_code(&flow).await.unwrap();
        let code = inbox.code(SIGN_IN).await;
        srv.advance(299);
        with_email_code(&srv, &flow, &code).await.unwrap();
    }

    async fn a_new_code_is_not_mailed_within_30_seconds_and_replaces_the_old(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, _, _) = with_email(&srv, &mut inbox).await;
        let (flow, ..) = login(&srv, &org).await;
        let first = inbox.code(SIGN_IN).await;
        srv.advance(29);
        let err = srv.client.send_sign_in_email_code(&flow).await.unwrap_err();
        let p = err.problem().unwrap();
        assert_eq!((p.status, p.code, p.retry_after), (429, ErrorCode::RateLimited, Some(1)), "{err}");
        assert!(inbox.new_mail().await.is_empty());
        srv.advance(1);
        let sent = srv.client.send_sign_in_email_code(&flow).await.unwrap();
        assert_eq!(sent.sent_to, "al***@example.com");
        let second = inbox.code(SIGN_IN).await;
        if first != second {
            let err = with_email_code(&srv, &flow, &first).await.unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        }
        with_email_code(&srv, &flow, &second).await.unwrap();
    }

    async fn wrong_email_codes_count_towards_the_lockout(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, flow, code) = at_second_step(&srv, &mut inbox).await;
        five_wrong_codes(&srv, &flow, &code).await;
        // Locked: the right code is refused too, and the user was told.
        let err = with_email_code(&srv, &flow, &code).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::TooManyAttempts), "{err}");
        let mail = inbox.new_mail().await;
        assert!(mail.iter().any(|m| m.subject == "Someone failed your second sign-in step"), "{mail:?}");
        // The same events, in the same shape, as an app's wrong codes record.
        let user = srv.twofold.store().user_by_login(&org, "alice").await.unwrap().unwrap();
        let events = srv.twofold.store().audit_events(&user.org_id, None, 50).await.unwrap();
        let details = |name: &str| -> Vec<serde_json::Value> {
            events.iter().filter(|e| e.event == name).map(|e| serde_json::from_str(&e.details).unwrap()).collect()
        };
        assert_eq!(details("mfa.locked"), [serde_json::json!({"attempt": 5, "locked_for_secs": 60})]);
        assert_eq!(
            details("mfa.failed").last(),
            Some(&serde_json::json!({"attempt": 1, "reason": "invalid_code", "method": "email"}))
        );
        // A malformed code is a bad request, not an attempt.
        let err = with_email_code(&srv, &flow, "12345").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidRequest), "{err}");
    }
}

fn lenient_lockout(c: &mut Config) {
    c.security.lockout_threshold = 20;
}

each_engine! {
    async fn five_wrong_tries_use_an_email_code_up(engine: Engine) {
        let (sink, srv) = server(engine, lenient_lockout).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (_, flow, code) = at_second_step(&srv, &mut inbox).await;
        five_wrong_codes(&srv, &flow, &code).await;
        let err = with_email_code(&srv, &flow, &code).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::CodeExpired), "{err}");
        // A new one works.
        srv.advance(30);
        srv.client.send_sign_in_email_code(&flow).await.unwrap();
        let code = inbox.code(SIGN_IN).await;
        with_email_code(&srv, &flow, &code).await.unwrap();
    }

    async fn one_email_code_sent_twice_at_once_signs_in_once(engine: Engine) {
        let (sink, srv) = server(engine, lenient_lockout).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, _, _) = with_email(&srv, &mut inbox).await;
        let (a, ..) = login(&srv, &org).await;
        let code = inbox.code(SIGN_IN).await;
        // Further sign-ins within 30 s mail nothing; the code works for any of them.
        let (b, ..) = login(&srv, &org).await;
        let (c, ..) = login(&srv, &org).await;
        let answers = futures_util::future::join_all(
            [&a, &b, &c].map(|f| with_email_code(&srv, f, &code)),
        )
        .await;
        assert_eq!(answers.iter().filter(|r| r.is_ok()).count(), 1, "{answers:?}");
        // Each loser found the code used: a wrong code, counted.
        for lost in answers.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(lost.code(), Some(ErrorCode::InvalidCode), "{lost}");
        }
        assert!(inbox.new_mail().await.is_empty());
    }
}

each_engine! {
    async fn the_code_is_stored_only_as_a_keyed_hash_that_the_database_cannot_reverse(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, _, _) = with_email(&srv, &mut inbox).await;
        login(&srv, &org).await;
        let code = inbox.code(SIGN_IN).await;
        let user = srv.twofold.store().user_by_login(&org, "alice").await.unwrap().unwrap();
        let row = srv.twofold.store().confirmation(&user.id, "email_signin").await.unwrap().unwrap();
        assert_eq!(row.code_hash.len(), 32);
        assert_eq!(row.salt.len(), 16);
        assert!(!row.code_hash.windows(6).any(|w| w == code.as_bytes()));
        // Whoever copies the database cannot try the 10⁶ codes against it: it is an HMAC
        // under a key the database does not hold, not a salted SHA-256.
        use sha2::Digest;
        let found = (0..1_000_000u32).find(|n| {
            let mut h = sha2::Sha256::new();
            h.update(&row.salt);
            h.update(format!("{n:06}").as_bytes());
            h.finalize().as_slice() == row.code_hash.as_slice()
        });
        assert_eq!(found, None, "a salted SHA-256 gives the code {code} away");
        assert_eq!(row.attempts_left, 5);
        assert_eq!(row.expires_at - row.created_at, 300_000);
    }

    async fn another_method_may_be_chosen_for_one_sign_in(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        // alice has an authenticator app first, then adds email from a fresh session.
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let app = srv.first_app(&s, Some("Phone"), "alice@example.com").await;
        let totp = twofold_otp::Totp::new(
            twofold_otp::Secret::from_base32(&app.secret).unwrap(),
            twofold_otp::TotpParams::default(),
        )
        .unwrap();
        s.activate_factor(&app.id, &totp.generate_at(srv.now_secs())).await.unwrap();
        // The password-only session cannot add email now that she has a factor.
        let err = s.enroll_email(None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::StepUpRequired), "{err}");
        srv.advance(30);
        let (flow, methods, preferred, sent_to) = login(&srv, &org).await;
        assert_eq!((methods, preferred, sent_to), (vec![Method::Totp], Method::Totp, None));
        let strong = srv.client.with_token(token(&srv.submit(&flow, &totp.generate_at(srv.now_secs())).await.unwrap()));
        let e = strong.enroll_email(None).await.unwrap();
        strong.activate_factor(&e.id, &inbox.code(SET_UP).await).await.unwrap();
        inbox.new_mail().await;

        // The app is preferred (the oldest): no mail at the password step, but email may
        // be chosen for this sign-in.
        let (flow, methods, preferred, sent_to) = login(&srv, &org).await;
        assert_eq!((methods, preferred, sent_to), (vec![Method::Totp, Method::Email], Method::Totp, None));
        assert!(inbox.new_mail().await.is_empty());
        srv.client.send_sign_in_email_code(&flow).await.unwrap();
        with_email_code(&srv, &flow, &inbox.code(SIGN_IN).await).await.unwrap();

        // Email preferred: mailed at once, and the app may be chosen instead.
        strong.prefer_factor(&e.id).await.unwrap();
        srv.advance(30);
        let (flow, _, preferred, sent_to) = login(&srv, &org).await;
        assert_eq!((preferred, sent_to.as_deref()), (Method::Email, Some("al***@example.com")));
        inbox.code(SIGN_IN).await;
        srv.submit(&flow, &totp.generate_at(srv.now_secs())).await.unwrap();
    }

    async fn email_as_a_method_needs_an_email_factor(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let err = srv.client.send_sign_in_email_code(&flow).await.unwrap_err();
        assert_eq!((err.problem().map(|p| p.status), err.code()), (Some(400), Some(ErrorCode::MethodNotAvailable)), "{err}");
        let err = with_email_code(&srv, &flow, "123456").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::MethodNotAvailable), "{err}");
        let err = u.session.send_step_up_email_code().await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::MethodNotAvailable), "{err}");
        let err = srv.client.send_sign_in_email_code("tff_nonsense").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::FlowExpired), "{err}");
        // A pending email factor is not a method yet.
        let strong = srv.strong_session(&u).await;
        strong.enroll_email(None).await.unwrap();
        let flow = srv.flow(&u).await;
        let err = srv.client.send_sign_in_email_code(&flow).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::MethodNotAvailable), "{err}");
        drop(sink);
    }

    async fn enrolling_again_while_pending_mails_a_new_code_and_once_active_is_refused(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let first = s.enroll_email(None).await.unwrap();
        let old = inbox.code(SET_UP).await;
        let err = s.enroll_email(None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
        srv.advance(30);
        let again = s.enroll_email(None).await.unwrap();
        assert_eq!(again.id, first.id, "the same pending factor");
        let new = inbox.code(SET_UP).await;
        if old != new {
            let err = s.activate_factor(&first.id, &old).await.unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        }
        s.activate_factor(&first.id, &new).await.unwrap();
        let strong = email_session(&srv, &mut inbox, &org).await;
        let err = strong.enroll_email(None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Conflict), "{err}");
        // No QR code, no regeneration.
        let err = s.factor_qr_png(&first.id).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Conflict), "{err}");
        let err = s.regenerate_factor(&first.id).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Conflict), "{err}");
    }

    async fn a_mailed_code_steps_up_and_removes_the_email_factor(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, s, id) = with_email(&srv, &mut inbox).await;
        inbox.new_mail().await;
        let strong = email_session(&srv, &mut inbox, &org).await;
        // Step-up with a mailed code.
        let sent = strong.send_step_up_email_code().await.unwrap();
        assert_eq!(sent.sent_to, "al***@example.com");
        let code = inbox.code(STEP_UP).await;
        let step_up = |code: &str| StepUpRequest {
            method: Method::Email,
            code: code.into(),
            scopes: vec!["wallet:export".into()],
            single_use: None,
            credential: None,
        };
        let err = strong.step_up(&step_up(&other_than(&code))).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        let t = strong.step_up(&step_up(&code)).await.unwrap();
        assert_eq!(t.scopes, ["wallet:export"]);
        let err = strong.step_up(&step_up(&code)).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        // A sign-in code does not step up, nor a step-up code sign in.
        srv.advance(30);
        let (flow, ..) = login(&srv, &org).await;
        let sign_in = inbox.code(SIGN_IN).await;
        let err = strong.step_up(&step_up(&sign_in)).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        strong.send_step_up_email_code().await.unwrap();
        let code = inbox.code(STEP_UP).await;
        if code != sign_in {
            let err = with_email_code(&srv, &flow, &code).await.unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        }

        // Removing it: a code is needed (or an elevated token); the step-up code is one,
        // from the session it was mailed for.
        let err = strong.delete_factor(&id, None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidRequest), "{err}");
        let err = s.delete_factor(&id, Some(&code)).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        strong.delete_factor(&id, Some(&code)).await.unwrap();
        assert!(s.factors().await.unwrap().is_empty());
        let mail = inbox.new_mail().await;
        assert!(mail.iter().any(|m| m.subject == "A second factor was removed from your account"), "{mail:?}");
        // The session that passed it is aal 1 now; signing in needs the password only.
        assert_eq!(strong.me().await.unwrap().session.aal, 1);
        let r = srv.client.login(&org, "alice", PASSWORD).await.unwrap();
        assert!(matches!(r, LoginResponse::Authenticated { .. }), "{r:?}");
    }

    async fn the_last_factor_stays_when_it_is_email(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, s, id) = with_email(&srv, &mut inbox).await;
        srv.admin_in(&org, "root").await.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap();
        let err = s.delete_factor(&id, Some("123456")).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::LastFactor), "{err}");
        assert_eq!(s.factors().await.unwrap().len(), 1);
    }

    async fn a_user_who_must_enrol_may_choose_email(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, _) = srv.user(Role::Member).await;
        srv.admin_in(&org, "root").await.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap();
        let flow = match srv.client.login(&org, "alice", PASSWORD).await.unwrap() {
            LoginResponse::EnrollmentRequired { flow_token, .. } => flow_token,
            other => panic!("expected enrollment_required, got {other:?}"),
        };
        let e = srv.client.enroll_email_in_flow(&flow, None).await.unwrap();
        assert_eq!(e.sent_to, "al***@example.com");
        let code = inbox.code(SET_UP).await;
        let err = srv.client.activate_in_flow(&flow, &e.id, &other_than(&code)).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        let done = srv.client.activate_in_flow(&flow, &e.id, &code).await.unwrap();
        let s = srv.client.with_token(token(&done));
        let me = s.me().await.unwrap();
        assert_eq!((me.session.aal, me.session.amr), (2, vec!["pwd".into(), "otp".into(), "email".into()]));
        assert_eq!(s.factors().await.unwrap()[0].status, twofold_proto::FactorStatus::Active);
        // The flow is over.
        let err = srv.client.enroll_in_flow(&flow, None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::FlowExpired), "{err}");
    }

    async fn a_code_is_for_the_sign_in_or_session_it_was_mailed_for(engine: Engine) {
        let (sink, srv) = server(engine, lenient_lockout).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, _, _) = with_email(&srv, &mut inbox).await;
        let (a, ..) = login(&srv, &org).await;
        let code = inbox.code(SIGN_IN).await;
        // A second sign-in within 30 s mails nothing: the code moves to it.
        let (b, _, _, sent_to) = login(&srv, &org).await;
        assert_eq!(sent_to.as_deref(), Some("al***@example.com"));
        assert!(inbox.new_mail().await.is_empty());
        let err = srv.client.send_sign_in_email_code(&a).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
        // The first sign-in's tries neither succeed nor use up the code's five.
        for _ in 0..6 {
            let err = with_email_code(&srv, &a, &code).await.unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        }
        let strong = srv.client.with_token(token(&with_email_code(&srv, &b, &code).await.unwrap()));
        // A step-up code is for the session that asked for it.
        let other = email_session(&srv, &mut inbox, &org).await;
        strong.send_step_up_email_code().await.unwrap();
        let code = inbox.code(STEP_UP).await;
        let step_up = StepUpRequest {
            method: Method::Email,
            code: code.clone(),
            scopes: vec!["mfa:manage".into()],
            single_use: None,
            credential: None,
        };
        let err = other.step_up(&step_up).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidCode), "{err}");
        strong.step_up(&step_up).await.unwrap();
    }

    async fn a_locked_user_is_mailed_no_code(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, flow, code) = at_second_step(&srv, &mut inbox).await;
        for _ in 0..5 {
            let e = with_email_code(&srv, &flow, &other_than(&code)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        inbox.new_mail().await;
        srv.advance(30);
        let (flow, _, preferred, sent_to) = login(&srv, &org).await;
        assert_eq!((preferred, sent_to), (Method::Email, None));
        let err = srv.client.send_sign_in_email_code(&flow).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::TooManyAttempts), "{err}");
        assert!(inbox.new_mail().await.is_empty());
        // Once the lock ends, a code is mailed again.
        srv.advance(31);
        srv.client.send_sign_in_email_code(&flow).await.unwrap();
        with_email_code(&srv, &flow, &inbox.code(SIGN_IN).await).await.unwrap();
    }

    async fn an_app_code_from_a_user_without_an_app_is_not_counted(engine: Engine) {
        let (sink, srv) = server(engine, |_| {}).await;
        let mut inbox = Inbox::new(&srv, &sink);
        let (org, s, _) = with_email(&srv, &mut inbox).await;
        let (flow, ..) = login(&srv, &org).await;
        let code = inbox.code(SIGN_IN).await;
        for _ in 0..6 {
            let err = srv.submit(&flow, "123456").await.unwrap_err();
            assert_eq!((err.problem().map(|p| p.status), err.code()), (Some(400), Some(ErrorCode::MethodNotAvailable)), "{err}");
        }
        let err = s.step_up(&StepUpRequest {
            method: Method::Totp,
            code: "123456".into(),
            scopes: vec!["mfa:manage".into()],
            single_use: None,
            credential: None,
        }).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::MethodNotAvailable), "{err}");
        // None of that counted: the mailed code still signs in.
        with_email_code(&srv, &flow, &code).await.unwrap();
    }
}
