//! The file sink: JSON lines appended to a file. A batch is acknowledged after the
//! write and flush (and fsync, when configured) returned.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

use super::stdout::write_lines;
use super::{Acks, Batch, BatchOutcome, BoxFuture, Sink, SinkError};
use crate::config::FileConfig;

pub struct FileSink {
    file: Mutex<File>,
    path: String,
    fsync: bool,
}

impl FileSink {
    pub fn open(config: &FileConfig) -> Result<Self, SinkError> {
        let path = config.path.display().to_string();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.path)
            .map_err(|source| SinkError::Io {
                sink: "file",
                path: path.clone(),
                source,
            })?;
        Ok(FileSink {
            file: Mutex::new(file),
            path,
            fsync: config.fsync,
        })
    }

    fn write(&self, batch: &Batch) -> std::io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        write_lines(&mut *file, batch)?;
        if self.fsync {
            file.sync_data()?;
        }
        Ok(())
    }
}

impl Sink for FileSink {
    fn name(&self) -> &'static str {
        "file"
    }

    fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
        let n = batch.len();
        let outcome = match self.write(&batch) {
            Ok(()) => BatchOutcome::all_delivered(n),
            Err(e) => {
                tracing::error!(path = %self.path, error = %e, records = n, "file write failed");
                BatchOutcome::all_failed(n)
            }
        };
        super::settled(outcome)
    }

    fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            file.flush()
                .and_then(|_| file.sync_all())
                .map_err(|e| SinkError::Close {
                    sink: "file",
                    message: format!("{}: {e}", self.path),
                })
        })
    }
}
