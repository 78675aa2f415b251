//! `AuditStore`: an organisation's security events, newest first, paged by cursor.

use twofold_core::store::{AuditFilter, AuditRow, Store};

use crate::fixtures::*;

fn event_ids(rows: &[AuditRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

conformance! {
    async fn an_event_reads_back_as_recorded(store: Store) {
        let acme = given_org(&store, "acme").await;
        let full = AuditRow {
            id: "0197-a".into(),
            org_id: acme.id.clone(),
            at: T0,
            event: "factor.added".into(),
            actor_id: Some("admin-1".into()),
            subject_id: Some("user-2".into()),
            ip: Some("203.0.113.9".into()),
            user_agent: Some("curl/8".into()),
            details: r#"{"factor_id":"f-1","kind":"totp"}"#.into(),
        };
        let bare = AuditRow {
            id: "0197-b".into(),
            org_id: acme.id.clone(),
            at: T0 + SEC,
            event: "mfa.failed".into(),
            actor_id: None,
            subject_id: None,
            ip: None,
            user_agent: None,
            details: "{}".into(),
        };
        store.insert_audit(&full).await.unwrap();
        store.insert_audit(&bare).await.unwrap();
        assert_eq!(
            store.audit_events(&acme.id, None, 10).await.unwrap(),
            [bare, full]
        );
    }

    async fn events_come_newest_first_for_their_org_only(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        assert!(
            store
                .audit_events(&acme.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        for (id, at) in [
            ("e2", T0 + 2),
            ("e1", T0 + 1),
            ("e3b", T0 + 3),
            ("e3a", T0 + 3),
            ("e4", T0 + 4),
        ] {
            store.insert_audit(&audit(id, &acme.id, at)).await.unwrap();
        }
        store
            .insert_audit(&audit("theirs", &globex.id, T0 + 5))
            .await
            .unwrap();

        let all = store.audit_events(&acme.id, None, 100).await.unwrap();
        assert_eq!(event_ids(&all), ["e4", "e3b", "e3a", "e2", "e1"]);
        let first_two = store.audit_events(&acme.id, None, 2).await.unwrap();
        assert_eq!(event_ids(&first_two), ["e4", "e3b"]);
        let theirs = store.audit_events(&globex.id, None, 100).await.unwrap();
        assert_eq!(event_ids(&theirs), ["theirs"]);
    }

    async fn pages_follow_one_another_through_the_cursor(store: Store) {
        let acme = given_org(&store, "acme").await;
        // Three events share a time, so that a page boundary falls between them.
        for (id, at) in [
            ("a", T0),
            ("b", T0 + 1),
            ("c", T0 + 1),
            ("d", T0 + 1),
            ("e", T0 + 2),
            ("f", T0 + 3),
        ] {
            store.insert_audit(&audit(id, &acme.id, at)).await.unwrap();
        }
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .audit_events(&acme.id, before.as_ref(), 2)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            let last = page.last().unwrap();
            let cursor = store
                .audit_cursor(&acme.id, &last.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((cursor.at, cursor.id.as_str()), (last.at, last.id.as_str()));
            pages.push(event_ids(&page).join(""));
            before = Some(cursor);
            assert!(pages.len() <= 4, "paging does not end: {pages:?}");
        }
        assert_eq!(pages, ["fe", "dc", "ba"]);

        // From the middle of the tie.
        let cursor = store.audit_cursor(&acme.id, "c").await.unwrap().unwrap();
        let rest = store
            .audit_events(&acme.id, Some(&cursor), 10)
            .await
            .unwrap();
        assert_eq!(event_ids(&rest), ["b", "a"]);
    }

    async fn a_cursor_is_found_only_in_its_own_org(store: Store) {
        let acme = given_org(&store, "acme").await;
        let globex = given_org(&store, "globex").await;
        store
            .insert_audit(&audit("e1", &acme.id, T0))
            .await
            .unwrap();
        let cursor = store.audit_cursor(&acme.id, "e1").await.unwrap().unwrap();
        assert_eq!((cursor.at, cursor.id.as_str()), (T0, "e1"));
        assert!(
            store
                .audit_cursor(&globex.id, "e1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.audit_cursor(&acme.id, "e2").await.unwrap().is_none());
    }

    async fn events_are_filtered_by_user_and_by_kind_or_area(store: Store) {
        let acme = given_org(&store, "acme").await;
        let rows = [
            AuditRow { event: "mfa.reset".into(), actor_id: Some("admin".into()), subject_id: Some("bob".into()), ..audit("e1", &acme.id, T0) },
            AuditRow { event: "mfa.locked".into(), actor_id: None, subject_id: Some("bob".into()), ..audit("e2", &acme.id, T0 + 1) },
            AuditRow { event: "signin.succeeded".into(), actor_id: Some("admin".into()), subject_id: Some("admin".into()), ..audit("e3", &acme.id, T0 + 2) },
            AuditRow { event: "mfa_x.other".into(), actor_id: None, subject_id: None, ..audit("e4", &acme.id, T0 + 3) },
        ];
        for r in &rows {
            store.insert_audit(r).await.unwrap();
        }
        let ids = |f: AuditFilter| {
            let store = store.clone();
            let org = acme.id.clone();
            async move {
                store.audit_page(&org, &f, None, 10).await.unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(ids(AuditFilter::default()).await, ["e4", "e3", "e2", "e1"]);
        // As the subject or as the actor.
        assert_eq!(ids(AuditFilter { user_id: "bob".into(), ..Default::default() }).await, ["e2", "e1"]);
        assert_eq!(ids(AuditFilter { user_id: "admin".into(), ..Default::default() }).await, ["e3", "e1"]);
        assert_eq!(ids(AuditFilter { event: "mfa.reset".into(), ..Default::default() }).await, ["e1"]);
        // `mfa.` is the area: not `mfa_x.`, whose `_` a LIKE would take for any character.
        assert_eq!(ids(AuditFilter { area: "mfa.".into(), ..Default::default() }).await, ["e2", "e1"]);
        assert_eq!(
            ids(AuditFilter { user_id: "bob".into(), area: "mfa.".into(), event: "mfa.locked".into() }).await,
            ["e2"]
        );
    }
}
