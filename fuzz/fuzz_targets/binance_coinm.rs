//! Fuzz target: the `binance-coinm` connector's frame parser, fed a script of frames (one per
//! line; `#rest ` lines answer its pending snapshot requests). See
//! `tickbridge_connectors::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let script = String::from_utf8_lossy(data);
    let connector =
        tickbridge_connectors::connector("binance-coinm").expect("a registered connector");
    let mut market = 0;
    while let Some(mut parser) = tickbridge_connectors::fuzzing::parser(connector, market) {
        tickbridge_connectors::fuzzing::run(parser.as_mut(), &script);
        market += 1;
    }
});
