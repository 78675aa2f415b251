//! Passwords imported from another system: every hash that is not ours (Argon2id with
//! OWASP's parameters) is replaced at the user's next sign-in, Argon2id with other
//! parameters too; and while an organisation holds slower hashes than ours, an unknown
//! username there is checked against a dummy of the slowest kind, so a miss costs what a
//! wrong password does and tells nothing (docs: crypto::password). What is checked here is
//! which hash the server uses, not how long it takes: that is measured, not asserted.

use twofold_proto::ErrorCode;
use twofold_server::crypto::password::CURRENT_PREFIX;
use twofold_server::domain::import::ImportRecord;

use crate::harness::{TestServer, both_engines};

/// "correct horse battery" under Argon2id with m=2048, t=1 (not our parameters).
const LIGHT_ARGON2ID: &str = "$argon2id$v=19$m=2048,t=1,p=1$Guh81R9n/WgUF7MbuskktQ$Yr3G1RKFuzoxVs3g94ejMyKY1wm9bsmS9YnecCKEbrM";
const LIGHT_PASSWORD: &str = "correct horse battery";

async fn import(srv: &TestServer, org: &str, rows: &[(&str, &str)]) {
    let records = rows
        .iter()
        .enumerate()
        .map(|(i, (username, hash))| ImportRecord {
            line: i as u64 + 1,
            username: (*username).into(),
            email: format!("{username}@example.com"),
            role: "member".into(),
            password: (*hash).into(),
            totp_uri: String::new(),
        })
        .collect();
    let checked = srv.twofold.check_import(org, records).await.unwrap();
    assert!(checked.errors().is_empty(), "{:?}", checked.errors());
    srv.twofold.run_import(checked, &mut |_| {}).await.unwrap();
}

async fn stored_hash(srv: &TestServer, org: &str, user: &str) -> String {
    let u = srv
        .twofold
        .store()
        .user_by_login(org, user)
        .await
        .unwrap()
        .unwrap();
    u.password_hash.unwrap()
}

async fn miss_hash(srv: &TestServer, org: &str) -> Option<String> {
    srv.twofold
        .store()
        .org_by_slug(org)
        .await
        .unwrap()
        .unwrap()
        .miss_hash
}

both_engines! {
    async fn an_imported_argon2id_hash_with_other_parameters_is_replaced_at_sign_in(srv: TestServer) {
        let org = "imported";
        srv.twofold.create_org(org, None).await.unwrap();
        import(&srv, org, &[("ann", LIGHT_ARGON2ID)]).await;
        let s = match srv.client.login(org, "ann", LIGHT_PASSWORD).await.unwrap() {
            twofold_proto::LoginResponse::Authenticated { session_token, .. } => srv.client.with_token(session_token),
            other => panic!("{other:?}"),
        };
        s.me().await.unwrap();
        let now = stored_hash(&srv, org, "ann").await;
        assert!(now.starts_with(CURRENT_PREFIX), "{now}");
        // The same password still works against the new hash.
        srv.client.login(org, "ann", LIGHT_PASSWORD).await.unwrap();
    }

    async fn unknown_usernames_cost_what_the_slowest_imported_hash_does(srv: TestServer) {
        let org = "slow";
        srv.twofold.create_org(org, None).await.unwrap();
        // bcrypt cost 12 (about ten times our Argon2id) beside a light Argon2id.
        let bcrypt12 = bcrypt::hash_with_salt(LIGHT_PASSWORD, 12, [9; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        import(&srv, org, &[("ann", LIGHT_ARGON2ID), ("bea", bcrypt12.as_str())]).await;
        let dummy = miss_hash(&srv, org).await.expect("no dummy for misses");
        assert!(dummy.starts_with("$2b$12$"), "{dummy}");
        assert_ne!(dummy, bcrypt12, "a dummy, not a copy of someone's hash");
        // A miss is refused like a wrong password.
        for (user, password) in [("nobody", LIGHT_PASSWORD), ("ann", "wrong"), ("bea", "wrong")] {
            let e = srv.client.login(org, user, password).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials), "{user}");
        }
        // Other organisations keep their own (our) cost.
        let (other, _) = srv.user(twofold_server::domain::users::Role::Member).await;
        assert_eq!(miss_hash(&srv, &other).await, None);
        // Once every imported hash has been replaced, misses cost what ours do again.
        srv.client.login(org, "ann", LIGHT_PASSWORD).await.unwrap();
        srv.twofold.retire_miss_costs().await.unwrap();
        assert!(miss_hash(&srv, org).await.is_some(), "bea's bcrypt hash is still there");
        srv.client.login(org, "bea", LIGHT_PASSWORD).await.unwrap();
        assert!(stored_hash(&srv, org, "bea").await.starts_with(CURRENT_PREFIX));
        srv.twofold.retire_miss_costs().await.unwrap();
        assert_eq!(miss_hash(&srv, org).await, None);
    }
}
