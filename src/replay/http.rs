//! Just enough HTTP/1.1 for the mock exchange: peek at a request head to tell a
//! WebSocket upgrade from a REST request, and answer a GET or a POST with one response.

use std::future::Future;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The request line and headers of an HTTP request.
pub struct Head {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    /// Bytes of the head (including the blank line) in the stream.
    len: usize,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
}

/// Reads the request head without consuming it (the WebSocket handshake needs it).
pub async fn peek_head(stream: &TcpStream) -> anyhow::Result<Head> {
    let mut buf = vec![0u8; 16 * 1024];
    for _ in 0..200 {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            anyhow::bail!("connection closed before a request");
        }
        if let Some(end) = find_blank_line(&buf[..n]) {
            return parse_head(&buf[..end], end);
        }
        if n == buf.len() {
            anyhow::bail!("request head larger than {} bytes", buf.len());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    anyhow::bail!("incomplete request head")
}

fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn parse_head(bytes: &[u8], len: usize) -> anyhow::Result<Head> {
    let text = std::str::from_utf8(bytes)?;
    let mut lines = text.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Head {
        method,
        path,
        headers,
        len,
    })
}

/// Answers one plain request (GET or POST): 200 with the body `respond` finds for the
/// method, the path and the request body (a POST's JSON, empty for a GET), else 404
/// with a short JSON error naming the path.
pub async fn answer<F, Fut>(mut stream: TcpStream, head: &Head, respond: F) -> anyhow::Result<()>
where
    F: FnOnce(String, String, String) -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let mut consumed = vec![0u8; head.len];
    stream.read_exact(&mut consumed).await?;
    // Unread request bytes would turn the close into a reset the client may see
    // before the response.
    let body_len = head
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut request_body = vec![0u8; body_len];
    stream.read_exact(&mut request_body).await?;
    let (status, body) = if head.method != "GET" && head.method != "POST" {
        (
            "405 Method Not Allowed",
            r#"{"error":"only GET and POST are answered"}"#.to_string(),
        )
    } else {
        let request_body = String::from_utf8_lossy(&request_body).into_owned();
        match respond(head.method.clone(), head.path.clone(), request_body).await {
            Some(body) => ("200 OK", body),
            // A short body: the path, cut to 120 characters.
            None => (
                "404 Not Found",
                format!(
                    r#"{{"error":"no recorded response for {}"}}"#,
                    head.path
                        .chars()
                        .take(120)
                        .collect::<String>()
                        .replace(['"', '\\'], "'")
                ),
            ),
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}
