//! Running an organisation: its owners and admins list and create its users; members are
//! refused (403) and other organisations do not exist for them (404).

use twofold_client::Client;
use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{ErrorCode, MfaStatus, NewOrgUser, Role as WireRole};
use twofold_server::domain::DomainError;
use twofold_server::domain::invitations::Acceptance;
use twofold_server::domain::users::Role;

use crate::harness::{PASSWORD, TestServer, both_engines};

/// Chooses `username`'s first password with invitation `code`, as `/welcome` does.
async fn accept(
    srv: &TestServer,
    org: &str,
    username: &str,
    code: &str,
) -> Result<(), DomainError> {
    srv.twofold
        .accept_invitation(Acceptance {
            org,
            username,
            code,
            password: zeroize::Zeroizing::new("their own passphrase".into()),
        })
        .await
}

fn new_user(username: &str, role: WireRole) -> NewOrgUser {
    NewOrgUser {
        username: username.into(),
        email: format!("{username}@example.com"),
        role,
        password: Some(PASSWORD.into()),
        federated: None,
    }
}

/// Enrols and activates a first TOTP factor from a password-only session of the user with
/// address `email`.
async fn enrol(srv: &TestServer, session: &Client, email: &str) {
    let e = srv.first_app(session, None, email).await;
    let totp = Totp::new(
        Secret::from_base32(&e.secret).unwrap(),
        TotpParams::default(),
    )
    .unwrap();
    session
        .activate_factor(&e.id, &totp.generate_at(srv.now_secs()))
        .await
        .unwrap();
}

both_engines! {
    async fn an_admin_sees_every_user_with_their_mfa_status(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let s = srv.admin_in(&org, "root").await;
        s.create_org_user(&org, &new_user("bob", WireRole::Member)).await.unwrap();
        s.create_org_user(&org, &new_user("dave", WireRole::Member)).await.unwrap();
        let federated = NewOrgUser {
            password: None,
            federated: Some(true),
            ..new_user("carol", WireRole::Member)
        };
        s.create_org_user(&org, &federated).await.unwrap();
        enrol(&srv, &srv.session(&org, "bob").await, "bob@example.com").await;

        let users = s.org_users(&org).await.unwrap();
        let rows: Vec<(&str, MfaStatus, bool)> = users
            .iter()
            .map(|u| (u.username.as_str(), u.mfa, u.last_login_at.is_some()))
            .collect();
        assert_eq!(
            rows,
            [
                ("alice", MfaStatus::NotEnrolled, false),
                ("bob", MfaStatus::Enrolled, true),
                ("carol", MfaStatus::NotApplicable, false),
                ("dave", MfaStatus::NotEnrolled, false),
                ("root", MfaStatus::Enrolled, true),
            ]
        );
        let root = &users[4];
        assert_eq!((root.role, root.federated), (WireRole::Admin, false));
        assert_eq!(root.email, "root@example.com");
        assert!(users[2].federated);
    }

    async fn an_owner_may_list_and_create_too(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let (s, _) = srv.admin_with_app(&org, "boss", Role::Owner).await;
        let created = s.create_org_user(&org, &new_user("erin", WireRole::Owner)).await.unwrap();
        assert_eq!((created.role, created.mfa), (WireRole::Owner, MfaStatus::NotEnrolled));
        assert_eq!(created.last_login_at, None);
        assert_eq!(s.org_users(&org).await.unwrap().len(), 3);
        // The new user signs in with the password the owner set.
        srv.session(&org, "erin").await.me().await.unwrap();
    }

    async fn a_member_is_forbidden(srv: TestServer) {
        let (org, member) = srv.user(Role::Member).await;
        let s = srv.session(&org, &member).await;
        let e = s.org_users(&org).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = s.create_org_user(&org, &new_user("bob", WireRole::Member)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
    }

    async fn another_organisation_is_not_found_whether_it_exists_or_not(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        let (other, _) = srv.user(Role::Admin).await;
        let s = srv.session(&org, &admin).await;
        for slug in [other.as_str(), "no-such-org"] {
            let e = s.org_users(slug).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::NotFound), "{slug}: {e}");
            let e = s.create_org_user(slug, &new_user("bob", WireRole::Member)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::NotFound), "{slug}: {e}");
        }
        // Nothing was created in the other organisation.
        let e = srv.client.login(&other, "bob", PASSWORD).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{e}");
    }

    async fn only_an_owner_may_create_an_owner(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let s = srv.admin_in(&org, "root").await;
        let e = s.create_org_user(&org, &new_user("bob", WireRole::Owner)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let made = s.create_org_user(&org, &new_user("bob", WireRole::Admin)).await.unwrap();
        assert_eq!(made.role, WireRole::Admin);
    }

    async fn bad_new_users_are_refused_and_nothing_is_created(srv: TestServer) {
        let (org, admin) = srv.user(Role::Admin).await;
        let s = srv.admin_in(&org, "root").await;
        let taken = s.create_org_user(&org, &new_user("alice", WireRole::Member)).await.unwrap_err();
        assert_eq!(taken.code(), Some(ErrorCode::Conflict), "{taken}");
        let bad_email = NewOrgUser { email: "not an address".into(), ..new_user("bob", WireRole::Member) };
        let e = s.create_org_user(&org, &bad_email).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        let federated_with_password = NewOrgUser { federated: Some(true), ..new_user("bob", WireRole::Member) };
        let e = s.create_org_user(&org, &federated_with_password).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        let short = NewOrgUser { password: Some("short".into()), ..new_user("bob", WireRole::Member) };
        let e = s.create_org_user(&org, &short).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        // An unknown field is an error, not silently ignored.
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/orgs/{org}/users", srv.url))
            .bearer_auth(crate::harness::token(&srv.client.login(&org, &admin, PASSWORD).await.unwrap()))
            .json(&serde_json::json!({
                "username": "bob", "email": "bob@example.com", "role": "member", "admin": true
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let users = s.org_users(&org).await.unwrap();
        assert_eq!(users.len(), 2, "{users:?}");
    }

    async fn without_a_session_it_is_unauthenticated(srv: TestServer) {
        let (org, _) = srv.user(Role::Admin).await;
        let e = srv.client.org_users(&org).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unauthenticated), "{e}");
    }

    async fn roles_change_as_the_rules_allow_and_never_ones_own(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let owner = srv.admin_with_app(&org, "olga", Role::Owner).await.0;
        let admin = srv.admin_in(&org, "adam").await;
        let users = owner.org_users(&org).await.unwrap();
        let id = |name: &str| users.iter().find(|u| u.username == name).unwrap().id.clone();
        // An admin makes a member an admin, but not an owner, and cannot touch an owner.
        let alice = admin.set_user_role(&org, &id("alice"), WireRole::Admin).await.unwrap();
        assert_eq!(alice.role, WireRole::Admin);
        let e = admin.set_user_role(&org, &id("alice"), WireRole::Owner).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = admin.set_user_role(&org, &id("olga"), WireRole::Member).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        // Nobody changes their own role, an owner included.
        let e = admin.set_user_role(&org, &id("adam"), WireRole::Owner).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let e = owner.set_user_role(&org, &id("olga"), WireRole::Member).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        // An owner makes an owner; another organisation's user does not exist.
        let adam = owner.set_user_role(&org, &id("adam"), WireRole::Owner).await.unwrap();
        assert_eq!(adam.role, WireRole::Owner);
        let e = owner.set_user_role(&org, "nobody", WireRole::Member).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
        let events = owner.audit_events(&org, None, None).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.event == "user.role_changed").count(), 2);
    }

    async fn a_user_created_without_a_password_is_invited_and_can_be_invited_again(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let admin = srv.admin_in(&org, "adam").await;
        let new = NewOrgUser { password: None, ..new_user("carol", WireRole::Member) };
        let carol = admin.create_org_user(&org, &new).await.unwrap();
        let first = srv.mails_to("carol@example.com", "You are invited").await;
        assert_eq!(first.len(), 1);
        let code_in = |m: &crate::mailbox::Received| {
            m.text.split("Invitation code: ").nth(1).unwrap()[..19].to_owned()
        };
        let old = code_in(&first[0]);
        admin.reinvite_user(&org, &carol.id).await.unwrap();
        let mails = srv.mails_to("carol@example.com", "You are invited").await;
        let new_code = code_in(mails.last().unwrap());
        let e = accept(&srv, &org, "carol", &old).await.unwrap_err();
        assert!(matches!(e, DomainError::WrongConfirmation), "{e:?}");
        accept(&srv, &org, "carol", &new_code).await.unwrap();
        let signed_in = srv.client.login(&org, "carol", "their own passphrase").await.unwrap();
        assert!(
            matches!(signed_in, twofold_proto::LoginResponse::Authenticated { .. }),
            "{signed_in:?}"
        );
        // With a password, there is nothing to invite her to.
        let e = admin.reinvite_user(&org, &carol.id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        // An invitation expires after 7 days.
        admin
            .create_org_user(&org, &NewOrgUser { password: None, ..new_user("dave", WireRole::Member) })
            .await
            .unwrap();
        let mails = srv.mails_to("dave@example.com", "You are invited").await;
        let code = code_in(&mails[0]);
        srv.advance(7 * 24 * 3600 + 1);
        let e = accept(&srv, &org, "dave", &code).await.unwrap_err();
        assert!(matches!(e, DomainError::ConfirmationExpired), "{e:?}");
    }

    async fn the_apps_allowed_are_the_organisations_choice_within_the_servers_limit(srv: TestServer) {
        let (org, _) = srv.user(Role::Member).await;
        let admin = srv.admin_in(&org, "adam").await;
        let set = |n: u32| twofold_proto::SetOrgSettings {
            allow_qr_redisplay: true,
            remember_devices: true,
            confirm_first_app_by_email: None,
            max_authenticator_apps: Some(n),
        };
        assert_eq!(admin.org_settings(&org).await.unwrap().max_authenticator_apps, 5);
        let e = admin.set_org_settings(&org, &set(6)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        let e = admin.set_org_settings(&org, &set(0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest), "{e}");
        let s = admin.set_org_settings(&org, &set(1)).await.unwrap();
        assert_eq!(s.max_authenticator_apps, 1);
        // Adam has one app: a second is refused.
        let e = admin.enroll_totp(None).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
    }
}
