//! The stdout sink: one JSON object per line. A batch is acknowledged once it is
//! written and stdout flushed. Logs go to stderr, so stdout carries only records.

use std::io::Write;

use super::{Acks, Batch, BatchOutcome, BoxFuture, Sink, SinkError};

pub struct StdoutSink {
    out: std::io::Stdout,
}

impl StdoutSink {
    pub fn new() -> Self {
        StdoutSink {
            out: std::io::stdout(),
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes a batch as JSON lines; the whole batch is one write call where possible.
pub(crate) fn write_lines(w: &mut impl Write, batch: &Batch) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(batch.bytes + batch.len());
    for item in &batch.items {
        buf.extend_from_slice(&item.payload);
        buf.push(b'\n');
    }
    w.write_all(&buf)?;
    w.flush()
}

impl Sink for StdoutSink {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
        let n = batch.len();
        let outcome = match write_lines(&mut self.out.lock(), &batch) {
            Ok(()) => BatchOutcome::all_delivered(n),
            Err(e) => {
                // A closed stdout (e.g. `| head`) cannot take records: count them as failed.
                tracing::error!(error = %e, records = n, "stdout write failed");
                BatchOutcome::all_failed(n)
            }
        };
        super::settled(outcome)
    }

    fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async {
            self.out.lock().flush().map_err(|e| SinkError::Close {
                sink: "stdout",
                message: e.to_string(),
            })
        })
    }
}
