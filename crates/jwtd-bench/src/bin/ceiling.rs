//! The ceiling for `bench/run.sh`: a bare axum handler served exactly as `jwtd serve` serves its
//! router (a default multi-threaded tokio runtime as in `crates/jwtd/src/main.rs`; axum-server on
//! an already-bound listener with the HTTP/1 and HTTP/2 settings of
//! `crates/jwtd-server/src/server.rs`), so the only difference left is jwtd's own work.
//!
//! ```text
//! jwtd-bench-ceiling --listen 127.0.0.1:18200      # GET /hello/ → {"message":"Hello, world!"}
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::Parser;
use hyper_util::rt::TokioTimer;

/// jwtd's default `header_read_timeout`.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve a bare "hello" the way jwtd serves its API.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18200")]
    listen: SocketAddr,
}

async fn hello() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"message":"Hello, world!"}"#,
    )
}

async fn serve(listener: std::net::TcpListener) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/hello/", get(hello))
        .route("/healthz", get(|| async { r#"{"status":"ok"}"# }))
        .into_make_service_with_connect_info::<SocketAddr>();
    listener.set_nonblocking(true)?;
    let mut server = axum_server::from_tcp(listener)?.first_request_timeout(HEADER_READ_TIMEOUT);
    let builder = server.http_builder();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(HEADER_READ_TIMEOUT);
    server.serve(app).await.context("serving")
}

fn main() -> ExitCode {
    let args = Args::parse();
    let run = || -> anyhow::Result<()> {
        let listener = std::net::TcpListener::bind(args.listen)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        runtime.block_on(serve(listener))
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
