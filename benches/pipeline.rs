//! Placeholder until the pipeline benchmark lands (see BENCHMARKS.md).
fn main() {}
