//! Bounded network I/O shared by every probe: connect with a timeout, read with a size cap and a
//! deadline, close cleanly. No probe reads from a socket any other way.

use crate::probe::{ProbeContext, ProbeError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout};

/// Connect over TCP within the context's I/O timeout.
/// Waits for the scan's rate limiter first (every connection counts against the host's rate).
pub async fn connect(ctx: &ProbeContext) -> Result<TcpStream, ProbeError> {
    ctx.pace().await;
    match timeout(ctx.io_timeout, TcpStream::connect(ctx.addr)).await {
        Ok(Ok(s)) => {
            // Small request/response exchanges: don't wait for Nagle.
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(source)) => Err(ProbeError::Connect {
            addr: ctx.addr,
            source,
        }),
        Err(_) => Err(ProbeError::Timeout(ctx.io_timeout)),
    }
}

/// Write all of `buf` within the I/O timeout (a TCP stream or a TLS session over one).
pub async fn send<S: tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &[u8],
    ctx: &ProbeContext,
) -> Result<(), ProbeError> {
    match timeout(ctx.io_timeout, stream.write_all(buf)).await {
        Ok(r) => r.map_err(ProbeError::Io),
        Err(_) => Err(ProbeError::Timeout(ctx.io_timeout)),
    }
}

/// Read until `complete(buf)` returns `Some(n)` (a whole message of `n` bytes is in `buf`), the peer
/// closes, `max` bytes arrive (error) or the I/O timeout passes without progress. Slow-drip peers are
/// cut off by `ctx.deadline` overall. Works on a TCP stream or a TLS session over one.
pub async fn read_until<S, F>(
    stream: &mut S,
    ctx: &ProbeContext,
    max: usize,
    mut complete: F,
) -> Result<Vec<u8>, ProbeError>
where
    S: tokio::io::AsyncRead + Unpin,
    F: FnMut(&[u8]) -> Option<usize>,
{
    let max = max.min(ctx.max_reply);
    let started = Instant::now();
    let mut buf = Vec::with_capacity(1024.min(max));
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = complete(&buf) {
            buf.truncate(n.min(buf.len()));
            return Ok(buf);
        }
        let left = ctx.deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(ProbeError::Timeout(ctx.deadline));
        }
        let wait = ctx.io_timeout.min(left);
        let n = match timeout(wait, stream.read(&mut chunk)).await {
            Ok(r) => r?,
            Err(_) => {
                return if buf.is_empty() || started.elapsed() >= ctx.deadline {
                    Err(ProbeError::Timeout(wait))
                } else {
                    // The peer said something and went quiet: let the parser judge what it has.
                    // A peer still dripping when the whole deadline is spent gets a timeout.
                    Ok(buf)
                };
            }
        };
        if n == 0 {
            return Ok(buf);
        }
        if buf.len() + n > max {
            return Err(ProbeError::TooLarge(max));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Read exactly `n` bytes (a length-prefixed PDU body), bounded by `max` and the deadlines.
pub async fn read_exact(
    stream: &mut TcpStream,
    ctx: &ProbeContext,
    n: usize,
) -> Result<Vec<u8>, ProbeError> {
    if n > ctx.max_reply {
        return Err(ProbeError::TooLarge(ctx.max_reply));
    }
    let buf = read_until(stream, ctx, n, |b| (b.len() >= n).then_some(n)).await?;
    if buf.len() < n {
        return Err(ProbeError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("peer closed after {} of {n} bytes", buf.len()),
        )));
    }
    Ok(buf)
}

/// Shut the write side and drop: a clean FIN, never a half-open connection left on the device.
pub async fn close(mut stream: TcpStream) {
    let _ = timeout(Duration::from_millis(500), stream.shutdown()).await;
}

/// Send one UDP datagram and wait for one reply from the same peer.
pub async fn udp_exchange(ctx: &ProbeContext, request: &[u8]) -> Result<Vec<u8>, ProbeError> {
    let bind: std::net::SocketAddr = if ctx.addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(ctx.addr).await?;
    ctx.pace().await;
    sock.send(request).await?;
    let mut buf = vec![0u8; ctx.max_reply.min(65_535)];
    match timeout(ctx.io_timeout, sock.recv(&mut buf)).await {
        Ok(Ok(n)) => {
            buf.truncate(n);
            Ok(buf)
        }
        Ok(Err(e)) => Err(ProbeError::Io(e)),
        Err(_) => Err(ProbeError::Timeout(ctx.io_timeout)),
    }
}

/// Make peer bytes safe to show and store: printable ASCII, others escaped, capped in length.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b' '..=b'~' => out.push(b as char),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn printable_escapes_and_caps() {
        assert_eq!(printable(b"SSH-2.0\r\n\x00", 100), "SSH-2.0\\r\\n\\x00");
        assert_eq!(printable(b"abcdef", 3), "abc…");
    }

    #[tokio::test]
    async fn read_until_caps_size_and_survives_slow_drip() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                // Slow drip: one byte every 50 ms, forever.
                tokio::spawn(async move {
                    while s.write_all(b"x").await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
            }
        });
        let mut ctx = ProbeContext::new(addr);
        ctx.deadline = Duration::from_millis(400);
        let mut s = connect(&ctx).await.expect("connect");
        let started = Instant::now();
        let r = read_until(&mut s, &ctx, 1 << 20, |_| None).await;
        assert!(matches!(r, Err(ProbeError::Timeout(_))), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(2));

        let mut s = connect(&ctx).await.expect("connect");
        let r = read_until(&mut s, &ctx, 3, |_| None).await;
        assert!(matches!(r, Err(ProbeError::TooLarge(3))), "{r:?}");
    }
}
