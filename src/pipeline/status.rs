//! The status records the bridge itself makes for a symbol (a sink-side loss, records
//! dropped from a full queue or buffer, a hot-standby takeover), next to those the
//! connectors make: one shape, the id `<exchange>.<market>.<symbol>.status.<what>`.

use tickbridge_connectors::time::now_ns;
use tickbridge_schema::{Data, Market, Record, Status, StatusEvent};

/// The symbol a bridge-made status record is about.
pub struct About<'a> {
    pub exchange: &'a str,
    pub market: Market,
    pub symbol: &'a str,
    pub native: &'a str,
}

/// A `status` record of `event` about `about`, received now; `what` completes its id
/// (deterministic where the event is: the same loss names the same id on every path).
pub fn status_record(about: &About<'_>, event: StatusEvent, what: &str, reason: String) -> Record {
    Record {
        v: tickbridge_schema::SCHEMA_VERSION,
        exchange: about.exchange.into(),
        market: about.market,
        symbol: about.symbol.into(),
        native: about.native.into(),
        ts_exchange: None,
        ts_recv: now_ns(),
        seq: None,
        id: format!(
            "{}.{}.{}.status.{what}",
            about.exchange,
            about.market.as_str(),
            about.symbol
        ),
        data: Data::Status(Status {
            event,
            channel: None,
            reason: Some(reason),
            expected: None,
            got: None,
        }),
    }
}
