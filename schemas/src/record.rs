//! The schema v1 record: one envelope shared by every kind, and one payload per kind.
//!
//! ```json
//! {"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT",
//!  "ts_exchange":1723161255342000000,"ts_recv":1723161253937085768,"seq":3735683259,
//!  "id":"binance.spot.BTC-USDT.trade.3735683259",
//!  "kind":"trade","price":"61837.63","size":"0.02","side":"sell","trade_id":"3735683259"}
//! ```
//!
//! A change that breaks consumers bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::Dec;

/// The value of the `v` field of every record this crate writes.
pub const SCHEMA_VERSION: u8 = 1;

/// One normalized market-data event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Schema version, always [`SCHEMA_VERSION`].
    pub v: u8,
    /// Exchange name as listed by `tickbridge exchanges` (`binance`, `coinbase`, ...).
    pub exchange: SmolStr,
    pub market: Market,
    /// Normalized symbol: `BASE-QUOTE`, plus `-PERP` or `-YYMMDD` for derivatives.
    pub symbol: SmolStr,
    /// The exchange's own symbol.
    pub native: SmolStr,
    /// Exchange event time, ns since the Unix epoch; `null` when the feed has none.
    pub ts_exchange: Option<i64>,
    /// Local receive time of the frame, ns since the Unix epoch.
    pub ts_recv: i64,
    /// The exchange's sequence number for this event, when the feed has one.
    pub seq: Option<u64>,
    /// Deterministic id: the same exchange event always yields the same id.
    pub id: String,
    #[serde(flatten)]
    pub data: Data,
}

/// The market type of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    Spot,
    Perp,
    Future,
    Option,
}

impl Market {
    pub fn as_str(self) -> &'static str {
        match self {
            Market::Spot => "spot",
            Market::Perp => "perp",
            Market::Future => "future",
            Market::Option => "option",
        }
    }
}

/// The kind-specific payload; `kind` is its tag in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Data {
    Trade(Trade),
    Bbo(Bbo),
    Book(Book),
    Ticker(Box<Ticker>),
    Funding(Funding),
    OpenInterest(OpenInterest),
    Liquidation(Liquidation),
    MarkPrice(MarkPrice),
    Instrument(Box<Instrument>),
    Status(Status),
}

/// The record kinds, for routing (topic and subject templates) and metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Trade,
    Bbo,
    Book,
    Ticker,
    Funding,
    OpenInterest,
    Liquidation,
    MarkPrice,
    Instrument,
    Status,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Trade,
        Kind::Bbo,
        Kind::Book,
        Kind::Ticker,
        Kind::Funding,
        Kind::OpenInterest,
        Kind::Liquidation,
        Kind::MarkPrice,
        Kind::Instrument,
        Kind::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Trade => "trade",
            Kind::Bbo => "bbo",
            Kind::Book => "book",
            Kind::Ticker => "ticker",
            Kind::Funding => "funding",
            Kind::OpenInterest => "open_interest",
            Kind::Liquidation => "liquidation",
            Kind::MarkPrice => "mark_price",
            Kind::Instrument => "instrument",
            Kind::Status => "status",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl Data {
    pub fn kind(&self) -> Kind {
        match self {
            Data::Trade(_) => Kind::Trade,
            Data::Bbo(_) => Kind::Bbo,
            Data::Book(_) => Kind::Book,
            Data::Ticker(_) => Kind::Ticker,
            Data::Funding(_) => Kind::Funding,
            Data::OpenInterest(_) => Kind::OpenInterest,
            Data::Liquidation(_) => Kind::Liquidation,
            Data::MarkPrice(_) => Kind::MarkPrice,
            Data::Instrument(_) => Kind::Instrument,
            Data::Status(_) => Kind::Status,
        }
    }
}

impl Record {
    pub fn kind(&self) -> Kind {
        self.data.kind()
    }

    /// The partitioning key: `exchange.market.symbol` (per-symbol order is kept per key).
    pub fn key(&self) -> String {
        format!("{}.{}.{}", self.exchange, self.market.as_str(), self.symbol)
    }

    /// Serializes the record as one compact JSON object.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the record's compact JSON to `out`: exactly what serde writes for
    /// it, by a dedicated encoder (see `json.rs`; this is the hot path).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        crate::json::write_record(self, out);
    }
}

/// The side of a trade's taker (the aggressor), or of a liquidation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// A trade. `side` is the taker's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub price: Dec,
    pub size: Dec,
    pub side: Side,
    pub trade_id: SmolStr,
}

/// Best bid and offer. A side is `null` when that side of the book is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bbo {
    pub bid_price: Option<Dec>,
    pub bid_size: Option<Dec>,
    pub ask_price: Option<Dec>,
    pub ask_size: Option<Dec>,
}

/// One price level: `[price, size]`; size `"0"` deletes the level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level(pub Dec, pub Dec);

/// An L2 order-book change (or a full snapshot when `snapshot` is true).
///
/// The envelope's `seq` is the book's sequence after this change; `prev_seq` the one
/// before it. A book record is only ever emitted from an intact chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Book {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub snapshot: bool,
    pub prev_seq: Option<u64>,
    /// Whether the exchange's checksum matched after applying this change; `null`
    /// when the exchange provides none.
    pub checksum_ok: Option<bool>,
}

/// A 24-hour rolling ticker. Fields an exchange does not send are `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ticker {
    pub last: Option<Dec>,
    pub bid_price: Option<Dec>,
    pub bid_size: Option<Dec>,
    pub ask_price: Option<Dec>,
    pub ask_size: Option<Dec>,
    pub open_24h: Option<Dec>,
    pub high_24h: Option<Dec>,
    pub low_24h: Option<Dec>,
    /// Base-asset volume over 24 h.
    pub volume_24h: Option<Dec>,
    /// Quote-asset volume over 24 h.
    pub quote_volume_24h: Option<Dec>,
}

/// A perpetual's funding rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funding {
    pub rate: Dec,
    /// Predicted next rate, when published.
    pub predicted_rate: Option<Dec>,
    /// Next funding time, ns since the Unix epoch.
    pub next_funding_ts: Option<i64>,
}

/// Open interest of a derivative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenInterest {
    /// In contracts (or base units, as the exchange counts it).
    pub open_interest: Dec,
    /// In quote currency, when published.
    pub open_interest_value: Option<Dec>,
}

/// A forced liquidation order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Liquidation {
    pub price: Dec,
    pub size: Dec,
    /// Side of the liquidation order (a long is liquidated by a `sell`).
    pub side: Side,
}

/// Mark (and index) price of a derivative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkPrice {
    pub mark_price: Dec,
    pub index_price: Option<Dec>,
}

/// The exchange's own reference data of one instrument (its envelope carries market,
/// normalized and native symbol): published once per subscribed instrument at start,
/// and again whenever the exchange changes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    /// Base asset as the exchange lists it (its aliases applied: Kraken `XBT` → `BTC`).
    pub base: SmolStr,
    /// Quote asset, likewise.
    pub quote: SmolStr,
    /// Settlement asset of a derivative (`USDT`, `BTC`), `null` for spot.
    pub settle: Option<SmolStr>,
    /// Expiry of a dated future or option, ns since the Unix epoch.
    pub expiry: Option<i64>,
    /// Strike of an option.
    pub strike: Option<Dec>,
    /// `call` or `put` for an option.
    pub option_type: Option<OptionType>,
    /// Price increment.
    pub tick_size: Option<Dec>,
    /// Size increment (base units, or contracts for contract-sized derivatives).
    pub lot_size: Option<Dec>,
    /// The underlying amount one contract stands for (derivatives).
    pub contract_size: Option<Dec>,
    pub status: InstrumentStatus,
}

/// Put or call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    Call,
    Put,
}

impl OptionType {
    pub fn as_str(self) -> &'static str {
        match self {
            OptionType::Call => "call",
            OptionType::Put => "put",
        }
    }
}

/// Whether an instrument trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentStatus {
    Trading,
    /// Listed but not trading now (halted, suspended, break, pre-trading).
    Halted,
    /// Delisted or settled.
    Delisted,
}

impl InstrumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstrumentStatus::Trading => "trading",
            InstrumentStatus::Halted => "halted",
            InstrumentStatus::Delisted => "delisted",
        }
    }
}

/// What happened to the feed itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub event: StatusEvent,
    /// The channel concerned (`book`, `trade`, ...), or `null` for the whole connection.
    pub channel: Option<SmolStr>,
    /// Human-readable cause.
    pub reason: Option<String>,
    /// For `gap`: the sequence the bridge expected next.
    pub expected: Option<u64>,
    /// For `gap`: the sequence it received instead.
    pub got: Option<u64>,
}

/// Feed state transitions announced downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusEvent {
    Connected,
    Subscribed,
    /// The exchange refused the subscription.
    Rejected,
    Disconnected,
    /// A sequence or checksum break, or records dropped by back-pressure.
    Gap,
    /// A fresh snapshot follows a gap.
    Resynced,
    /// No data within the watchdog window (the connection may still answer heartbeats).
    Stale,
    /// The exchange lists the instrument as not trading (halted, suspended, break).
    Halted,
    /// The exchange no longer lists the instrument, or lists it as delisted.
    Delisted,
    /// Records the sink could not deliver (failed after its retries): the count and
    /// their receive-time range are in `reason`.
    Lost,
    /// This replica took over publishing its shard (hot standby, `[cluster]`); what it
    /// resumed from is in `reason`.
    Leader,
}

impl StatusEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusEvent::Connected => "connected",
            StatusEvent::Subscribed => "subscribed",
            StatusEvent::Rejected => "rejected",
            StatusEvent::Disconnected => "disconnected",
            StatusEvent::Gap => "gap",
            StatusEvent::Resynced => "resynced",
            StatusEvent::Stale => "stale",
            StatusEvent::Halted => "halted",
            StatusEvent::Delisted => "delisted",
            StatusEvent::Lost => "lost",
            StatusEvent::Leader => "leader",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade() -> Record {
        Record {
            v: SCHEMA_VERSION,
            exchange: "binance".into(),
            market: Market::Spot,
            symbol: "BTC-USDT".into(),
            native: "BTCUSDT".into(),
            ts_exchange: Some(1723161255342000000),
            ts_recv: 1723161253937085768,
            seq: Some(3735683259),
            id: "binance.spot.BTC-USDT.trade.3735683259".into(),
            data: Data::Trade(Trade {
                price: Dec::parse("61837.63000000").unwrap(),
                size: Dec::parse("0.02000000").unwrap(),
                side: Side::Sell,
                trade_id: "3735683259".into(),
            }),
        }
    }

    #[test]
    fn trade_json_matches_the_contract() {
        let json = String::from_utf8(trade().to_json()).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":1723161255342000000,"ts_recv":1723161253937085768,"seq":3735683259,"id":"binance.spot.BTC-USDT.trade.3735683259","kind":"trade","price":"61837.63","size":"0.02","side":"sell","trade_id":"3735683259"}"#
        );
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back, trade());
    }

    #[test]
    fn book_levels_are_pairs() {
        let mut r = trade();
        r.data = Data::Book(Book {
            bids: vec![Level(Dec::parse("1.10").unwrap(), Dec::zero())],
            asks: vec![],
            snapshot: false,
            prev_seq: Some(7),
            checksum_ok: None,
        });
        let json = String::from_utf8(r.to_json()).unwrap();
        assert!(json.ends_with(r#""kind":"book","bids":[["1.1","0"]],"asks":[],"snapshot":false,"prev_seq":7,"checksum_ok":null}"#), "{json}");
        assert_eq!(r.key(), "binance.spot.BTC-USDT");
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("candle"), None);
    }
}
