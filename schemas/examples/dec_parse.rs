//! `Dec::parse` alone: ten typical exchange values (prices and sizes as Binance and OKX
//! write them) parsed in a loop, ns per parse over three passes. The numbers quoted in
//! BENCHMARKS.md ("Book frames", sixth sitting) come from this; for instruction counts:
//!
//! ```text
//! cargo build --release -p tickbridge-schema --example dec_parse
//! target/release/examples/dec_parse 3000000
//! valgrind --tool=callgrind target/release/examples/dec_parse 100000
//! ```

use std::time::Instant;

use tickbridge_schema::Dec;

fn main() {
    let values = [
        "61837.63000000",
        "0.00000000",
        "3.78826000",
        "61804.7",
        "1200",
        "0.02000000",
        "56854.58000000",
        "0.00011028",
        "30243.5",
        "1.2112",
    ];
    let n: usize = std::env::args()
        .nth(1)
        .map_or(2_000_000, |s| s.parse().expect("parses per pass"));
    for _ in 0..3 {
        let t = Instant::now();
        let mut chars = 0usize;
        for i in 0..n {
            let d = Dec::parse(std::hint::black_box(values[i % values.len()])).expect("valid");
            chars += d.as_str().len();
            std::hint::black_box(&d);
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        println!("{ns:.1} ns per parse ({chars} normalized characters)");
    }
}
