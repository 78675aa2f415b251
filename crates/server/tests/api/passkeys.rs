//! Passkeys (WebAuthn) through the API, answered by a software authenticator
//! (`webauthn-authenticator-rs`'s soft passkey: a real WebAuthn client and authenticator,
//! signing with its own keys): registration (guarded like any factor), sign-in, step-up,
//! a guarded change, and each way an answer is refused — another origin, another relying
//! party, a replay, a counter that goes backwards, another user's credential.

use serde_json::{Value, json};
use twofold_client::{Client, PasskeyStart};
use twofold_proto::{
    BeginPasskeyRequest, ErrorCode, Factor, FactorType, LoginResponse, Method, MfaRequest,
    StepUpRequest,
};
use twofold_server::Config;
use twofold_server::config::PublicUrl;
use twofold_server::domain::users::Role;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse};

use crate::harness::{Enrolled, PASSWORD, TestServer, both_engines_with, token};

/// Twofold's public URL in these tests: the relying party is `mfa.example.com`. Nobody
/// connects to it; it is what the authenticator signs for and the server checks.
const ORIGIN: &str = "https://mfa.example.com";

fn at_public_url(c: &mut Config) {
    c.public_url = Some(PublicUrl::parse(ORIGIN).unwrap());
}

type Key = WebauthnAuthenticator<SoftPasskey>;

/// A new authenticator that verifies its user.
fn new_key() -> Key {
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

/// Registers a passkey from `key` for `session`'s user (who may add a factor now).
async fn register(session: &Client, key: &mut Key, name: &str) -> (Factor, String) {
    let options = match session
        .begin_passkey(&BeginPasskeyRequest {
            name: Some(name.into()),
            confirmation_code: None,
        })
        .await
        .unwrap()
    {
        PasskeyStart::Options(o) => o,
        other => panic!("expected options, got {other:?}"),
    };
    let creation: CreationChallengeResponse =
        serde_json::from_value(json!({ "publicKey": options.public_key })).unwrap();
    let answer = key.do_registration(origin(), creation).unwrap();
    let credential_id = answer.id.clone();
    let f = session
        .finish_passkey(serde_json::to_value(&answer).unwrap())
        .await
        .unwrap();
    (f, credential_id)
}

fn request_of(options: twofold_proto::WebauthnOptions) -> RequestChallengeResponse {
    serde_json::from_value(json!({ "publicKey": options.public_key })).unwrap()
}

/// `key`'s answer to `options`, made at `at` (an origin).
fn answer(key: &mut Key, options: RequestChallengeResponse, at: &str) -> Value {
    let a: PublicKeyCredential = key
        .do_authentication(Url::parse(at).unwrap(), options)
        .unwrap();
    serde_json::to_value(&a).unwrap()
}

/// Starts a sign-in of `u` (password right): the flow token and the methods offered.
async fn flow_of(srv: &TestServer, org: &str, user: &str) -> (String, Vec<Method>, Method) {
    match srv.client.login(org, user, PASSWORD).await.unwrap() {
        LoginResponse::MfaRequired {
            flow_token,
            methods,
            preferred,
            ..
        } => (flow_token, methods, preferred),
        other => panic!("expected mfa_required, got {other:?}"),
    }
}

fn with_passkey(flow: &str, credential: Value) -> MfaRequest {
    MfaRequest {
        flow_token: flow.into(),
        method: Method::Webauthn,
        code: String::new(),
        remember_device: None,
        credential: Some(credential),
    }
}

fn step_up_with(credential: Value) -> StepUpRequest {
    StepUpRequest {
        method: Method::Webauthn,
        code: String::new(),
        scopes: vec!["mfa:manage".into()],
        single_use: None,
        credential: Some(credential),
    }
}

/// An enrolled user (an authenticator app) whose session passed it just now, with a
/// passkey registered from `key`.
async fn with_passkey_registered(srv: &TestServer, key: &mut Key) -> (Enrolled, Factor, String) {
    let u = srv.enrolled().await;
    u.session
        .pass_second_factor(Method::Totp, &u.code(srv, 0))
        .await
        .unwrap();
    let (f, id) = register(&u.session, key, "YubiKey").await;
    (u, f, id)
}

/// The audit events of `user`'s organisation, newest first.
async fn events_of(
    srv: &TestServer,
    org: &str,
    user: &str,
) -> Vec<twofold_server::store::AuditRow> {
    let org_id = srv
        .twofold
        .store()
        .user_by_login(org, user)
        .await
        .unwrap()
        .unwrap()
        .org_id;
    srv.twofold
        .store()
        .audit_events(&org_id, None, 200)
        .await
        .unwrap()
}

both_engines_with! { at_public_url;
    async fn a_passkey_is_registered_guarded_like_any_factor(srv: TestServer) {
        let u = srv.enrolled().await;
        // The password-only session may not add one to an account with a factor...
        let e = u.session.begin_passkey(&BeginPasskeyRequest::default()).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        // ...until it passes the app.
        u.session.pass_second_factor(Method::Totp, &u.code(&srv, 0)).await.unwrap();
        let mut key = new_key();
        let (f, _) = register(&u.session, &mut key, "YubiKey").await;
        assert_eq!(f.factor_type, FactorType::Webauthn);
        assert_eq!(f.name, "YubiKey");
        assert_eq!(f.status, twofold_proto::FactorStatus::Active);
        let details = f.passkey.clone().unwrap();
        assert!(!details.possibly_cloned);
        assert_eq!(details.authenticator, "unknown", "the soft key reports no transport");
        let listed = u.session.factors().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|l| l.id == f.id && l.last_used_at.is_none()));
        // Mailed and audited like any new factor.
        assert_eq!(srv.mails_to(&format!("{}@example.com", u.username), "added").await.len(), 2);
        // The same authenticator is not registered twice (the options exclude it; a
        // registration that ignores that is refused).
        let PasskeyStart::Options(o) = u.session.begin_passkey(&BeginPasskeyRequest::default()).await.unwrap() else { panic!() };
        // No credProtect request (Chromium refuses it beside preferred verification).
        assert!(o.public_key["extensions"].get("credentialProtectionPolicy").is_none(), "{}", o.public_key);
        assert_eq!(o.public_key["authenticatorSelection"]["userVerification"], "preferred");
        let excluded = &o.public_key["excludeCredentials"];
        assert_eq!(excluded.as_array().unwrap().len(), 1, "{excluded}");
        // A registration answered without a ceremony waiting is refused.
        let mut other = new_key();
        let creation: CreationChallengeResponse = serde_json::from_value(json!({ "publicKey": o.public_key })).unwrap();
        let reg = other.do_registration(origin(), creation).unwrap();
        let reg = serde_json::to_value(&reg).unwrap();
        u.session.finish_passkey(reg.clone()).await.unwrap();
        let e = u.session.finish_passkey(reg).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::ChallengeExpired), "{e}");
        // Renamed.
        let renamed = u.session.rename_factor(&f.id, " Blue key ").await.unwrap();
        assert_eq!(renamed.name, "Blue key");
        let e = u.session.rename_factor(&f.id, "").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
    }

    async fn a_first_passkey_waits_for_a_mailed_code(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let session = srv.session(&org, &user).await;
        let started = session.begin_passkey(&BeginPasskeyRequest::default()).await.unwrap();
        assert!(matches!(started, PasskeyStart::ConfirmationRequired(_)), "{started:?}");
        let code = srv.mailed_code("alice@example.com", "add a passkey").await;
        let PasskeyStart::Options(o) = session
            .begin_passkey(&BeginPasskeyRequest { name: None, confirmation_code: Some(code) })
            .await
            .unwrap()
        else {
            panic!("expected options")
        };
        let mut key = new_key();
        let creation: CreationChallengeResponse = serde_json::from_value(json!({ "publicKey": o.public_key })).unwrap();
        let reg = key.do_registration(origin(), creation).unwrap();
        let f = session.finish_passkey(serde_json::to_value(&reg).unwrap()).await.unwrap();
        assert_eq!(f.name, "Passkey");
        // The only factor: it is what a sign-in asks for, and the preferred method.
        let (flow, methods, preferred) = flow_of(&srv, &org, &user).await;
        assert_eq!(methods, [Method::Webauthn]);
        assert_eq!(preferred, Method::Webauthn);
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let done = srv.client.mfa(&with_passkey(&flow, answer(&mut key, request_of(o), ORIGIN))).await.unwrap();
        let me = srv.client.with_token(token(&done)).me().await.unwrap();
        assert_eq!(me.session.aal, 2);
        // User verification is preferred, not required: this key proves possession only
        // (one that verified its user would add `user`).
        assert_eq!(me.session.amr, ["pwd", "hwk"]);
    }

    async fn a_passkey_signs_in_steps_up_and_guards_a_change(srv: TestServer) {
        let mut key = new_key();
        let (u, f, _) = with_passkey_registered(&srv, &mut key).await;
        let (flow, methods, preferred) = flow_of(&srv, &u.org, &u.username).await;
        assert_eq!(methods, [Method::Totp, Method::Webauthn]);
        assert_eq!(preferred, Method::Totp);
        // A passkey's answer is refused without the options (no ceremony waits).
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        assert_eq!(o.public_key["rpId"], "mfa.example.com");
        assert_eq!(o.public_key["userVerification"], "preferred");
        let done = srv.client.mfa(&with_passkey(&flow, answer(&mut key, request_of(o), ORIGIN))).await.unwrap();
        let session = srv.client.with_token(token(&done));
        assert_eq!(session.me().await.unwrap().session.amr, ["pwd", "hwk"]);
        let listed = session.factors().await.unwrap();
        assert!(listed.iter().any(|l| l.id == f.id && l.last_used_at.is_some()));
        // Step-up: an elevated token; the same answer again is a replay, refused.
        let o = session.passkey_session_options().await.unwrap();
        let a = answer(&mut key, request_of(o), ORIGIN);
        let t = session.step_up(&step_up_with(a.clone())).await.unwrap();
        assert_eq!(t.scopes, ["mfa:manage"]);
        let e = session.step_up(&step_up_with(a)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::ChallengeExpired), "{e}");
        // The elevated token guards a change: the passkey can be preferred.
        let preferred = session.with_elevated(&t.elevated_token).prefer_factor(&f.id).await.unwrap();
        assert!(preferred.preferred);
        let (_, _, now_preferred) = flow_of(&srv, &u.org, &u.username).await;
        assert_eq!(now_preferred, Method::Webauthn);
        // A session raised with it counts as a fresh second factor (removing the app).
        let (org, user) = (u.org.clone(), u.username.clone());
        srv.advance(601);
        let plain = {
            let (flow, ..) = flow_of(&srv, &org, &user).await;
            let done = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
            srv.client.with_token(token(&done))
        };
        srv.advance(601);
        let e = plain.delete_factor(&f.id, None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "an old session removes no passkey: {e}");
        let o = plain.passkey_session_options().await.unwrap();
        plain.pass_second_factor_with_passkey(answer(&mut key, request_of(o), ORIGIN)).await.unwrap();
        plain.delete_factor(&u.factor_id, None).await.unwrap_err();
        plain.delete_factor(&f.id, None).await.unwrap();
        let left = plain.factors().await.unwrap();
        assert_eq!(left.len(), 1);
        let user_id = srv.twofold.store().user_by_login(&org, &user).await.unwrap().unwrap().id;
        assert!(srv.twofold.store().passkeys_of_user(&user_id).await.unwrap().is_empty());
        assert_eq!(srv.mails_to(&format!("{user}@example.com"), "removed").await.len(), 1);
    }

    async fn answers_from_elsewhere_are_refused(srv: TestServer) {
        let mut key = new_key();
        let (u, ..) = with_passkey_registered(&srv, &mut key).await;
        let (flow, ..) = flow_of(&srv, &u.org, &u.username).await;
        // Another origin (a look-alike subdomain): the signature is good, the origin not.
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let a = answer(&mut key, request_of(o), "https://login.mfa.example.com");
        let e = srv.client.mfa(&with_passkey(&flow, a)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::PasskeyRefused), "{e}");
        assert!(e.to_string().contains("origin"), "{e}");
        // Another relying party (the parent domain), from the right origin.
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let mut other_rp = request_of(o);
        other_rp.public_key.rp_id = "example.com".into();
        let a = answer(&mut key, other_rp, ORIGIN);
        let e = srv.client.mfa(&with_passkey(&flow, a)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::PasskeyRefused), "{e}");
        assert!(e.to_string().contains("relying party"), "{e}");
        // A malformed answer, and an answer where a code is expected.
        let e = srv.client.mfa(&with_passkey(&flow, json!({"id": 1}))).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        let mut wrong = with_passkey(&flow, json!({}));
        wrong.method = Method::Totp;
        let e = srv.client.mfa(&wrong).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        // Each refusal counted towards the lockout like a wrong code (malformed requests
        // are not attempts): a third, a replay of it and a fifth lock it.
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let a = answer(&mut key, request_of(o), "https://login.mfa.example.com");
        srv.client.mfa(&with_passkey(&flow, a.clone())).await.unwrap_err();
        let e = srv.client.mfa(&with_passkey(&flow, a)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::ChallengeExpired), "{e}");
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let a = answer(&mut key, request_of(o), "https://login.mfa.example.com");
        srv.client.mfa(&with_passkey(&flow, a)).await.unwrap_err();
        let e = srv.client.passkey_sign_in_options(&flow).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
        let events = events_of(&srv, &u.org, &u.username).await;
        let failed = events.iter().filter(|e| e.event == "mfa.failed" && e.details.contains("webauthn")).count();
        assert!(failed >= 4, "{failed} passkey failures audited");
    }

    async fn another_users_passkey_is_refused(srv: TestServer) {
        let mut alices = new_key();
        let (_alice, _, alices_id) = with_passkey_registered(&srv, &mut alices).await;
        let mut bobs = new_key();
        let (bob, ..) = with_passkey_registered(&srv, &mut bobs).await;
        let (flow, ..) = flow_of(&srv, &bob.org, &bob.username).await;
        // Bob's sign-in, answered by Alice's authenticator with her credential.
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let mut request = o.public_key.clone();
        request["allowCredentials"] = json!([{"type": "public-key", "id": alices_id}]);
        let forged: RequestChallengeResponse = serde_json::from_value(json!({ "publicKey": request })).unwrap();
        let a = answer(&mut alices, forged, ORIGIN);
        let e = srv.client.mfa(&with_passkey(&flow, a)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::PasskeyRefused), "{e}");
        assert!(e.to_string().contains("not one of this account's"), "{e}");
    }

    async fn a_counter_going_backwards_marks_the_passkey_as_cloned(srv: TestServer) {
        let mut key = new_key();
        let (u, f, _) = with_passkey_registered(&srv, &mut key).await;
        // Two sign-ins asked at once; the authenticator answers both (counters 1 and 2),
        // and the later answer is used first: the earlier one's counter is then behind,
        // as a copy of the key would be.
        let (first, ..) = flow_of(&srv, &u.org, &u.username).await;
        let (second, ..) = flow_of(&srv, &u.org, &u.username).await;
        let o1 = srv.client.passkey_sign_in_options(&first).await.unwrap();
        let o2 = srv.client.passkey_sign_in_options(&second).await.unwrap();
        let behind = answer(&mut key, request_of(o1), ORIGIN);
        let ahead = answer(&mut key, request_of(o2), ORIGIN);
        srv.client.mfa(&with_passkey(&second, ahead)).await.unwrap();
        let e = srv.client.mfa(&with_passkey(&first, behind)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::PasskeyCloned), "{e}");
        // Marked, audited, mailed; refused from now on (no request offers it).
        let listed = u.session.factors().await.unwrap();
        let marked = listed.iter().find(|l| l.id == f.id).unwrap();
        assert!(marked.passkey.as_ref().unwrap().possibly_cloned);
        let events = events_of(&srv, &u.org, &u.username).await;
        assert!(events.iter().any(|e| e.event == "factor.possibly_cloned"), "audited");
        let mails = srv.mails_to(&format!("{}@example.com", u.username), "copied").await;
        assert_eq!(mails.len(), 1);
        let (third, ..) = flow_of(&srv, &u.org, &u.username).await;
        let e = srv.client.passkey_sign_in_options(&third).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::MethodNotAvailable), "{e}");
        // The app still signs in.
        srv.advance(30);
        srv.submit(&third, &u.code(&srv, 0)).await.unwrap();
    }

    async fn the_last_factor_rule_and_an_mfa_reset_cover_passkeys(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let session = srv.session(&org, &user).await;
        let started = session.begin_passkey(&BeginPasskeyRequest::default()).await.unwrap();
        assert!(matches!(started, PasskeyStart::ConfirmationRequired(_)));
        let code = srv.mailed_code("alice@example.com", "add a passkey").await;
        let PasskeyStart::Options(o) = session
            .begin_passkey(&BeginPasskeyRequest { name: None, confirmation_code: Some(code) })
            .await
            .unwrap()
        else {
            panic!()
        };
        let mut key = new_key();
        let creation: CreationChallengeResponse = serde_json::from_value(json!({ "publicKey": o.public_key })).unwrap();
        let reg = key.do_registration(origin(), creation).unwrap();
        let f = session.finish_passkey(serde_json::to_value(&reg).unwrap()).await.unwrap();
        let admin = srv.admin_in(&org, "root").await;
        admin.set_mfa_policy(&org, &crate::harness::require_mfa(false, None)).await.unwrap();
        // A fresh session (the passkey passed now) still may not remove the last factor.
        let o = session.passkey_session_options().await.unwrap();
        session.pass_second_factor_with_passkey(answer(&mut key, request_of(o), ORIGIN)).await.unwrap();
        let e = session.delete_factor(&f.id, None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::LastFactor), "{e}");
        // An admin's MFA reset removes it, credential and all.
        let alice_id = srv.twofold.store().user_by_login(&org, &user).await.unwrap().unwrap().id;
        admin.reset_user_mfa(&org, &alice_id).await.unwrap();
        assert!(srv.twofold.store().passkeys_of_user(&alice_id).await.unwrap().is_empty());
        assert!(srv.twofold.store().factors_of_user(&alice_id).await.unwrap().is_empty());
    }

    async fn a_request_asked_of_one_server_is_answered_at_another(srv: TestServer) {
        let mut key = new_key();
        let (u, ..) = with_passkey_registered(&srv, &mut key).await;
        let other = srv.sibling().await;
        let (flow, ..) = flow_of(&srv, &u.org, &u.username).await;
        let o = srv.client.passkey_sign_in_options(&flow).await.unwrap();
        let a = answer(&mut key, request_of(o), ORIGIN);
        // The ceremony lives in the database: the other server finishes it, once.
        other.client.mfa(&with_passkey(&flow, a.clone())).await.unwrap();
        let e = srv.client.mfa(&with_passkey(&flow, a)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::FlowExpired), "{e}");
    }
}
