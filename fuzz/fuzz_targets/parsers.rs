//! Fuzz target: the frame parser of every registered connector
//! (`tickbridge_connectors::connectors()`), on every market it supports, fed the same
//! script of frames (one per line; `#rest ` lines answer its pending snapshot
//! requests). See `tickbridge_connectors::fuzzing`. A connector added to the registry
//! is fuzzed here without an edit.
//!
//! `FUZZ_CONNECTOR=<name>[,<name>...]` restricts a run to those connectors (names as
//! `tickbridge exchanges` lists them), so one parser gets every execution.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tickbridge_connectors::{connectors, fuzzing, Connector};

/// The connectors fuzzed: the whole registry, or those `FUZZ_CONNECTOR` names.
fn selected() -> &'static [&'static dyn Connector] {
    static SELECTED: OnceLock<Vec<&'static dyn Connector>> = OnceLock::new();
    SELECTED.get_or_init(|| {
        let only = std::env::var("FUZZ_CONNECTOR").unwrap_or_default();
        let names: Vec<&str> = only
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let chosen: Vec<_> = connectors()
            .iter()
            .copied()
            .filter(|c| names.is_empty() || names.contains(&c.name()))
            .collect();
        assert!(
            !chosen.is_empty(),
            "FUZZ_CONNECTOR={only:?} names no registered connector (registered: {:?})",
            connectors().iter().map(|c| c.name()).collect::<Vec<_>>()
        );
        chosen
    })
}

fuzz_target!(|data: &[u8]| {
    let script = String::from_utf8_lossy(data);
    for connector in selected() {
        for market in 0..connector.supported().len() {
            if let Some(mut parser) = fuzzing::parser(*connector, market) {
                fuzzing::run(parser.as_mut(), &script);
            }
        }
    }
});
