//! Clock drift (RFC 6238 §6). Each factor's device offset is learnt from accepted codes,
//! and codes are accepted around it as well as around now. A code that is right only
//! further out is refused at sign-in like any wrong code, and the caller is not told it
//! would be right later (that would make the next minutes' codes hits for a guesser); a
//! second code from the device's next step at the same offset proves the drift, as
//! privacyIDEA's resynchronisation does, and signs in. Activating a new app, whose secret
//! the caller holds, does say how far off the device's clock looks.

use twofold_otp::{Secret, Totp, TotpParams};
use twofold_proto::ErrorCode;
use twofold_server::domain::users::Role;

use crate::harness::{Enrolled, TestServer, both_engines};

/// A code that is none of `u`'s within five minutes either way.
fn wrong(srv: &TestServer, u: &Enrolled) -> String {
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| (-10..=10).all(|s| u.code(srv, s) != *c))
        .unwrap()
        .to_owned()
}

both_engines! {
    async fn a_code_from_a_clock_minutes_off_is_refused_without_a_hint(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        for steps in [-4, 3] {
            let e = srv.submit(&flow, &u.code(&srv, steps)).await.unwrap_err();
            let p = e.problem().unwrap();
            assert_eq!((p.status, p.code, p.clock_skew_seconds), (401, ErrorCode::InvalidCode, None), "{e}");
            assert!(!p.detail.contains("seconds"), "{}", p.detail);
        }
        // Counted like any wrong code: three more lock the user.
        for _ in 0..3 {
            let e = srv.submit(&flow, &wrong(&srv, &u)).await.unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        }
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
    }

    async fn two_consecutive_codes_from_a_clock_minutes_off_sign_in_and_teach_the_drift(srv: TestServer) {
        let u = srv.enrolled().await;
        // Some minutes later, the device runs two minutes behind. Its code is refused...
        srv.advance(300);
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        // ...and its next one, 30 s later, at the same offset, signs in.
        srv.advance(30);
        srv.submit(&flow, &u.code(&srv, -4)).await.unwrap();
        // From now on its codes are accepted at once, and codes from a fixed clock too.
        srv.advance(30);
        srv.submit(&srv.flow(&u).await, &u.code(&srv, -4)).await.unwrap();
        srv.advance(30);
        srv.submit(&srv.flow(&u).await, &u.code(&srv, 0)).await.unwrap();
    }

    async fn a_second_code_at_another_offset_or_the_same_code_again_does_not_resynchronise(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        // The same code again is not a second code.
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        // Nor is one from another offset (a guesser's next try).
        srv.advance(30);
        let e = srv.submit(&flow, &u.code(&srv, 3)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        // That one started a resynchronisation of its own; the device's code at -4 is now
        // a first half again, not a second.
        srv.advance(30);
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
    }

    async fn the_first_code_of_a_resynchronisation_waits_five_minutes(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        srv.advance(330);
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        // That one was a new first half.
        srv.advance(30);
        srv.submit(&flow, &u.code(&srv, -4)).await.unwrap();
    }

    async fn the_window_follows_a_drifting_device_clock(srv: TestServer) {
        let u = srv.enrolled().await;
        // (The step before now was the activation's.)
        srv.advance(30);
        // The device runs 30 s behind: accepted in the usual ±1 window; drift -1 learnt.
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, -1)).await.unwrap();
        // Now 60 s behind: outside ±1, but inside ±1 around the drift.
        srv.advance(60);
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, -2)).await.unwrap();
        srv.advance(60);
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, -3)).await.unwrap();
        // The clock is fixed: its codes are still accepted, and the drift is forgotten.
        srv.advance(30);
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        srv.advance(90);
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -2)).await.unwrap_err();
        assert_eq!((e.code(), e.problem().unwrap().clock_skew_seconds), (Some(ErrorCode::InvalidCode), None), "{e}");
    }

    async fn activating_an_app_on_a_clock_minutes_off_says_so(srv: TestServer) {
        let (org, user) = srv.user(Role::Member).await;
        let s = srv.session(&org, &user).await;
        let e = srv.first_app(&s, None, "alice@example.com").await;
        let totp = Totp::new(Secret::from_base32(&e.secret).unwrap(), TotpParams::default()).unwrap();
        let behind = totp.generate_at(srv.now_secs() - 120);
        let err = s.activate_factor(&e.id, &behind).await.unwrap_err();
        let p = err.problem().unwrap();
        assert_eq!((p.status, p.code, p.clock_skew_seconds), (401, ErrorCode::InvalidCode, Some(-120)), "{err}");
        assert!(p.detail.contains("about 120 seconds ago"), "{}", p.detail);
        s.activate_factor(&e.id, &totp.generate_at(srv.now_secs())).await.unwrap();
    }
}
