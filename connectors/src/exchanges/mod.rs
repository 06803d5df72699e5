//! Every exchange, one folder each with the same files (`mod.rs` the connector,
//! `wire.rs` the raw types with a documented example frame each, `parser.rs`,
//! `book.rs` where the exchange needs one, `tests.rs`), and the registry: the list of
//! connectors. Adding an exchange is its folder, its `mod` line and its registry
//! line; the fuzz and corpus tests iterate the registry.

pub mod binance;
pub mod bitfinex;
pub mod bitflyer;
pub mod bitmex;
pub mod bitstamp;
pub mod bybit;
pub mod coinbase;
pub mod coinbase_advanced;
pub mod deribit;
pub mod dydx;
pub mod gateio;
pub mod gemini;
pub mod htx;
pub mod hyperliquid;
pub mod kraken;
pub mod kraken_futures;
pub mod kucoin;
pub mod lighter;
pub mod okx;
#[cfg(test)]
mod testing;
pub mod upbit;

use crate::contract::Connector;

/// Every connector, in the order `tickbridge exchanges` lists them.
static REGISTRY: &[&dyn Connector] = &[
    &binance::Binance::SPOT,
    &binance::Binance::USDM,
    &binance::Binance::COINM,
    &binance::Binance::US,
    &binance::Binance::ASTER,
    &binance::Binance::ASTER_SPOT,
    &coinbase::Coinbase,
    &coinbase_advanced::CoinbaseAdvanced,
    &kraken::Kraken,
    &kraken_futures::KrakenFutures,
    &bybit::Bybit,
    &okx::Okx::DEFAULT,
    &bitstamp::Bitstamp,
    &bitfinex::Bitfinex,
    &gemini::Gemini,
    &kucoin::Kucoin,
    &deribit::Deribit,
    &bitmex::Bitmex,
    &gateio::Gate::SPOT,
    &gateio::Gate::FUTURES,
    &htx::Htx::SPOT,
    &htx::Htx::SWAP,
    &bitflyer::Bitflyer,
    &upbit::Upbit,
    &lighter::Lighter,
    &dydx::Dydx,
    &hyperliquid::Hyperliquid,
];

/// Every connector, in the order `tickbridge exchanges` lists them.
pub fn connectors() -> &'static [&'static dyn Connector] {
    REGISTRY
}

/// The connector named `name`.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    connectors().iter().copied().find(|c| c.name() == name)
}

/// The connector whose protocol a recorded WebSocket URL speaks, with the market it
/// serves (captures, the corpus tests, `replay`).
pub fn connector_for_url(url: &str) -> Option<(&'static dyn Connector, tickbridge_schema::Market)> {
    connectors()
        .iter()
        .find_map(|c| c.market_of_url(url).map(|m| (*c, m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = connectors().iter().map(|c| c.name()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "{names:?}");
    }
}
