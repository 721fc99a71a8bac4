//! The accept loop in the background: one task per connection, and a bounded shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A byte stream a connection runs over (plain TCP, TLS...), boxed as `Box<dyn Io>`.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A bound TCP listener, not serving yet: its address is known before the state its
/// connections share is built.
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
    addr: SocketAddr,
}

impl Listener {
    /// Binds `addr` (port 0: any free port).
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        let addr = tcp.local_addr()?;
        Ok(Self { tcp, addr })
    }

    /// The bound address (with the port chosen).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves on the current tokio runtime: every connection is handled by `handle(tcp, stop)`
    /// on its own task (with `TCP_NODELAY`), where `stop` turns `true` at shutdown; an error
    /// that ends one is logged at debug level. At [`Server::shutdown`] the open connections
    /// have `grace` to end before they are aborted.
    pub fn serve<F, Fut>(self, grace: Duration, handle: F) -> Server
    where
        F: FnMut(TcpStream, watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(self.tcp, stopped, grace, handle));
        Server {
            addr: self.addr,
            stop,
            task,
        }
    }
}

/// A listener served in the background until [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, signals every connection, and returns once they have all ended (within
    /// the grace period, or aborted after it).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop<F, Fut>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
    mut handle: F,
) where
    F: FnMut(TcpStream, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let connection = handle(tcp, stop.clone());
                tasks.spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    let _ = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn connections_are_served_until_shutdown_which_ends_them_within_the_grace() {
        let listener = Listener::bind(([127, 0, 0, 1], 0).into()).await.unwrap();
        let addr = listener.local_addr();
        assert_ne!(addr.port(), 0);
        let server = listener.serve(
            Duration::from_millis(50),
            |mut tcp: TcpStream, mut stop: watch::Receiver<bool>| async move {
                assert!(tcp.nodelay()?);
                let mut byte = [0u8; 1];
                if tcp.read(&mut byte).await? == 0 {
                    return Ok(());
                }
                tcp.write_all(&byte).await?;
                // Then waits for the stop signal, and says goodbye.
                let _ = stop.wait_for(|s| *s).await;
                tcp.write_all(b"bye").await
            },
        );
        let mut polite = TcpStream::connect(addr).await.unwrap();
        polite.write_all(b"x").await.unwrap();
        let mut echo = [0u8; 1];
        polite.read_exact(&mut echo).await.unwrap();
        assert_eq!(&echo, b"x");

        // A peer that never sends: its task waits until shutdown aborts it.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let server_addr = server.local_addr();
        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .expect("the server ends after its grace");
        assert_eq!(server_addr, addr);
        let mut said = Vec::new();
        polite.read_to_end(&mut said).await.unwrap();
        assert_eq!(said, b"bye");
        let mut said = Vec::new();
        assert_eq!(silent.read_to_end(&mut said).await.unwrap(), 0);
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer listening"
        );
    }
}
