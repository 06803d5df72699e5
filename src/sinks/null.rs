//! The null sink: acknowledges every record at once (benchmarks and `record`).

use super::{Acks, Batch, BatchOutcome, BoxFuture, Sink, SinkError};

pub struct NullSink;

impl Sink for NullSink {
    fn name(&self) -> &'static str {
        "null"
    }

    fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
        let n = batch.len();
        super::settled(BatchOutcome::all_delivered(n))
    }

    fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
}
