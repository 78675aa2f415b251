//! Starting and stopping the service. Building (open the database, bind the port) is
//! separate from running until a shutdown signal, so tests can bind port 0, read the
//! port, and run the server in the background.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use twofold_core::clock::Clock;
use twofold_core::config::{Config, HttpLimits};
use twofold_core::domain::{DomainError, Twofold};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens the service as a server does: the data directory (private), the database, and
/// the secret key checked against the one the database was set up with.
pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> Result<Twofold, DomainError> {
    private_data_dir(config)?;
    let store = twofold_store::open_with(&config.database, config.sqlite_synchronous).await?;
    Twofold::open(config, store, clock).await
}

/// Opens the service for the offline operator commands, which need no secret key.
pub async fn open_for_admin(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Twofold, DomainError> {
    private_data_dir(config)?;
    let store = twofold_store::open_with(&config.database, config.sqlite_synchronous).await?;
    Twofold::open_for_admin(config, store, clock).await
}

/// Created (mode 0700) before the database opens, so a new SQLite file is born private.
fn private_data_dir(config: &Config) -> Result<(), DomainError> {
    twofold_core::files::private_data_dir(&config.data_dir).map_err(|e| {
        DomainError::Internal(format!("cannot create {}: {e}", config.data_dir.display()))
    })
}

/// How long a stopping server waits for queued mail.
const MAIL_DRAIN: Duration = Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    /// The metrics' own listener (`metrics_listen`), and the address it bound.
    metrics_listener: Option<(TcpListener, SocketAddr)>,
    /// `/metrics` on the main listener, for this bearer token.
    metrics_token: Option<Arc<str>>,
    twofold: Twofold,
    limits: HttpLimits,
}

impl Application {
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<Application, StartError> {
        let twofold = open(config, clock).await?;
        let bind_err = |source| StartError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let metrics_listener = match config.metrics.listen {
            Some(at) => {
                let bind_err = |source| StartError::Bind { addr: at, source };
                let l = TcpListener::bind(at).await.map_err(bind_err)?;
                let bound = l.local_addr().map_err(bind_err)?;
                Some((l, bound))
            }
            None => None,
        };
        let metrics_token = config
            .metrics
            .token
            .as_ref()
            .map(|t| Arc::from(secrecy::ExposeSecret::expose_secret(t)));
        let twofold = twofold.with_public_url(&config.public_url_for(addr));
        Ok(Application {
            listener,
            addr,
            metrics_listener,
            metrics_token,
            twofold,
            limits: config.http.clone(),
        })
    }

    /// The address actually bound (the real port when the configuration said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The metrics listener's address, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, a)| *a)
    }

    pub fn twofold(&self) -> &Twofold {
        &self.twofold
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(purge_expired_forever(self.twofold.clone()));
        let twofold = self.twofold.clone();
        let mailer = self.twofold.mailer().clone();
        // One shutdown signal for both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let when_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                // Err: the sender is gone, which only happens once it has sent.
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let metrics_server = self.metrics_listener.map(|(listener, _)| {
            let app = twofold_http::ops::metrics_router(self.twofold.clone());
            let (limits, stop) = (self.limits.clone(), when_stopped());
            tokio::spawn(
                async move { twofold_http::serve::serve(listener, app, &limits, stop).await },
            )
        });
        let app = twofold_http::router(self.twofold, &self.limits, self.metrics_token);
        let res =
            twofold_http::serve::serve(self.listener, app, &self.limits, when_stopped()).await;
        if let Some(server) = metrics_server {
            match server.await {
                Ok(Err(e)) => tracing::warn!(error = %e, "the metrics listener failed"),
                Err(e) => tracing::warn!(error = %e, "the metrics listener failed"),
                Ok(Ok(())) => {}
            }
        }
        housekeeping.abort();
        // Mail queued by the last requests (a lock notice, a code) gets a moment to go out.
        if tokio::time::timeout(MAIL_DRAIN, mailer.idle())
            .await
            .is_err()
        {
            tracing::warn!("stopping with mail still undelivered");
        }
        twofold.close().await;
        res
    }
}

/// Expired flows and sessions are refused on read anyway; this only keeps tables small.
async fn purge_expired_forever(twofold: Twofold) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = twofold.purge_expired().await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
        if let Err(e) = twofold.retire_miss_costs().await {
            tracing::warn!(error = %e, "retiring miss costs failed");
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is
/// called, not when the answer is first awaited: call it before saying the server is
/// listening, so that a SIGTERM sent as soon as it is stops it gracefully instead of
/// killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (int, term) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(int) => {},
                () = wait(term) => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
