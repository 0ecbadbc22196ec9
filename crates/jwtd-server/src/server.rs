//! The listening side: HTTP/1.1 and HTTP/2 (by ALPN over TLS, or by prior knowledge in clear
//! text), TLS with certificate reload, slow-client timeouts and graceful shutdown.
//!
//! `axum-server` runs the accept loop (hyper-util's auto builder, tokio-rustls, a graceful
//! shutdown handle); this module only sets it up from the configuration.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use hyper_util::rt::TokioTimer;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{Limits, TlsFiles};
use crate::router;
use crate::state::AppState;

/// A certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct TlsError {
    /// The setting naming the bad file.
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// The TLS configuration in use, which [`Tls::reload`] swaps for new connections.
#[derive(Clone)]
pub struct Tls {
    files: TlsFiles,
    config: RustlsConfig,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

impl Tls {
    /// Loads the certificate chain and key.
    pub fn load(files: &TlsFiles) -> Result<Tls, TlsError> {
        let config = server_config(files)?;
        Ok(Tls {
            files: files.clone(),
            config: RustlsConfig::from_config(config),
        })
    }

    /// Reads the files again. New connections use the new certificate; open connections keep
    /// theirs. On error the old certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.files)?;
        self.config.reload_from_config(config);
        Ok(())
    }
}

fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError {
        setting: "tls_key_file",
        reason: format!("{}: no usable PEM private key ({e})", files.key.display()),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError {
            setting: "tls_cert_file",
            reason: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError {
            setting: "tls_key_file",
            reason: format!("does not match the certificate or is unusable: {e}"),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError {
        setting: "tls_cert_file",
        reason: format!("{}: {reason}", path.display()),
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if chain.is_empty() {
        return Err(error("no PEM certificate found".to_owned()));
    }
    Ok(chain)
}

/// What to serve and how.
pub struct Listeners {
    /// The API listener (already bound).
    pub api: std::net::TcpListener,
    /// A separate listener for `/metrics`, if configured.
    pub metrics: Option<std::net::TcpListener>,
}

/// Serves until `shutdown` completes, then stops accepting, lets requests in flight finish for up
/// to `limits.shutdown_timeout`, and returns. The state (and with it the store) is dropped
/// before this returns.
pub async fn serve(
    listeners: Listeners,
    state: AppState,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle: Handle<SocketAddr> = Handle::new();
    let app = router::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();

    let metrics_server = match listeners.metrics {
        Some(listener) => {
            listener.set_nonblocking(true)?;
            let app = router::metrics_router(state.clone())
                .into_make_service_with_connect_info::<SocketAddr>();
            let mut server = axum_server::from_tcp(listener)?.handle(handle.clone());
            configure(server.http_builder(), limits);
            Some(tokio::spawn(server.serve(app)))
        }
        None => None,
    };
    drop(state);

    let waiter = handle.clone();
    let grace = limits.shutdown_timeout;
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            connections = waiter.connection_count(),
            grace_seconds = grace.as_secs(),
            "shutting down: no new connections, finishing requests in flight"
        );
        waiter.graceful_shutdown(Some(grace));
    });

    listeners.api.set_nonblocking(true)?;
    let result = match tls {
        Some(tls) => {
            let mut server = axum_server::from_tcp_rustls(listeners.api, tls.config)?
                .handle(handle.clone())
                .first_request_timeout(limits.header_read_timeout);
            configure(server.http_builder(), limits);
            server.serve(app).await
        }
        None => {
            let mut server = axum_server::from_tcp(listeners.api)?
                .handle(handle.clone())
                .first_request_timeout(limits.header_read_timeout);
            configure(server.http_builder(), limits);
            server.serve(app).await
        }
    };
    if let Some(metrics_server) = metrics_server {
        // The shared handle stops it too.
        let _ = metrics_server.await;
    }
    result
}

/// Slow-client protection: a client has `header_read_timeout` to send each request's headers.
fn configure(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: Limits,
) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(limits.header_read_timeout);
}
