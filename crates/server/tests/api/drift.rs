//! Clock drift (RFC 6238 §6): each factor's device offset is learnt from accepted codes
//! and the window follows it; a code that is right only further out is refused with a
//! hint that the device's clock looks off by about so many seconds.

use twofold_proto::ErrorCode;

use crate::harness::both_engines;

both_engines! {
    async fn a_code_from_a_clock_minutes_off_is_refused_with_a_hint(srv: TestServer) {
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -4)).await.unwrap_err();
        let p = e.problem().unwrap();
        assert_eq!((p.status, p.code, p.clock_skew_seconds), (401, ErrorCode::InvalidCode, Some(-120)), "{e}");
        assert!(p.detail.contains("about 120 seconds ago"), "{}", p.detail);
        let e = srv.submit(&flow, &u.code(&srv, 3)).await.unwrap_err();
        assert_eq!(e.problem().unwrap().clock_skew_seconds, Some(90), "{e}");
        // A plainly wrong code gets no hint; all three counted.
        let wrong = if u.code(&srv, 0) == "000000" { "111111" } else { "000000" };
        let e = srv.submit(&flow, wrong).await.unwrap_err();
        assert_eq!(e.problem().unwrap().clock_skew_seconds, None, "{e}");
        for _ in 0..2 {
            srv.submit(&flow, wrong).await.unwrap_err();
        }
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TooManyAttempts), "{e}");
    }

    async fn the_window_follows_a_drifting_device_clock(srv: TestServer) {
        let u = srv.enrolled().await;
        // (The step before now was the activation's.)
        srv.advance(30);
        // The device runs 30 s behind: accepted in the usual ±1 window; drift -1 learnt.
        let flow = srv.flow(&u).await;
        srv.submit(&flow, &u.code(&srv, -1)).await.unwrap();
        // Now 60 s behind: outside ±1, but the window has followed it.
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
        assert_eq!(e.problem().unwrap().clock_skew_seconds, Some(-60), "{e}");
    }

    async fn without_learning_a_two_step_offset_is_refused(srv: TestServer) {
        // The control for the test above: a fresh factor does not accept -2.
        let u = srv.enrolled().await;
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, -2)).await.unwrap_err();
        assert_eq!(e.problem().unwrap().clock_skew_seconds, Some(-60), "{e}");
    }
}
