//! The fuzz and corpus harnesses pick their parsers from the registry alone: a connector
//! in `connectors()` is fuzzed on every market it supports (`fuzzing::parser`, used by
//! `fuzz_parsers.rs` and `fuzz/`) and replayed against every recording whose URL it
//! claims (`fuzzing::connector_for_capture_url` / `fuzzing::capture_parser`, used by
//! `corpus_exchanges.rs` and `fuzz_parsers.rs`), with no edit to either harness.
//!
//! For every registered connector and market this checks that the fuzz harness plans a
//! parser, and that the URL a planned connection opens (the one a capture of it records,
//! path included: `/stream`, `/v5/public/spot`, ...) is mapped back to that connector
//! and to a market served on the same endpoint. A connector that is not registered, or
//! whose `market_of_url` does not recognise its own URLs, fails the check (the last test
//! shows the check failing for a connector missing from the registry).

use std::time::Duration;

use tickbridge_connectors::contract::ConnectionPlan;
use tickbridge_connectors::symbols::SymbolInfo;
use tickbridge_connectors::{
    connectors, fuzzing, Channel, Connector, FrameParser, Heartbeat, ParseError, Parsed, PlanError,
    SourceRequest,
};
use tickbridge_schema::{Market, Record};

/// What keeps `connector` from being picked up by the fuzz and corpus harnesses.
fn harness_problems(connector: &dyn Connector) -> Vec<String> {
    let name = connector.name();
    let mut problems = Vec::new();
    let markets = connector.supported();
    if markets.is_empty() {
        problems.push(format!("{name}: supports no market"));
    }
    for (i, (market, _)) in markets.iter().enumerate() {
        // The fuzz harness: a parser per supported market.
        if fuzzing::parser(connector, i).is_none() {
            problems.push(format!(
                "{name} {}: the fuzz harness plans no parser",
                market.as_str()
            ));
        }
        // The corpus harness: the planned connection's URL maps back to this connector.
        let ws_url = connector.default_ws_url(*market);
        let Some(request) = fuzzing::request(connector, *market, ws_url) else {
            problems.push(format!("{name} {}: no request", market.as_str()));
            continue;
        };
        let plans = match connector.plan(&request) {
            Ok(p) if !p.is_empty() => p,
            other => {
                problems.push(format!(
                    "{name} {}: no connection planned: {other:?}",
                    market.as_str()
                ));
                continue;
            }
        };
        for plan in &plans {
            match fuzzing::connector_for_capture_url(&plan.url) {
                None => problems.push(format!(
                    "{name} {}: no registered connector claims {}",
                    market.as_str(),
                    plan.url
                )),
                Some((c, _)) if c.name() != name => problems.push(format!(
                    "{name} {}: {} is claimed by {}",
                    market.as_str(),
                    plan.url,
                    c.name()
                )),
                Some((_, m)) => {
                    // A market the connector serves, on the same endpoint (Binance
                    // futures serve perpetuals and deliveries on one host).
                    let same_endpoint =
                        connector.channels(m).is_some() && connector.default_ws_url(m) == ws_url;
                    if !same_endpoint {
                        problems.push(format!(
                            "{name} {}: {} is taken for market {}",
                            market.as_str(),
                            plan.url,
                            m.as_str()
                        ));
                    }
                    // And the parser the corpus harness builds for it.
                    if fuzzing::capture_parser(&plan.url).is_none() {
                        problems.push(format!("{name}: no capture parser for {}", plan.url));
                    }
                }
            }
        }
    }
    // Past the last market the fuzz harness stops (its loop ends).
    if fuzzing::parser(connector, markets.len()).is_some() {
        problems.push(format!("{name}: a parser past the last market"));
    }
    problems
}

#[test]
fn every_registered_connector_is_picked_up_by_the_fuzz_and_corpus_harnesses() {
    assert!(!connectors().is_empty(), "an empty registry");
    let mut checked = Vec::new();
    let problems: Vec<String> = connectors()
        .iter()
        .flat_map(|c| {
            checked.push(c.name());
            harness_problems(*c)
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    println!("picked up: {checked:?}");
}

#[test]
fn urls_no_connector_claims_are_uncovered() {
    for url in [
        "wss://unclaimed.example/ws",
        "wss://ws.kraken.com",
        "wss://stream.bybit.com/realtime_public",
        "",
    ] {
        assert!(
            fuzzing::connector_for_capture_url(url).is_none(),
            "{url} is claimed by {:?}",
            fuzzing::connector_for_capture_url(url).map(|(c, m)| (c.name(), m))
        );
        assert!(fuzzing::capture_parser(url).is_none(), "{url}");
    }
}

/// A well-formed connector that is not in the registry: the fuzz harness takes it (it
/// is handed the connector), the corpus harness cannot (no registered connector claims
/// its URLs), so the check reports it.
struct Unregistered;

struct Silent;

impl FrameParser for Silent {
    fn parse(&mut self, _: &str, _: i64, _: &mut Vec<Record>) -> Result<Parsed, ParseError> {
        Ok(Parsed::Heartbeat)
    }
}

const CHANNELS: &[Channel] = &[Channel::Trade];

impl Connector for Unregistered {
    fn name(&self) -> &'static str {
        "unregistered"
    }
    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }
    fn default_ws_url(&self, _: Market) -> &'static str {
        "wss://ws.unregistered.example"
    }
    fn default_rest_url(&self, _: Market) -> &'static str {
        "https://api.unregistered.example"
    }
    fn market_of_url(&self, url: &str) -> Option<Market> {
        url.starts_with("wss://ws.unregistered.example")
            .then_some(Market::Spot)
    }
    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        Ok(SymbolInfo {
            market,
            symbol: user.into(),
            native: user.into(),
        })
    }
    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let mut plan =
            ConnectionPlan::new(format!("{}/ws", request.ws_url), request, Duration::ZERO);
        plan.symbols = request.symbols.clone();
        Ok(vec![plan])
    }
    fn parser(&self, _: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Silent)
    }
    fn heartbeat(&self) -> Heartbeat {
        Heartbeat::default()
    }
}

#[test]
fn a_connector_missing_from_the_registry_fails_the_check() {
    assert!(connectors().iter().all(|c| c.name() != "unregistered"));
    // The fuzz harness plans it...
    assert!(fuzzing::parser(&Unregistered, 0).is_some());
    // ...but the corpus harness does not pick it: the check names the problem.
    let problems = harness_problems(&Unregistered);
    assert_eq!(
        problems,
        ["unregistered spot: no registered connector claims wss://ws.unregistered.example/ws"]
    );
}
