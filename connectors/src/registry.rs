//! The supported exchanges, by name.

use crate::binance::{Binance, Venue};
use crate::coinbase::Coinbase;
use crate::spec::Connector;

static BINANCE: Binance = Binance { venue: Venue::Spot };
static BINANCE_USDM: Binance = Binance { venue: Venue::UsdM };
static BINANCE_COINM: Binance = Binance {
    venue: Venue::CoinM,
};
static COINBASE: Coinbase = Coinbase;

static ALL: [&dyn Connector; 4] = [&BINANCE, &BINANCE_USDM, &BINANCE_COINM, &COINBASE];

/// Every connector, in the order `tickbridge exchanges` lists them.
pub fn connectors() -> &'static [&'static dyn Connector] {
    &ALL
}

/// The connector named `name`.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    connectors().iter().copied().find(|c| c.name() == name)
}
