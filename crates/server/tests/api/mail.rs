//! Mail over real SMTP: every message reaches a real SMTP server process (aiosmtpd) over
//! STARTTLS with AUTH, or implicit TLS; a certificate from an unknown CA is refused; a
//! greylisting server gets the message on a retry; a server that is down never fails or
//! loses the action that mailed.

use std::time::Duration;

use twofold_proto::ErrorCode;
use twofold_server::domain::users::Role;
use twofold_server::mail::Retry;

use crate::harness::{Engine, TestServer, disable_mfa, each_engine, require_mfa, token};
use crate::mailbox::{Received, SinkOptions, SinkTls, SmtpSink};

/// Quick retries, so a test waiting for the queue to drain does not wait minutes.
pub(crate) fn quick_retry(attempts: u32) -> Retry {
    Retry {
        attempts,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
    }
}

/// A server on `engine` whose mail goes to `sink`.
async fn mailing_to(engine: Engine, sink: &SmtpSink) -> TestServer {
    let smtp = sink.smtp_config();
    let mut srv = TestServer::start_with(engine, |c| {
        c.mail.smtp = Some(smtp);
        c.mail.from = "Acme Security <security@acme.example>".into();
        c.mail.retry = quick_retry(3);
    })
    .await;
    srv.mail_dir = Some(sink.out_dir());
    srv
}

/// What every message must look like when it arrives.
fn assert_delivered_as_configured(m: &Received, sink: &SmtpSink) {
    assert_eq!(m.from, "security@acme.example", "{m:?}");
    assert_eq!(m.envelope["rcpt_tos"], serde_json::json!([m.to]), "{m:?}");
    assert_eq!(m.envelope["mail_from"], "security@acme.example", "{m:?}");
    assert_eq!(
        m.envelope["tls"],
        sink.options.tls != SinkTls::None,
        "{m:?}"
    );
    if let Some((user, _)) = sink.options.auth {
        assert_eq!(m.envelope["auth_login"], user, "{m:?}");
    }
    assert!(
        !m.text.trim().is_empty() && !m.html.trim().is_empty(),
        "{m:?}"
    );
}

each_engine! {
    async fn every_mail_reaches_a_real_smtp_server_over_starttls_with_auth(engine: Engine) {
        let sink = SmtpSink::start(SinkOptions::default());
        let srv = mailing_to(engine, &sink).await;

        // The code before a first app and a factor added (alice enrols), her second step
        // locked, a factor removed.
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        srv.lock_out(&u).await;
        let alice_id = u.session.me().await.unwrap().id;
        admin.unlock_user(&u.org, &alice_id).await.unwrap();
        let flow = srv.flow(&u).await;
        let s = srv.client.with_token(token(&srv.submit(&flow, &u.code(&srv, 0)).await.unwrap()));
        srv.advance(30);
        s.delete_factor(&u.factor_id, Some(&u.code(&srv, 0))).await.unwrap();
        // The code that turns MFA off, read from the SMTP server and used.
        admin.set_mfa_policy(&u.org, &require_mfa(false, None)).await.unwrap();
        admin.request_mfa_disable(&u.org).await.unwrap();
        srv.twofold.mailer().idle().await;
        let code = sink
            .received()
            .iter()
            .find(|m| m.subject == "Your code to turn off MFA")
            .expect("the code was not delivered")
            .code();
        let off = admin
            .set_mfa_policy(&u.org, &disable_mfa(&code))
            .await
            .unwrap();
        assert!(!off.policy.required);
        // An MFA reset notice.
        admin.reset_user_mfa(&u.org, &alice_id).await.unwrap();

        srv.twofold.mailer().idle().await;
        let got = sink.received();
        // Deliveries overlap, so they may arrive in another order than they were sent.
        let mut seen: Vec<(&str, &str)> = got.iter().map(|m| (m.to.as_str(), m.subject.as_str())).collect();
        seen.sort();
        assert_eq!(seen, [
            ("alice@example.com", "A second factor was added to your account"),
            ("alice@example.com", "A second factor was removed from your account"),
            ("alice@example.com", "Someone failed your second sign-in step"),
            ("alice@example.com", "Your code to add an authenticator app"),
            ("alice@example.com", "Your two-step sign-in was reset"),
            ("root@example.com", "A second factor was added to your account"),
            ("root@example.com", "Your code to add an authenticator app"),
            ("root@example.com", "Your code to turn off MFA"),
        ]);
        for m in &got {
            assert_delivered_as_configured(m, &sink);
        }
        // The lock notice says when and from where, in both parts.
        let lock = got.iter().find(|m| m.subject.contains("failed your second")).unwrap();
        assert!(lock.text.contains("from 127.0.0.1"), "{lock:?}");
        assert!(lock.html.contains("from 127.0.0.1"), "{lock:?}");
        assert!(lock.text.contains("2027-01-15T08:00"), "{lock:?}");
        // Nothing went to the outbox.
        assert!(crate::mailbox::read_dir(srv.twofold.mailer().outbox_dir()).is_empty());
    }

    async fn a_greylisted_message_is_delivered_on_a_later_attempt(engine: Engine) {
        let sink = SmtpSink::start(SinkOptions { greylist: 2, ..SinkOptions::default() });
        let srv = mailing_to(engine, &sink).await;
        let u = srv.enrolled().await;
        srv.twofold.mailer().idle().await;
        let got = sink.received();
        assert_eq!(got.len(), 2, "the code, then the factor added: {got:?}");
        assert!(got.iter().all(|m| m.to == "alice@example.com"), "{got:?}");
        assert!(u.session.factors().await.unwrap().iter().any(|f| f.id == u.factor_id));
    }

    async fn with_the_smtp_server_down_the_policy_change_still_happens(engine: Engine) {
        // A port nobody listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut srv = TestServer::start_with(engine, |c| {
            c.mail.smtp = Some(twofold_server::config::SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                security: twofold_server::config::SmtpSecurity::None,
                username: None,
                password: None,
                ca_pem: None,
                timeout: Duration::from_secs(2),
            });
            c.mail.retry = quick_retry(2);
        })
        .await;
        // No mail can be read here, so no code before a first app.
        srv.first_app_mail = false;
        let (org, _) = srv.user(Role::Member).await;
        srv.user_in(&org, "bob", Role::Member).await;
        let a = srv.admin_in(&org, "root").await;
        let bob_id = a.org_users(&org).await.unwrap().into_iter().find(|u| u.username == "bob").unwrap().id;
        a.set_mfa_policy(&org, &require_mfa(false, None)).await.unwrap();
        // Each of these mails and answers as usual, mail or no mail.
        let pending = a.request_mfa_disable(&org).await.unwrap();
        assert_eq!(pending.status, "confirmation_required");
        a.reset_user_mfa(&org, &bob_id).await.unwrap();
        // The queue gives up (logged) and nothing was lost: the policy still stands, the
        // confirmation request is recorded, and both are in the audit log.
        srv.twofold.mailer().idle().await;
        assert!(a.mfa_policy(&org).await.unwrap().required);
        let e = a
            .set_mfa_policy(&org, &disable_mfa("000000"))
            .await
            .unwrap_err();
        assert!(matches!(e.code(), Some(ErrorCode::InvalidCode)), "{e}");
        let events = a.audit_events(&org, None, None).await.unwrap();
        for name in ["policy.disable_requested", "mfa.reset"] {
            assert!(events.iter().any(|e| e.event == name), "{name} missing");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_without_auth_delivers() {
    let sink = SmtpSink::start(SinkOptions {
        tls: SinkTls::Implicit,
        auth: None,
        greylist: 0,
    });
    let srv = mailing_to(Engine::Sqlite, &sink).await;
    srv.enrolled().await;
    srv.twofold.mailer().idle().await;
    let got = sink.received();
    assert_eq!(got.len(), 2, "{got:?}");
    for m in &got {
        assert_delivered_as_configured(m, &sink);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_an_unknown_ca_is_refused() {
    let sink = SmtpSink::start(SinkOptions::default());
    let mut smtp = sink.smtp_config();
    // Only the system's roots: the test CA is not among them.
    smtp.ca_pem = None;
    let mut srv = TestServer::start_with(Engine::Sqlite, |c| {
        c.mail.smtp = Some(smtp);
        c.mail.retry = quick_retry(2);
    })
    .await;
    srv.first_app_mail = false;
    srv.enrolled().await;
    srv.twofold.mailer().idle().await;
    // Nothing crossed: not the password, not the message.
    assert!(sink.received().is_empty());
}
