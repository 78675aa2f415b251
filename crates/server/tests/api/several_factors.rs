//! Several authenticator apps per user (up to a configurable limit; 1 gives "one at a
//! time"), a code from any of them signs in, one of them preferred; the last factor
//! cannot be removed while the organisation requires one.

use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::{ErrorCode, LoginResponse, Method};
use twofold_server::Config;

use crate::harness::{
    Enrolled, PASSWORD, TestServer, both_engines, both_engines_with, require_mfa,
};

/// Adds an authenticator app to `u` from a session that just passed their first one;
/// answers the new factor's id and generator.
async fn add_app(
    srv: &TestServer,
    u: &Enrolled,
    name: &str,
) -> twofold_client::Result<(String, Totp)> {
    let strong = srv.strong_session(u).await;
    let e = strong.enroll_totp(Some(name)).await?;
    let totp = Totp::new(
        Secret::from_base32(&e.secret).unwrap(),
        TotpParams::default(),
    )
    .unwrap();
    strong
        .activate_factor(&e.id, &totp.generate_at(srv.now_secs()))
        .await?;
    srv.advance(30);
    Ok((e.id, totp))
}

fn one_app_only(c: &mut Config) {
    c.security.max_totp_factors = 1;
}

both_engines! {
    async fn a_code_from_any_of_the_users_apps_signs_in(srv: TestServer) {
        let u = srv.enrolled().await;
        let (_, tablet) = add_app(&srv, &u, "Tablet").await.unwrap();
        let flow = srv.flow(&u).await;
        let done = srv.submit(&flow, &tablet.generate_at(srv.now_secs())).await.unwrap();
        srv.client.with_token(crate::harness::token(&done)).me().await.unwrap();
        // Replay protection is per factor: the phone's code of this step still works.
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        assert_eq!(u.session.factors().await.unwrap().len(), 2);
    }

    async fn until_one_is_chosen_the_oldest_is_shown_as_preferred(srv: TestServer) {
        let u = srv.enrolled().await;
        // One factor: it is the one asked for, so the list says so.
        let list = u.session.factors().await.unwrap();
        assert!(list[0].preferred, "{list:?}");
        let (tablet, tablet_totp) = add_app(&srv, &u, "Tablet").await.unwrap();
        let list = u.session.factors().await.unwrap();
        let marked: Vec<(&str, bool)> = list.iter().map(|f| (f.id.as_str(), f.preferred)).collect();
        assert_eq!(marked, [(u.factor_id.as_str(), true), (tablet.as_str(), false)]);
        // A new app can be made preferred as it is activated (seed 002).
        let strong = srv.strong_session(&u).await;
        srv.advance(30);
        let e = strong.enroll_totp(Some("Watch")).await.unwrap();
        let watch = Totp::new(Secret::from_base32(&e.secret).unwrap(), TotpParams::default()).unwrap();
        let f = strong.activate_factor_as(&e.id, &watch.generate_at(srv.now_secs()), Some(true)).await.unwrap();
        assert!(f.preferred);
        assert_eq!(f.last_used_at.as_deref(), Some(f.created_at.as_str()), "activation used a code");
        let list = u.session.factors().await.unwrap();
        assert_eq!(list.iter().filter(|f| f.preferred).map(|f| f.id.as_str()).collect::<Vec<_>>(), [e.id.as_str()]);
        let _ = tablet_totp;
    }

    async fn the_preferred_factor_is_marked_and_named_at_sign_in(srv: TestServer) {
        let u = srv.enrolled().await;
        let (tablet, _) = add_app(&srv, &u, "Tablet").await.unwrap();
        // A change to the user's factors: a password-only session cannot make it.
        let e = u.session.prefer_factor(&tablet).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        let strong = srv.strong_session(&u).await;
        srv.advance(30);
        let f = strong.prefer_factor(&tablet).await.unwrap();
        assert!(f.preferred);
        assert_eq!(srv.mails_to("alice@example.com", "Your preferred second factor changed").await.len(), 1);
        let listed = u.session.factors().await.unwrap();
        assert_eq!(listed.iter().filter(|f| f.preferred).count(), 1);
        assert!(listed.iter().find(|f| f.id == tablet).unwrap().preferred);
        strong.prefer_factor(&u.factor_id).await.unwrap();
        assert!(!u.session.factors().await.unwrap().iter().find(|f| f.id == tablet).unwrap().preferred);
        match srv.client.login(&u.org, &u.username, PASSWORD).await.unwrap() {
            LoginResponse::MfaRequired { preferred, .. } => assert_eq!(preferred, Method::Totp),
            other => panic!("{other:?}"),
        }
        // A pending factor cannot be preferred; another user's is not found.
        let pending = srv.strong_session(&u).await.enroll_totp(None).await.unwrap();
        let e = strong.prefer_factor(&pending.id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        let other = srv.enrolled().await;
        let e = strong.prefer_factor(&other.factor_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
    }

    async fn the_last_factor_stays_while_the_organisation_requires_one(srv: TestServer) {
        let u = srv.enrolled().await;
        srv.admin_in(&u.org, "root").await.set_mfa_policy(&u.org, &require_mfa(false, None)).await.unwrap();
        let strong = srv.strong_session(&u).await;
        srv.advance(30);
        let e = strong.delete_factor(&u.factor_id, Some(&u.code(&srv, 0))).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(409), Some(ErrorCode::LastFactor)), "{e}");
        assert!(e.problem().unwrap().detail.contains("regenerate"), "{e}");
        // Refused before the code was checked: the code still works.
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        // With a second one, either may go.
        srv.advance(30);
        let (tablet, tablet_totp) = add_app(&srv, &u, "Tablet").await.unwrap();
        let strong = srv.strong_session(&u).await;
        srv.advance(30);
        strong.delete_factor(&u.factor_id, Some(&u.code(&srv, 0))).await.unwrap();
        let e = strong.delete_factor(&tablet, Some(&tablet_totp.generate_at(srv.now_secs()))).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::LastFactor), "{e}");
    }
}

both_engines_with! { one_app_only;
    async fn with_a_limit_of_one_a_second_app_is_refused(srv: TestServer) {
        let u = srv.enrolled().await;
        let e = add_app(&srv, &u, "Tablet").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
        assert!(e.problem().unwrap().detail.contains("1 authenticator app,"), "{e}");
        assert_eq!(u.session.factors().await.unwrap().len(), 1);
    }
}
