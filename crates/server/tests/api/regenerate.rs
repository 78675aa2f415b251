//! Seeing an active authenticator's QR code again (guarded, audited, mailed, and only if
//! the organisation allows it), and regenerating one: a new secret that replaces the old
//! only once a code from it is accepted.

use twofold_otp::{KeyUri, Secret, Totp, TotpParams};
use twofold_proto::{ErrorCode, Method, SetOrgSettings, StepUpRequest};

use crate::harness::both_engines;

/// The secret a PNG QR code holds is not read back here (no QR decoder); its URI is
/// checked through the enrolment answers instead.
fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

both_engines! {
    async fn an_active_factors_qr_code_is_shown_again_behind_a_fresh_second_factor(srv: TestServer) {
        let u = srv.enrolled().await;
        let strong = srv.strong_session(&u).await;
        let png = strong.factor_qr_png(&u.factor_id).await.unwrap();
        assert!(is_png(&png));
        let shown = srv.mails_to("alice@example.com", "QR code was shown").await;
        assert_eq!(shown.len(), 1);
        assert!(shown[0].text.contains("\"Phone\""), "{:?}", shown[0]);
        // With an elevated token instead of a recent sign-in.
        srv.advance(30);
        let t = u.session.step_up(&StepUpRequest {
            method: Method::Totp,
            code: u.code(&srv, 0),
            scopes: vec!["mfa:manage".into()],
            single_use: None,
            credential: None,
        }).await.unwrap();
        assert!(is_png(&u.session.with_elevated(&t.elevated_token).factor_qr_png(&u.factor_id).await.unwrap()));
        assert_eq!(srv.mails_to("alice@example.com", "QR code was shown").await.len(), 2);
        let org_id = srv.twofold.store().user_by_login(&u.org, &u.username).await.unwrap().unwrap().org_id;
        let events = srv.twofold.store().audit_events(&org_id, None, 50).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.event == "factor.qr_viewed").count(), 2);
    }

    async fn an_organisation_can_turn_qr_redisplay_off(srv: TestServer) {
        let u = srv.enrolled().await;
        let admin = srv.admin_in(&u.org, "root").await;
        assert!(admin.org_settings(&u.org).await.unwrap().allow_qr_redisplay);
        let s = admin.set_org_settings(&u.org, &SetOrgSettings { allow_qr_redisplay: false, remember_devices: true, confirm_first_app_by_email: None, max_authenticator_apps: None }).await.unwrap();
        assert!(!s.allow_qr_redisplay);
        assert!(s.updated_by.is_some());
        let strong = srv.strong_session(&u).await;
        let e = strong.factor_qr_png(&u.factor_id).await.unwrap_err();
        assert_eq!((e.problem().map(|p| p.status), e.code()), (Some(403), Some(ErrorCode::Forbidden)), "{e}");
        // Regenerating still works.
        strong.regenerate_factor(&u.factor_id).await.unwrap();
        // Members cannot change it.
        let e = u.session.set_org_settings(&u.org, &SetOrgSettings { allow_qr_redisplay: true, remember_devices: true, confirm_first_app_by_email: None, max_authenticator_apps: None }).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}");
        let events = admin.audit_events(&u.org, None, None).await.unwrap();
        assert!(events.iter().any(|e| e.event == "settings.changed"));
    }

    async fn a_regenerated_factor_keeps_its_old_secret_until_the_new_one_is_activated(srv: TestServer) {
        let u = srv.enrolled().await;
        let e = u.session.regenerate_factor(&u.factor_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        let strong = srv.strong_session(&u).await;
        let fresh = strong.regenerate_factor(&u.factor_id).await.unwrap();
        assert_eq!(fresh.id, u.factor_id);
        assert_eq!(KeyUri::parse(&fresh.uri).unwrap().secret.to_base32(), fresh.secret);
        assert!(fresh.qr_svg.starts_with("<?xml") || fresh.qr_svg.contains("<svg"));
        let new = Totp::new(Secret::from_base32(&fresh.secret).unwrap(), TotpParams::default()).unwrap();
        // Its QR code shows the new secret (what the new device must scan), not the old,
        // behind a fresh second factor, audited.
        let png = strong.factor_qr_png(&u.factor_id).await.unwrap();
        assert_eq!(png, twofold_server::qr::png(&fresh.uri).unwrap());
        let e = u.session.factor_qr_png(&u.factor_id).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::StepUpRequired), "{e}");
        // The old secret still signs in; the new one does not yet.
        srv.advance(30);
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &new.generate_at(srv.now_secs())).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        srv.submit(&flow, &u.code(&srv, 0)).await.unwrap();
        // A wrong code does not activate it.
        let wrong = if new.generate_at(srv.now_secs()) == "000000" { "111111" } else { "000000" };
        let e = strong.activate_factor(&u.factor_id, wrong).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        strong.activate_factor(&u.factor_id, &new.generate_at(srv.now_secs())).await.unwrap();
        // Now only the new one works, and the activation's step counts as used.
        srv.advance(30);
        let flow = srv.flow(&u).await;
        let e = srv.submit(&flow, &u.code(&srv, 0)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        srv.submit(&flow, &new.generate_at(srv.now_secs())).await.unwrap();
        assert_eq!(srv.mails_to("alice@example.com", "was set up again").await.len(), 1);
        // Nothing waits any more.
        let e = strong.activate_factor(&u.factor_id, &new.generate_at(srv.now_secs() + 30)).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{e}");
    }
}
