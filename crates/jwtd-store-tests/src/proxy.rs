//! A TCP proxy on loopback between a store and its database, which a test can cut or freeze.
//!
//! Stopping the shared PostgreSQL server would disturb every other test running at the time;
//! cutting a proxy takes the database away from one store only, for real: its sockets are
//! closed, or stop carrying bytes while staying open, as across a broken network.

use std::net::{SocketAddr, ToSocketAddrs};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The address a `postgres://` URL names (port 5432 when none is written), for a proxy to
/// point at.
pub fn upstream(url: &str) -> SocketAddr {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        other => panic!("the outage checks need a TCP host in the URL, got {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    (host.as_str(), port)
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap()
}

/// `url` with its host and port replaced by `addr`, keeping user, password, database and options.
pub fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let user = authority
        .rsplit_once('@')
        .map_or(String::new(), |(user, _)| format!("{user}@"));
    format!("{scheme}://{user}{addr}{tail}")
}

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyState {
    /// Forwards both ways.
    Open,
    /// Closes every connection and closes new ones as soon as they are accepted.
    Cut,
    /// Keeps connections open but forwards nothing (new ones are accepted and then hang), like
    /// a network that drops packets while the kernel still acknowledges the bytes sent.
    Frozen,
}

/// A running proxy; dropping it closes everything.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    state: watch::Sender<ProxyState>,
    listener: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (state, _) = watch::channel(ProxyState::Open);
        let states = state.clone();
        let listener = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *states.borrow() == ProxyState::Cut {
                    continue; // dropped: closed at once
                }
                tokio::spawn(pipe(client, upstream, states.subscribe()));
            }
        });
        Ok(TcpProxy {
            addr,
            state,
            listener,
        })
    }

    /// The address to connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets what the proxy does from now on, to existing connections too.
    pub fn set(&self, state: ProxyState) {
        self.state.send_replace(state);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        // Dropping `state` ends every pipe (their receivers see the sender gone).
        self.listener.abort();
    }
}

async fn pipe(mut client: TcpStream, upstream: SocketAddr, mut state: watch::Receiver<ProxyState>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    loop {
        let current = *state.borrow_and_update();
        match current {
            ProxyState::Cut => return,
            ProxyState::Frozen => {
                if state.changed().await.is_err() {
                    return;
                }
                continue;
            }
            ProxyState::Open => {}
        }
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            read = client_read.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if server_write.write_all(&up[..n]).await.is_err() {
                        return;
                    }
                }
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if client_write.write_all(&down[..n]).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}
