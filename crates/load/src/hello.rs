//! The ceiling: the smallest useful axum server, on a multi-thread tokio runtime like the
//! Twofold server's, answering `GET /` with `hello` and `GET /healthz` with `ok`. Pinned to
//! the same core as the server would be, `run hello` against it shows how many requests per
//! second the HTTP stack alone allows there, before any database or crypto.

use std::future::Future;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

/// The ceiling server's routes.
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/healthz", get(|| async { "ok" }))
}

/// Serves on `listener` until `stop` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router())
        .with_graceful_shutdown(stop)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_hello_and_ok_then_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, async {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let hello = http.get(format!("http://{addr}/")).send().await.unwrap();
        assert_eq!(hello.status(), 200);
        assert_eq!(hello.text().await.unwrap(), "hello");
        let ok = http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "ok");
        tx.send(()).unwrap();
        drop(http);
        server.await.unwrap().unwrap();
    }
}
