//! `status lost`: the announcement a sink-side loss leaves downstream. When records of
//! a batch failed after the sink's retries, the publisher puts one `status lost` per
//! symbol of that batch at the front of the next batch it hands the same sink, so a
//! consumer of any of those symbols' streams finds, once the sink is back, how many
//! records went missing and their receive-time range instead of a silent hole.
//!
//! The sink reports how many records of a batch failed, not which: each symbol's
//! announcement gives the batch's failed count and time range, and how many of the
//! batch's records were that symbol's.

use tickbridge_schema::{Market, Record, StatusEvent};

use super::status::{status_record, About};

/// One symbol of a batch, with how many of the batch's records it had.
#[derive(Debug, Clone)]
pub(super) struct SymbolShare {
    exchange: smol_str::SmolStr,
    market: Market,
    symbol: smol_str::SmolStr,
    native: smol_str::SmolStr,
    records: u64,
}

/// The symbols of a batch's records, in first-seen order.
pub(super) fn symbols_of<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<SymbolShare> {
    let mut out: Vec<SymbolShare> = Vec::new();
    for r in records {
        // Batches hold few symbols: a linear search beats hashing here.
        match out
            .iter_mut()
            .rev()
            .find(|s| s.symbol == r.symbol && s.market == r.market && s.exchange == r.exchange)
        {
            Some(s) => s.records += 1,
            None => out.push(SymbolShare {
                exchange: r.exchange.clone(),
                market: r.market,
                symbol: r.symbol.clone(),
                native: r.native.clone(),
                records: 1,
            }),
        }
    }
    out
}

/// What a failed batch lost.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loss {
    pub failed: u64,
    pub of: u64,
    pub first_ts: i64,
    pub last_ts: i64,
}

/// The `status lost` records announcing `loss` by the sink `sink`, one per symbol.
pub(super) fn announcements(sink: &str, loss: Loss, symbols: &[SymbolShare]) -> Vec<Record> {
    symbols
        .iter()
        .map(|s| {
            let about = About {
                exchange: &s.exchange,
                market: s.market,
                symbol: &s.symbol,
                native: &s.native,
            };
            status_record(
                &about,
                StatusEvent::Lost,
                &format!("lost.{sink}.{}.{}", loss.first_ts, loss.last_ts),
                format!(
                    "{} of the {} records of a batch received from {} to {} (ns since the \
                     epoch) were not acknowledged by the {sink} sink within its retries and \
                     count as lost (a broker that stored one unacknowledged holds it); {} of \
                     that batch's records were of this symbol",
                    loss.failed, loss.of, loss.first_ts, loss.last_ts, s.records
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_record;
    use tickbridge_schema::Data;

    #[test]
    fn one_announcement_per_symbol_with_the_batch_loss_and_its_share() {
        let mut records: Vec<Record> = (1..=5).map(test_record).collect();
        records[1].symbol = "ETH-USDT".into();
        records[3].symbol = "ETH-USDT".into();
        let symbols = symbols_of(records.iter());
        let loss = Loss {
            failed: 3,
            of: 5,
            first_ts: 100,
            last_ts: 200,
        };
        let out = announcements("kafka", loss, &symbols);
        let got: Vec<(String, String, String)> = out
            .iter()
            .map(|r| {
                let Data::Status(s) = &r.data else {
                    panic!("a status record")
                };
                assert_eq!(s.event, StatusEvent::Lost);
                (
                    r.symbol.to_string(),
                    r.id.clone(),
                    s.reason.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "BTC-USDT".to_string(),
                    "binance.spot.BTC-USDT.status.lost.kafka.100.200".to_string(),
                    "3 of the 5 records of a batch received from 100 to 200 (ns since the epoch) \
                     were not acknowledged by the kafka sink within its retries and count as lost \
                     (a broker that stored one unacknowledged holds it); 3 of that batch's \
                     records were of this symbol"
                        .to_string()
                ),
                (
                    "ETH-USDT".to_string(),
                    "binance.spot.ETH-USDT.status.lost.kafka.100.200".to_string(),
                    "3 of the 5 records of a batch received from 100 to 200 (ns since the epoch) \
                     were not acknowledged by the kafka sink within its retries and count as lost \
                     (a broker that stored one unacknowledged holds it); 2 of that batch's \
                     records were of this symbol"
                        .to_string()
                ),
            ]
        );
        let json = String::from_utf8(out[0].to_json()).unwrap();
        assert!(json.contains(r#""kind":"status","event":"lost""#), "{json}");
    }
}
