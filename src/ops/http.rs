//! The ops HTTP server: `/healthz`, `/readyz` and `/metrics` on one port.
//!
//! - `GET /healthz`: 200 while the run loop's heartbeat is fresh (the process is alive
//!   and its event loop responsive), else 503. Use it for liveness and startup probes.
//! - `GET /readyz`: 200 when the sink is connected and every planned connection is
//!   subscribed and delivering (none stale: no data past its source's watchdog
//!   window); 503 before that, while a source is stale, and from the moment shutdown
//!   begins (before the sources stop), so traffic moves away before the drain. The
//!   body says why (`not ready: binance spot: 1 of 2 subscribed connections stale
//!   ...`).
//! - `GET /metrics`: Prometheus text (see [`super::metrics`]).
//!
//! The server is bound before the sink is built (so probes get answers while a broker
//! connection is pending) and stopped after the drain. Each connection is a task on
//! the server's own `TaskTracker`; on stop, connections finish their request in hand
//! (bounded by [`CLOSE_GRACE`]) and are joined.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::{metrics, OpsState};

/// How long a client may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an open connection may take to finish once the server stops.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A bound, not yet serving, ops server.
pub struct OpsServer {
    listener: TcpListener,
    addr: SocketAddr,
}

impl OpsServer {
    /// Binds `listen` (`host:port`; port 0 picks a free one). An empty `listen`
    /// disables the server: `Ok(None)`.
    pub async fn bind(listen: &str) -> std::io::Result<Option<OpsServer>> {
        let listen = listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        Ok(Some(OpsServer { listener, addr }))
    }

    /// The bound address (the real port when `listen` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `stop`, then lets open connections finish and joins them.
    pub async fn serve(self, ops: Arc<OpsState>, stop: CancellationToken) {
        let connections = TaskTracker::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        connections.spawn(connection(stream, ops.clone(), stop.clone()));
                    }
                    Err(e) => {
                        // E.g. out of file descriptors: back off instead of spinning.
                        warn!(error = %e, "ops server: accept failed");
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        }
                    }
                },
            }
        }
        drop(self.listener);
        connections.close();
        connections.wait().await;
        debug!(addr = %self.addr, "ops server stopped");
    }
}

/// One HTTP/1.1 connection (keep-alive allowed), until the client closes it or the
/// server stops.
async fn connection(stream: TcpStream, ops: Arc<OpsState>, stop: CancellationToken) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = respond(&ops, request.method(), request.uri().path());
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                debug!(error = %e, "ops connection ended with an error");
            }
            return;
        }
        _ = stop.cancelled() => {}
    }
    // Finish the request in hand (if any), then close; bounded.
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
}

/// The answer to one request.
pub fn respond(ops: &OpsState, method: &Method, path: &str) -> Response<String> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n".into());
    }
    match path {
        "/healthz" => match ops.liveness() {
            Ok(()) => text(StatusCode::OK, "ok\n".into()),
            Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
        },
        "/readyz" => match ops.readiness() {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        "/metrics" => {
            let mut response = text(StatusCode::OK, metrics::render(ops));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /healthz, /readyz or /metrics\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn routes_answer_with_status_and_reason() {
        let ops = OpsState::default();
        let get = |path: &str| {
            let r = respond(&ops, &Method::GET, path);
            (r.status().as_u16(), r.body().clone())
        };
        assert_eq!(get("/healthz"), (503, "not started\n".into()));
        ops.beat();
        assert_eq!(get("/healthz"), (200, "ok\n".into()));
        assert_eq!(
            get("/readyz"),
            (503, "not ready: sink not started\n".into())
        );
        ops.draining.store(true, Relaxed);
        assert_eq!(get("/readyz"), (503, "not ready: draining\n".into()));
        assert_eq!(get("/nope").0, 404);
        let metrics = respond(&ops, &Method::GET, "/metrics");
        assert_eq!(metrics.status(), 200);
        assert_eq!(metrics.headers()[CONTENT_TYPE], metrics::CONTENT_TYPE);
        assert_eq!(respond(&ops, &Method::POST, "/readyz").status(), 405);
    }

    #[tokio::test]
    async fn serves_over_tcp_and_stops_with_open_connections() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let ops = Arc::new(OpsState::default());
        ops.beat();
        let server = OpsServer::bind("127.0.0.1:0").await.unwrap().unwrap();
        let addr = server.addr();
        let stop = CancellationToken::new();
        let serving_handle = tokio::spawn(server.serve(ops, stop.clone()));
        // An idle keep-alive connection must not hold the server open.
        let idle = TcpStream::connect(addr).await.unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
        stop.cancel();
        tokio::time::timeout(CLOSE_GRACE * 3, serving_handle)
            .await
            .expect("the server stops within its grace")
            .unwrap();
        drop(idle);
        assert!(OpsServer::bind("").await.unwrap().is_none());
    }
}
