//! An IP camera's RTSP server (RFC 2326 server side): answers OPTIONS, and DESCRIBE with an SDP
//! description, or with `401` and a Basic challenge when the persona requires a password.

use crate::probes::rtsp::parse_request;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Identity of a simulated camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspPersona {
    /// `Server` header, e.g. `Hikvision/V4.30.005`.
    pub server: String,
    /// SDP session name (`s=`).
    pub session_name: String,
    /// Whether DESCRIBE needs credentials (answered with 401 Basic).
    pub require_auth: bool,
}

impl RtspPersona {
    /// A waiting-room camera that streams to anyone.
    pub fn open_camera() -> Self {
        RtspPersona {
            server: "IPCamera-RTSP/2.1".into(),
            session_name: "Waiting room".into(),
            require_auth: false,
        }
    }
}

/// The reply to one request.
pub fn respond(persona: &RtspPersona, method: &str, cseq: u32, authorized: bool) -> Vec<u8> {
    let head = |status: &str, extra: &str| {
        format!(
            "RTSP/1.0 {status}\r\nCSeq: {cseq}\r\nServer: {}\r\n{extra}",
            persona.server
        )
    };
    let text = match method {
        "OPTIONS" => head(
            "200 OK",
            "Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER\r\n\r\n",
        ),
        "DESCRIBE" if persona.require_auth && !authorized => head(
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"camera\"\r\n\r\n",
        ),
        "DESCRIBE" => {
            let sdp = format!(
                "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns={}\r\nt=0 0\r\na=tool:medguard sim\r\n\
                 m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
                persona.session_name.replace(['\r', '\n'], " ")
            );
            head(
                "200 OK",
                &format!(
                    "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                    sdp.len()
                ),
            )
        }
        _ => head("405 Method Not Allowed", "\r\n"),
    };
    text.into_bytes()
}

/// Serve the persona on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: RtspPersona) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let persona = persona.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 2048];
            // At most a handful of requests per connection, each bounded in size and time.
            for _ in 0..8 {
                let req = loop {
                    match parse_request(&buf) {
                        Ok(Some(r)) => break r,
                        Ok(None) => {}
                        Err(_) => return,
                    }
                    let read =
                        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk));
                    match read.await {
                        Ok(Ok(n)) if n > 0 && buf.len() + n <= 16 * 1024 => {
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        _ => return,
                    }
                };
                buf.drain(..req.len.min(buf.len()));
                let reply = respond(
                    &persona,
                    &req.method,
                    req.cseq.unwrap_or(0),
                    req.authorization.is_some(),
                );
                if stream.write_all(&reply).await.is_err() {
                    return;
                }
            }
            let _ = stream.shutdown().await;
        });
    }
}
