//! `BackupStore`'s fence on a restored database: every app's last used step raised past
//! the steps a code could have been accepted in before the restore, never lowered, and
//! everything single-use or live that the copy remembers ended.

use twofold_core::store::{RestoreFence, Store};

use crate::fixtures::*;

conformance! {
    async fn the_fence_raises_every_apps_step_and_ends_what_the_copy_remembers(store: Store) {
        let (_, alice) = given_alice(&store).await;
        given_key(&store).await;
        // A 60-second app never used, one used far ahead of the fence, and a mailed
        // factor (no steps to raise).
        store.insert_factor(&totp("fresh", &alice.id)).await.unwrap();
        store.insert_factor(&totp("ahead", &alice.id)).await.unwrap();
        store.insert_factor(&email_factor("mail", &alice.id)).await.unwrap();
        let now_secs = T0 / 1000;
        let fence_step = now_secs / 60 + 11;
        store
            .exec_text(
                "UPDATE factors SET last_used_step = 99999999999 WHERE id = $1",
                &["ahead"],
            )
            .await
            .unwrap();
        store.insert_session(&session("s-1", &alice.id)).await.unwrap();
        store.insert_flow(&flow("f-1", &alice.id)).await.unwrap();
        store.insert_device(&device("d-1", &alice.id, T0), 5).await.unwrap();

        let fenced = store
            .fence_restored(RestoreFence { now_secs, steps_ahead: 11 })
            .await
            .unwrap();
        assert_eq!(fenced.app_factors, 1, "{fenced:?}");
        assert_eq!(fenced.in_progress_ended, 3, "{fenced:?}");

        let steps: Vec<(String, Option<i64>)> = store
            .factors_of_user(&alice.id)
            .await
            .unwrap()
            .into_iter()
            .map(|f| (f.id, f.last_used_step))
            .collect();
        assert!(steps.contains(&("fresh".into(), Some(fence_step))), "{steps:?}");
        assert!(steps.contains(&("ahead".into(), Some(99_999_999_999))), "never lowered: {steps:?}");
        assert!(steps.contains(&("mail".into(), None)), "{steps:?}");
        let gone = store
            .session_by_token(&session("s-1", &alice.id).token_hash, T0)
            .await
            .unwrap();
        assert!(gone.is_none(), "a session the copy remembers ends");
        assert!(store.flow_by_token(&flow("f-1", &alice.id).token_hash).await.unwrap().is_none());
        assert!(store.device_by_token(&device("d-1", &alice.id, T0).token_hash, T0).await.unwrap().is_none());
    }
}
