//! The capture writer: a [`FrameTap`] that records every frame of a source's sessions
//! as capture v1 (gzip JSON lines). Used by `tickbridge record`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use flate2::write::GzEncoder;
use tickbridge_connectors::session::FrameTap;
use tickbridge_connectors::time::now_ns;

use super::{Event, EventKind, Header};

pub struct CaptureWriter {
    out: Mutex<Option<GzEncoder<File>>>,
    path: String,
}

impl CaptureWriter {
    pub fn create(path: &Path, header: &Header) -> std::io::Result<Self> {
        let file = File::create(path)?;
        let mut gz = GzEncoder::new(file, flate2::Compression::default());
        serde_json::to_writer(&mut gz, header)?;
        gz.write_all(b"\n")?;
        Ok(CaptureWriter {
            out: Mutex::new(Some(gz)),
            path: path.display().to_string(),
        })
    }

    fn write(&self, event: Event) {
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(gz) = guard.as_mut() {
            let result = serde_json::to_writer(&mut *gz, &event)
                .map_err(std::io::Error::from)
                .and_then(|_| gz.write_all(b"\n"));
            if let Err(e) = result {
                tracing::error!(path = %self.path, error = %e, "capture write failed");
            }
        }
    }

    /// Finishes the gzip stream; later events are not written.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        match guard.take() {
            Some(gz) => gz.finish()?.sync_all(),
            None => Ok(()),
        }
    }

    fn event(conn: u64, ev: EventKind) -> Event {
        Event {
            ts: now_ns(),
            conn,
            ev,
            text: None,
            b64: None,
            url: None,
        }
    }
}

impl FrameTap for CaptureWriter {
    fn opened(&self, conn: u64, url: &str) {
        self.write(Event {
            url: Some(url.to_string()),
            ..Self::event(conn, EventKind::Open)
        });
    }
    fn sent(&self, conn: u64, text: &str) {
        self.write(Event {
            text: Some(text.to_string()),
            ..Self::event(conn, EventKind::Send)
        });
    }
    fn received_text(&self, conn: u64, text: &str) {
        self.write(Event {
            text: Some(text.to_string()),
            ..Self::event(conn, EventKind::Recv)
        });
    }
    fn received_binary(&self, conn: u64, payload: &[u8]) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
        self.write(Event {
            b64: Some(b64),
            ..Self::event(conn, EventKind::Recv)
        });
    }
    fn closed(&self, conn: u64) {
        self.write(Self::event(conn, EventKind::Close));
    }
    /// REST responses (order-book snapshots) are recorded as `conn: 0` `http` events,
    /// so a replay serves them to the next client with the same sync race.
    fn http(&self, url: &str, body: &str) {
        self.write(Event {
            url: Some(url.to_string()),
            text: Some(body.to_string()),
            ..Self::event(0, EventKind::Http)
        });
    }
}
