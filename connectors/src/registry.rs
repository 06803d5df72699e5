//! The supported exchanges, by name.

use crate::binance::{Binance, Venue};
use crate::bybit::Bybit;
use crate::coinbase::Coinbase;
use crate::coinbase_advanced::CoinbaseAdvanced;
use crate::kraken::Kraken;
use crate::okx::Okx;
use crate::spec::Connector;

static BINANCE: Binance = Binance { venue: Venue::Spot };
static BINANCE_USDM: Binance = Binance { venue: Venue::UsdM };
static BINANCE_COINM: Binance = Binance {
    venue: Venue::CoinM,
};
static COINBASE: Coinbase = Coinbase;
static COINBASE_ADVANCED: CoinbaseAdvanced = CoinbaseAdvanced;
static KRAKEN: Kraken = Kraken {
    depth: crate::kraken::DEFAULT_DEPTH,
};
static BYBIT: Bybit = Bybit {
    depth: crate::bybit::DEFAULT_DEPTH,
};
static OKX: Okx = Okx {
    book_channel: "books",
};

static ALL: [&dyn Connector; 8] = [
    &BINANCE,
    &BINANCE_USDM,
    &BINANCE_COINM,
    &COINBASE,
    &COINBASE_ADVANCED,
    &KRAKEN,
    &BYBIT,
    &OKX,
];

/// Every connector, in the order `tickbridge exchanges` lists them.
pub fn connectors() -> &'static [&'static dyn Connector] {
    &ALL
}

/// The connector named `name`.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    connectors().iter().copied().find(|c| c.name() == name)
}
