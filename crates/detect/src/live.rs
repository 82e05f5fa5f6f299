//! Live syslog reception over UDP, TCP (RFC 6587 octet counting or newline framing) and TLS
//! (RFC 5425, rustls with the ring provider).
//!
//! Listeners push raw messages into one bounded queue. TCP and TLS senders are slowed down by
//! back-pressure when the queue is full (nothing accepted is lost); UDP cannot be slowed down, so a
//! datagram arriving at a full queue is dropped and counted in [`Stats::dropped`]. Oversized or
//! undecodable input is counted in [`Stats::malformed`] and the listener keeps going.

use crate::error::DetectError;
use crate::readers::syslog::MAX_MESSAGE;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

/// Default queue length between the listeners and the engine.
pub const DEFAULT_QUEUE: usize = 65_536;
/// Most concurrent TCP/TLS connections; further ones wait in the kernel backlog.
const MAX_CONNECTIONS: usize = 256;

/// A received syslog message and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub text: String,
    /// `udp://1.2.3.4:514` and the like.
    pub peer: String,
}

/// Counters shared by the listeners and the consumer.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages accepted into the queue.
    pub received: AtomicU64,
    /// UDP datagrams dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Oversized frames or broken framing (counted, skipped).
    pub malformed: AtomicU64,
    /// TCP/TLS connections accepted.
    pub connections: AtomicU64,
    /// TLS handshakes that failed.
    pub tls_failures: AtomicU64,
}

impl Stats {
    /// (received, dropped, malformed) now.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.received.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.malformed.load(Ordering::Relaxed),
        )
    }
}

/// Certificate and key (PEM) for `tls://` listeners.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What to listen on.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// `udp://ADDR:PORT`, `tcp://ADDR:PORT`, `tls://ADDR:PORT`.
    pub listeners: Vec<String>,
    pub tls: Option<TlsFiles>,
    pub queue: usize,
}

/// Running listeners and the queue they fill.
pub struct Live {
    runtime: tokio::runtime::Runtime,
    rx: mpsc::Receiver<RawMessage>,
    stats: Arc<Stats>,
    bound: Vec<(String, SocketAddr)>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").field("bound", &self.bound).finish()
    }
}

fn listen_err(url: &str, reason: impl std::fmt::Display) -> DetectError {
    DetectError::Listen {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, DetectError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| DetectError::Tls {
            path: files.cert.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(DetectError::Tls {
            path: files.cert.clone(),
            reason: "no certificate in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| DetectError::Tls {
        path: files.key.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DetectError::Tls {
            path: files.cert.clone(),
            reason: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| DetectError::Tls {
            path: files.cert.clone(),
            reason: e.to_string(),
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Read framed syslog messages from a stream: RFC 6587 octet counting (`LEN SP MSG`) when a frame
/// starts with a digit, otherwise newline-terminated.
async fn read_stream<R: AsyncRead + Unpin>(
    stream: R,
    peer: String,
    tx: mpsc::Sender<RawMessage>,
    stats: Arc<Stats>,
) {
    let mut r = BufReader::with_capacity(64 * 1024, stream);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let first = match r.fill_buf().await {
            Ok([]) | Err(_) => return,
            Ok(b) => b[0],
        };
        buf.clear();
        if first.is_ascii_digit() {
            // Octet counting: digits, a space, then exactly LEN bytes.
            let mut len: usize = 0;
            let mut digits = 0;
            loop {
                let mut b = [0u8; 1];
                if r.read_exact(&mut b).await.is_err() {
                    return;
                }
                match b[0] {
                    d @ b'0'..=b'9' if digits < 9 => {
                        len = len * 10 + usize::from(d - b'0');
                        digits += 1;
                    }
                    b' ' => break,
                    _ => {
                        // Not octet counting after all: treat the rest of the line as a message.
                        buf.push(b[0]);
                        len = usize::MAX;
                        break;
                    }
                }
            }
            if len == usize::MAX {
                if read_line(&mut r, &mut buf, &stats).await.is_none() {
                    return;
                }
            } else if len > MAX_MESSAGE {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                // Skip the oversized frame without buffering it.
                let mut skip = (&mut r).take(len as u64);
                if tokio::io::copy(&mut skip, &mut tokio::io::sink())
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            } else {
                buf.resize(len, 0);
                if r.read_exact(&mut buf).await.is_err() {
                    return;
                }
            }
        } else if read_line(&mut r, &mut buf, &stats).await.is_none() {
            return;
        }
        let text = String::from_utf8_lossy(&buf).trim_end().to_string();
        if text.is_empty() {
            continue;
        }
        stats.received.fetch_add(1, Ordering::Relaxed);
        // Back-pressure: wait for room rather than dropping what the sender trusted us with.
        if tx
            .send(RawMessage {
                text,
                peer: peer.clone(),
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Read up to a newline into `buf`, keeping at most [`MAX_MESSAGE`] bytes. `None` at end of stream.
async fn read_line<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    buf: &mut Vec<u8>,
    stats: &Stats,
) -> Option<()> {
    let mut truncated = false;
    loop {
        let avail = match r.fill_buf().await {
            Ok([]) => return if buf.is_empty() { None } else { Some(()) },
            Ok(b) => b,
            Err(_) => return None,
        };
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        let room = MAX_MESSAGE.saturating_sub(buf.len());
        if chunk.len() > room {
            truncated = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = done.unwrap_or(avail.len());
        r.consume(n);
        if done.is_some() {
            if truncated {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
            }
            return Some(());
        }
    }
}

impl Live {
    /// Bind every listener and start receiving.
    pub fn start(config: &LiveConfig) -> Result<Live, DetectError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| listen_err("runtime", e))?;
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(Stats::default());
        let acceptor = match (
            &config.tls,
            config.listeners.iter().any(|l| l.starts_with("tls://")),
        ) {
            (Some(files), true) => Some(tls_acceptor(files)?),
            (None, true) => {
                return Err(listen_err(
                    "tls://",
                    "a tls:// listener needs --tls-cert and --tls-key",
                ));
            }
            _ => None,
        };
        let conn_limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let mut bound = Vec::new();
        for url in &config.listeners {
            let (scheme, addr) = url
                .split_once("://")
                .ok_or_else(|| listen_err(url, "expected udp://, tcp:// or tls://ADDR:PORT"))?;
            let addr: SocketAddr = addr
                .parse()
                .map_err(|e| listen_err(url, format!("bad address: {e}")))?;
            let tx = tx.clone();
            let stats = stats.clone();
            match scheme {
                "udp" => {
                    let sock = runtime
                        .block_on(UdpSocket::bind(addr))
                        .map_err(|e| listen_err(url, e))?;
                    let local = sock.local_addr().map_err(|e| listen_err(url, e))?;
                    bound.push((url.clone(), local));
                    runtime.spawn(async move {
                        let mut buf = vec![0u8; 65_536];
                        loop {
                            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                                continue;
                            };
                            let Some(data) = buf.get(..n) else { continue };
                            let text = String::from_utf8_lossy(data).trim_end().to_string();
                            if text.is_empty() {
                                stats.malformed.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            let msg = RawMessage {
                                text,
                                peer: format!("udp://{peer}"),
                            };
                            match tx.try_send(msg) {
                                Ok(()) => {
                                    stats.received.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(mpsc::error::TrySendError::Full(_)) => {
                                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(mpsc::error::TrySendError::Closed(_)) => return,
                            }
                        }
                    });
                }
                "tcp" | "tls" => {
                    let listener = runtime
                        .block_on(TcpListener::bind(addr))
                        .map_err(|e| listen_err(url, e))?;
                    let local = listener.local_addr().map_err(|e| listen_err(url, e))?;
                    bound.push((url.clone(), local));
                    let acceptor = if scheme == "tls" {
                        acceptor.clone()
                    } else {
                        None
                    };
                    let limit = conn_limit.clone();
                    let scheme = scheme.to_string();
                    runtime.spawn(async move {
                        loop {
                            let Ok(permit) = limit.clone().acquire_owned().await else {
                                return;
                            };
                            let Ok((sock, peer)) = listener.accept().await else {
                                continue;
                            };
                            stats.connections.fetch_add(1, Ordering::Relaxed);
                            let tx = tx.clone();
                            let stats = stats.clone();
                            let acceptor = acceptor.clone();
                            let peer = format!("{scheme}://{peer}");
                            tokio::spawn(async move {
                                let _permit = permit;
                                match acceptor {
                                    Some(acc) => {
                                        let hs = tokio::time::timeout(
                                            Duration::from_secs(10),
                                            acc.accept(sock),
                                        )
                                        .await;
                                        match hs {
                                            Ok(Ok(tls)) => read_stream(tls, peer, tx, stats).await,
                                            _ => {
                                                stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                                            }
                                        }
                                    }
                                    None => read_stream(sock, peer, tx, stats).await,
                                }
                            });
                        }
                    });
                }
                other => {
                    return Err(listen_err(
                        url,
                        format!("unknown scheme {other:?} (expected udp, tcp or tls)"),
                    ));
                }
            }
        }
        Ok(Live {
            runtime,
            rx,
            stats,
            bound,
        })
    }

    /// The addresses actually bound (useful with port 0).
    pub fn bound(&self) -> &[(String, SocketAddr)] {
        &self.bound
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The next message, waiting at most `timeout`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<RawMessage> {
        let rx = &mut self.rx;
        self.runtime.block_on(async {
            tokio::time::timeout(timeout, rx.recv())
                .await
                .ok()
                .flatten()
        })
    }

    /// Messages already queued, without waiting (at most `max`).
    pub fn drain(&mut self, max: usize, out: &mut Vec<RawMessage>) {
        while out.len() < max {
            match self.rx.try_recv() {
                Ok(m) => out.push(m),
                Err(_) => break,
            }
        }
    }
}
