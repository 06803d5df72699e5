//! Corpus: every instrument list recorded in `TICKBRIDGE_CAPTURES` (an `http` event whose
//! URL is one a registered connector requests) is parsed with that connector's
//! [`Connector::parse_instruments`], market by market.
//!
//! A recorded URL is handled by a connector when its path is the path of one of the
//! connector's [`Connector::instrument_urls`] (under its default REST URL, any host:
//! `binance_us` and `binance_tr` speak the Binance spot API on other hosts, Okcoin the
//! OKX one) and the URL carries every query parameter of that instrument URL but
//! `limit` (`instType=SWAP`, `category=linear`). A list whose path matches but whose
//! query no instrument URL asks for (OKX `instType=OPTION&uly=..`: the connector serves
//! no options and OPTION needs an underlying) is parsed for every market anyway and
//! reported as not requested.
//!
//! For every handled list: every instrument the list names (for the connector's markets)
//! is parsed once, on the market asked for; an [`InstrumentList`] of each market accepts
//! them all (no two share a native or a normalized symbol); looking each one up by its
//! native and by its normalized symbol finds that same instrument; its normalized
//! symbol is built from the base and quote the list's own fields name (read here from
//! the raw JSON, with the exchange's documented aliases: Kraken's legacy `X`/`Z` asset
//! codes and the v2 names `BTC`/`DOGE`); dated instruments carry an expiry, options a
//! strike and a kind.
//!
//! The output (`cargo test -p tickbridge-connectors --test corpus_instruments --
//! --nocapture`) lists per capture and list the instruments parsed per market, their
//! status counts, the fields of the current documented format that the (older)
//! recording lacks, how many natives the connector's `symbol()` accepts and agrees
//! with, and the recorded lists no connector parses and why.

mod common;

use common::{captures_dir, recordings};

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;
use tickbridge_connectors::instruments::{InstrumentList, Listed, Lookup};
use tickbridge_connectors::{connectors, Connector};
use tickbridge_schema::Market;

const MARKETS: [Market; 4] = [Market::Spot, Market::Perp, Market::Future, Market::Option];

/// Lists that must be handled (a floor: coverage cannot silently vanish), as
/// (recording, URL path and query, connector, instruments at least).
const MUST_HANDLE: &[(&str, &str, &str, usize)] = &[
    (
        "cryptofeed/binance.jsonl.gz",
        "/api/v3/exchangeInfo",
        "binance",
        1000,
    ),
    (
        "cryptofeed/binance_us.jsonl.gz",
        "/api/v3/exchangeInfo",
        "binance",
        100,
    ),
    (
        "cryptofeed/binance_futures.jsonl.gz",
        "/fapi/v1/exchangeInfo",
        "binance-usdm",
        100,
    ),
    (
        "cryptofeed/binance_delivery.jsonl.gz",
        "/dapi/v1/exchangeInfo",
        "binance-coinm",
        30,
    ),
    ("cryptofeed/coinbase.jsonl.gz", "/products", "coinbase", 100),
    (
        "cryptofeed/bitfinex.jsonl.gz",
        "/v2/conf/pub:list:pair:exchange",
        "bitfinex",
        250,
    ),
    (
        "cryptofeed/kraken.jsonl.gz",
        "/0/public/AssetPairs",
        "kraken",
        250,
    ),
    (
        "cryptofeed/okx.jsonl.gz",
        "/api/v5/public/instruments?instType=SPOT",
        "okx",
        500,
    ),
    (
        "cryptofeed/okx.jsonl.gz",
        "/api/v5/public/instruments?instType=SWAP",
        "okx",
        150,
    ),
    (
        "cryptofeed/okx.jsonl.gz",
        "/api/v5/public/instruments?instType=FUTURES",
        "okx",
        100,
    ),
    (
        "cryptofeed/okcoin.jsonl.gz",
        "/api/v5/public/instruments?instType=SPOT",
        "okx",
        4,
    ),
    (
        "cryptofeed/huobi.jsonl.gz",
        "/v1/common/symbols",
        "htx",
        900,
    ),
    (
        "cryptofeed/huobi_swap.jsonl.gz",
        "/linear-swap-api/v1/swap_contract_info",
        "htx-swap",
        100,
    ),
    (
        "cryptofeed/huobi_swap.jsonl.gz",
        "/swap-api/v1/swap_contract_info",
        "htx-swap",
        40,
    ),
    (
        "cryptofeed/gateio.jsonl.gz",
        "/api/v4/spot/currency_pairs",
        "gateio",
        1000,
    ),
    (
        "cryptofeed/gateio_futures.jsonl.gz",
        "/api/v4/futures/usdt/contracts",
        "gateio-futures",
        250,
    ),
    (
        "cryptofeed/bitflyer.jsonl.gz",
        "/v1/markets",
        "bitflyer",
        11,
    ),
    (
        "cryptofeed/bitflyer.jsonl.gz",
        "/v1/markets/usa",
        "bitflyer",
        1,
    ),
    (
        "cryptofeed/bitflyer.jsonl.gz",
        "/v1/markets/eu",
        "bitflyer",
        1,
    ),
    (
        "cryptofeed/bitmex.jsonl.gz",
        "/api/v1/instrument/active",
        "bitmex",
        30,
    ),
    (
        "cryptofeed/kraken_futures.jsonl.gz",
        "/derivatives/api/v3/instruments",
        "kraken-futures",
        15,
    ),
    ("cryptofeed/upbit.jsonl.gz", "/v1/market/all", "upbit", 250),
    (
        "cryptofeed/deribit.jsonl.gz",
        "/api/v2/public/get_instruments?currency=BTC&expired=false",
        "deribit",
        390,
    ),
    (
        "cryptofeed/deribit.jsonl.gz",
        "/api/v2/public/get_instruments?currency=ETH&expired=false",
        "deribit",
        420,
    ),
    (
        "cryptofeed/deribit.jsonl.gz",
        "/api/v2/public/get_instruments?currency=USDC&expired=false",
        "deribit",
        16,
    ),
    (
        "cryptofeed/kucoin.jsonl.gz",
        "/api/v1/symbols",
        "kucoin",
        500,
    ),
];

/// Recorded paths of an older version of a list a connector requests today, with the
/// same item shape: `(recorded, requested)`. KuCoin's `/api/v1/symbols` (2021) became
/// `/api/v2/symbols`.
const RECORDED_VERSIONS: &[(&str, &str)] = &[("/api/v1/symbols", "/api/v2/symbols")];

/// Recorded lists of registered exchanges that no connector parses, and why.
const UNSUPPORTED: &[(&str, &str, &str)] = &[(
    "cryptofeed/bybit.jsonl.gz",
    "/v2/public/symbols",
    "Bybit's v2 symbols list (2021: `ret_code`, `result[]` of `name`/`base_currency`/\
     `quote_currency`, inverse perpetuals and futures mixed with USDT ones, no contract \
     type or settle coin) belongs to the retired v2 API; `bybit` implements v5 \
     `/v5/market/instruments-info`",
)];

/// The distinct `http` responses of a recording, as (URL, body), in recorded order.
fn http_events(path: &Path) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Event {
        #[serde(default)]
        ev: String,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        text: Option<String>,
    }
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut seen = HashSet::new();
    BufReader::new(flate2::read::MultiGzDecoder::new(file))
        .lines()
        .skip(1) // the header
        .filter_map(|l| {
            let e: Event = serde_json::from_str(&l.expect("readable capture")).ok()?;
            (e.ev == "http").then_some(())?;
            let pair = (e.url?, e.text?);
            seen.insert(pair.clone()).then_some(pair)
        })
        .collect()
}

/// `(path, query parameters)` of a URL, the host dropped.
fn split_url(url: &str) -> (String, BTreeMap<String, String>) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path_query = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let params = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (path.to_string(), params)
}

/// The second-level label of a URL's host: `binance` for `fapi.binance.com` and
/// `api.binance.us`, `asterdex` for `fapi.asterdex.com`.
fn domain_label(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let host = rest.split(['/', ':', '?']).next()?;
    let labels: Vec<&str> = host.split('.').collect();
    (labels.len() >= 2).then(|| labels[labels.len() - 2].to_ascii_lowercase())
}

/// How a connector handles a recorded URL: the markets whose instrument URLs it is, or
/// (path only) none of them.
enum Handled {
    Requested(Vec<Market>),
    PathOnly,
}

fn handled_by(c: &dyn Connector, url: &str) -> Option<Handled> {
    // A list recorded on an exchange's own domain is only its connectors' (Aster
    // serves Binance's paths on asterdex.com); a host whose domain is no connector's
    // REST domain (a mirror, a mock) is matched by path alone.
    if let Some(label) = domain_label(url) {
        let owns = |o: &dyn Connector| {
            MARKETS
                .iter()
                .any(|m| domain_label(o.default_rest_url(*m)).as_deref() == Some(&label))
        };
        if !owns(c) && connectors().iter().any(|o| owns(*o)) {
            return None;
        }
    }
    let (path, params) = split_url(url);
    let path = RECORDED_VERSIONS
        .iter()
        .find(|(recorded, _)| *recorded == path)
        .map_or(path, |(_, requested)| requested.to_string());
    let mut path_seen = false;
    let mut markets = Vec::new();
    for m in MARKETS {
        for candidate in c.instrument_urls(m, c.default_rest_url(m)) {
            let (cpath, cparams) = split_url(&candidate);
            if cpath != path {
                continue;
            }
            path_seen = true;
            let asked = cparams
                .iter()
                .filter(|(k, _)| k.as_str() != "limit")
                .all(|(k, v)| params.get(k) == Some(v));
            if asked && !markets.contains(&m) {
                markets.push(m);
            }
        }
    }
    match (markets.is_empty(), path_seen) {
        (false, _) => Some(Handled::Requested(markets)),
        (true, true) => Some(Handled::PathOnly),
        (true, false) => None,
    }
}

/// Kraken's legacy asset codes and the names they stand for, as its Assets endpoint
/// gives them (`altname`), with the WebSocket v2 names for bitcoin and dogecoin.
fn kraken_asset(code: &str) -> String {
    let altname = match code {
        "XXBT" | "XBT" => "BTC",
        "XXDG" | "XDG" => "DOGE",
        "XETH" => "ETH",
        "XETC" => "ETC",
        "XLTC" => "LTC",
        "XMLN" => "MLN",
        "XREP" => "REP",
        "XXLM" => "XLM",
        "XXMR" => "XMR",
        "XXRP" => "XRP",
        "XZEC" => "ZEC",
        "ZUSD" => "USD",
        "ZEUR" => "EUR",
        "ZGBP" => "GBP",
        "ZJPY" => "JPY",
        "ZCAD" => "CAD",
        "ZAUD" => "AUD",
        other => other,
    };
    altname.to_string()
}

fn kraken_v2(name: &str) -> &str {
    match name {
        "XBT" => "BTC",
        "XDG" => "DOGE",
        other => other,
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or("").to_string()
}

/// What the raw list itself says: native → (base, quote) of every instrument of the
/// connector's markets, and the fields of the current documented format that the
/// recorded items lack.
struct Raw {
    assets: BTreeMap<String, (String, String)>,
    missing_fields: BTreeSet<&'static str>,
}

fn raw_list(path: &str, body: &str) -> Raw {
    let v: Value = serde_json::from_str(body).expect("a JSON instrument list");
    let mut assets = BTreeMap::new();
    let mut missing_fields = BTreeSet::new();
    let mut check = |item: &Value, fields: &[&'static str]| {
        for f in fields {
            if item.get(*f).is_none() {
                missing_fields.insert(*f);
            }
        }
    };
    let empty = Vec::new();
    match path {
        "/api/v3/exchangeInfo" | "/fapi/v1/exchangeInfo" | "/dapi/v1/exchangeInfo" => {
            let fields: &[&str] = match path {
                "/api/v3/exchangeInfo" => &["status", "permissionSets"],
                "/fapi/v1/exchangeInfo" => &["status", "contractType", "marginAsset"],
                _ => &["contractStatus", "contractSize", "marginAsset"],
            };
            for s in v["symbols"].as_array().unwrap_or(&empty) {
                check(s, fields);
                assets.insert(
                    text(s, "symbol"),
                    (text(s, "baseAsset"), text(s, "quoteAsset")),
                );
            }
        }
        "/products" => {
            for p in v.as_array().unwrap_or(&empty) {
                check(
                    p,
                    &[
                        "quote_increment",
                        "base_increment",
                        "status",
                        "trading_disabled",
                        "cancel_only",
                        "post_only",
                        "auction_mode",
                    ],
                );
                assets.insert(
                    text(p, "id"),
                    (text(p, "base_currency"), text(p, "quote_currency")),
                );
            }
        }
        "/api/v2/trading-pairs-info/" => {
            // Bitstamp: `name` is `BASE/QUOTE`, `url_symbol` the native pair.
            for p in v.as_array().unwrap_or(&empty) {
                let (b, q) = text(p, "name")
                    .split_once('/')
                    .map(|(b, q)| (b.to_string(), q.to_string()))
                    .expect("name BASE/QUOTE");
                assets.insert(text(p, "url_symbol"), (b, q));
            }
        }
        "/v1/common/symbols" => {
            // HTX spot: `symbol` native, `base-currency`/`quote-currency` lower case.
            for p in v["data"].as_array().unwrap_or(&empty) {
                check(p, &["price-precision", "amount-precision", "state"]);
                assets.insert(
                    text(p, "symbol"),
                    (
                        text(p, "base-currency").to_ascii_uppercase(),
                        text(p, "quote-currency").to_ascii_uppercase(),
                    ),
                );
            }
        }
        "/linear-swap-api/v1/swap_contract_info" | "/swap-api/v1/swap_contract_info" => {
            // HTX swaps: `contract_code` BASE-QUOTE; dated futures (linear list) skipped.
            for c in v["data"].as_array().unwrap_or(&empty) {
                if c["business_type"].as_str().is_some_and(|b| b != "swap") {
                    continue;
                }
                check(c, &["contract_size", "price_tick", "contract_status"]);
                let code = text(c, "contract_code");
                let (b, q) = code.split_once('-').expect("contract_code BASE-QUOTE");
                assets.insert(code.clone(), (b.to_string(), q.to_string()));
            }
        }
        "/api/v4/spot/currency_pairs" => {
            // Gate spot: `id` is the native pair, `base`/`quote` its assets.
            for p in v.as_array().unwrap_or(&empty) {
                check(p, &["precision", "amount_precision", "trade_status"]);
                assets.insert(text(p, "id"), (text(p, "base"), text(p, "quote")));
            }
        }
        "/api/v4/futures/usdt/contracts" => {
            // Gate USDT futures: `name` is `BASE_QUOTE`, the native contract.
            for c in v.as_array().unwrap_or(&empty) {
                check(
                    c,
                    &[
                        "quanto_multiplier",
                        "order_price_round",
                        "in_delisting",
                        "status",
                    ],
                );
                let name = text(c, "name");
                let (b, q) = name
                    .split_once('_')
                    .map(|(b, q)| (b.to_string(), q.to_string()))
                    .expect("name BASE_QUOTE");
                assets.insert(name, (b, q));
            }
        }
        "/api/v1/symbols" | "/api/v2/symbols" => {
            // KuCoin: `symbol` is the native `BASE-QUOTE`.
            for p in v["data"].as_array().unwrap_or(&empty) {
                check(p, &["priceIncrement", "baseIncrement", "enableTrading"]);
                assets.insert(
                    text(p, "symbol"),
                    (text(p, "baseCurrency"), text(p, "quoteCurrency")),
                );
            }
        }
        "/api/v1/instrument/active" => {
            // BitMEX: perpetuals, futures and spot by `typ`; `XBT` is bitcoin.
            let asset = |a: String| if a == "XBT" { "BTC".to_string() } else { a };
            for i in v.as_array().unwrap_or(&empty) {
                if !matches!(i["typ"].as_str(), Some("FFWCSX" | "FFCCSX" | "IFXXXP")) {
                    continue;
                }
                check(
                    i,
                    &[
                        "underlying",
                        "quoteCurrency",
                        "settlCurrency",
                        "tickSize",
                        "lotSize",
                        "state",
                    ],
                );
                assets.insert(
                    text(i, "symbol"),
                    (
                        asset(text(i, "underlying")),
                        asset(text(i, "quoteCurrency")),
                    ),
                );
            }
        }
        "/derivatives/api/v3/instruments" => {
            // Kraken Futures: contracts by prefix; the pair from `base`/`quote`, else
            // from the symbol (`pi_xbtusd`, `fi_xbtusd_210924`); `XBT` is bitcoin.
            let asset = |a: &str| {
                if a == "XBT" {
                    "BTC".to_string()
                } else {
                    a.to_string()
                }
            };
            for i in v["instruments"].as_array().unwrap_or(&empty) {
                let symbol = text(i, "symbol").to_ascii_uppercase();
                if !["PF_", "PI_", "FF_", "FI_"]
                    .iter()
                    .any(|p| symbol.starts_with(p))
                {
                    continue;
                }
                check(
                    i,
                    &["base", "quote", "tickSize", "contractSize", "tradeable"],
                );
                let pair = match (i["base"].as_str(), i["quote"].as_str()) {
                    (Some(b), Some(q)) => (asset(b), asset(q)),
                    _ => {
                        let p = symbol.split('_').nth(1).unwrap_or("");
                        let (b, q) = p.split_at(p.len().saturating_sub(3));
                        (asset(b), asset(q))
                    }
                };
                assets.insert(symbol, pair);
            }
        }
        "/v2/conf/pub:list:pair:exchange" => {
            // Bitfinex: one array of names, `BASEQUOTE` (three letters each) or
            // `BASE:QUOTE`; the native symbol is `t` + the name.
            for p in v[0].as_array().unwrap_or(&empty) {
                let name = p.as_str().expect("a pair name");
                let (b, q) = name.split_once(':').unwrap_or_else(|| name.split_at(3));
                assets.insert(format!("t{name}"), (b.to_string(), q.to_string()));
            }
        }
        "/api/v3/brokerage/market/products" => {
            for p in v["products"].as_array().unwrap_or(&empty) {
                if p["product_type"].as_str().is_some_and(|t| t != "SPOT") {
                    continue;
                }
                assets.insert(
                    text(p, "product_id"),
                    (text(p, "base_currency_id"), text(p, "quote_currency_id")),
                );
            }
        }
        "/0/public/AssetPairs" => {
            for p in v["result"].as_object().into_iter().flat_map(|m| m.values()) {
                let Some((b, q)) = p["wsname"].as_str().and_then(|w| w.split_once('/')) else {
                    continue; // `.d` books are not on the WebSocket
                };
                check(p, &["tick_size", "status", "costmin", "cost_decimals"]);
                assets.insert(
                    format!("{}/{}", kraken_v2(b), kraken_v2(q)),
                    (
                        kraken_asset(&text(p, "base")),
                        kraken_asset(&text(p, "quote")),
                    ),
                );
            }
        }
        "/v1/market/all" => {
            // Upbit: `market` is `QUOTE-BASE`.
            for p in v.as_array().unwrap_or(&empty) {
                check(p, &["market", "english_name"]);
                let market = text(p, "market");
                let (q, b) = market
                    .split_once('-')
                    .map(|(q, b)| (q.to_string(), b.to_string()))
                    .expect("market QUOTE-BASE");
                assets.insert(market, (b, q));
            }
        }
        "/v5/market/instruments-info" => {
            let spot = v["result"]["category"] == "spot";
            for i in v["result"]["list"].as_array().unwrap_or(&empty) {
                let known = matches!(
                    i["contractType"].as_str(),
                    Some(
                        "LinearPerpetual" | "InversePerpetual" | "LinearFutures" | "InverseFutures"
                    )
                );
                if spot || known {
                    assets.insert(
                        text(i, "symbol"),
                        (text(i, "baseCoin"), text(i, "quoteCoin")),
                    );
                }
            }
        }
        "/api/v5/public/instruments" => {
            for i in v["data"].as_array().unwrap_or(&empty) {
                check(
                    i,
                    &["instFamily", "tickSz", "lotSz", "ctVal", "ctMult", "state"],
                );
                let pair = match i["instType"].as_str() {
                    Some("SPOT") => (text(i, "baseCcy"), text(i, "quoteCcy")),
                    Some("SWAP" | "FUTURES" | "OPTION") => {
                        let family = match text(i, "instFamily") {
                            f if f.is_empty() => text(i, "uly"),
                            f => f,
                        };
                        let (b, q) = family.split_once('-').expect("instFamily BASE-QUOTE");
                        (b.to_string(), q.to_string())
                    }
                    _ => continue,
                };
                assets.insert(text(i, "instId"), pair);
            }
        }
        "/v1/markets" | "/v1/markets/usa" | "/v1/markets/eu" => {
            // bitFlyer: the product code is the only place naming the assets
            // (`BASE_QUOTE`, `FX_BASE_QUOTE`, `BASEQUOTE{DD}{MON}{YYYY}` with a
            // three-letter quote); the regional lists add their own-currency spot
            // products only (the rest repeat the Japanese list).
            let region = match path {
                "/v1/markets/usa" => Some("USD"),
                "/v1/markets/eu" => Some("EUR"),
                _ => None,
            };
            for p in v.as_array().unwrap_or(&empty) {
                let code = text(p, "product_code");
                let pair = match p["market_type"].as_str() {
                    Some("Spot") => code
                        .split_once('_')
                        .map(|(b, q)| (b.to_string(), q.to_string())),
                    Some("FX") => code
                        .strip_prefix("FX_")
                        .and_then(|r| r.split_once('_'))
                        .map(|(b, q)| (b.to_string(), q.to_string())),
                    Some("Futures") if region.is_none() => {
                        let letters = &code[..code.len() - 9];
                        let (b, q) = letters.split_at(letters.len() - 3);
                        Some((b.to_string(), q.to_string()))
                    }
                    _ => None,
                };
                let Some((b, q)) = pair else { continue };
                if region.is_some_and(|r| r != q || p["market_type"] != "Spot") {
                    continue;
                }
                assets.insert(code, (b, q));
            }
        }
        "/api/v2/public/get_instruments" => {
            // Deribit: the pair is `base_currency` and `counter_currency` (older lists
            // lack it: `quote_currency`, which for inverse options is the base itself,
            // priced in USD); combos are not listed as instruments.
            for i in v["result"].as_array().unwrap_or(&empty) {
                let kind = text(i, "kind");
                if !matches!(kind.as_str(), "future" | "option" | "spot") {
                    continue;
                }
                check(
                    i,
                    &["counter_currency", "settlement_currency", "instrument_id"],
                );
                let base = text(i, "base_currency");
                let quote = match i["counter_currency"].as_str() {
                    Some(c) => c.to_string(),
                    None if kind == "option" && text(i, "quote_currency") == base => "USD".into(),
                    None => text(i, "quote_currency"),
                };
                assets.insert(text(i, "instrument_name"), (base, quote));
            }
        }
        other => panic!("no raw reader for {other}"),
    }
    Raw {
        assets,
        missing_fields,
    }
}

/// Whether a normalized symbol is `BASE-QUOTE` plus the market's suffix.
fn shape_ok(l: &Listed) -> bool {
    let pair = format!("{}-{}", l.spec.base, l.spec.quote);
    // Kraken Futures marks its inverse contracts (`-INV`), listed beside flexible
    // ones of the same pair.
    let s = l.symbol.symbol.as_str();
    let s = match l.symbol.native.get(..3) {
        Some("PI_" | "FI_") => s.strip_suffix("-INV").unwrap_or(s),
        _ => s,
    };
    let Some(rest) = s.strip_prefix(&pair) else {
        return false;
    };
    match l.symbol.market {
        Market::Spot => rest.is_empty(),
        Market::Perp => rest == "-PERP",
        Market::Future => {
            rest.len() == 7
                && rest.starts_with('-')
                && rest[1..].bytes().all(|b| b.is_ascii_digit())
                && l.spec.expiry.is_some()
        }
        Market::Option => {
            let parts: Vec<&str> = rest.split('-').collect();
            parts.len() == 4
                && parts[1].len() == 6
                && l.spec.expiry.is_some()
                && l.spec.strike.is_some()
                && l.spec.option_type.is_some()
        }
    }
}

/// Checks one market of one capture's lists of one connector; the report line.
fn check_market(
    c: &dyn Connector,
    market: Market,
    items: Vec<Listed>,
    raw: &BTreeMap<String, (String, String)>,
    failures: &mut Vec<String>,
    tag: &str,
) -> String {
    let mut fail = |what: String| failures.push(format!("{tag} {}: {what}", market.as_str()));
    let mut status: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut accepted, mut agrees) = (0, 0);
    let mut disagree = Vec::new();
    for l in &items {
        *status.entry(l.spec.status.as_str()).or_default() += 1;
        if l.symbol.market != market {
            fail(format!(
                "{} parsed on {:?}",
                l.symbol.native, l.symbol.market
            ));
        }
        match raw.get(l.symbol.native.as_str()) {
            Some((b, q)) if *b == l.spec.base && *q == l.spec.quote => {}
            Some((b, q)) => fail(format!(
                "{} is {}-{} but the list names {b}-{q}",
                l.symbol.native, l.spec.base, l.spec.quote
            )),
            None => fail(format!("{} is not in the list", l.symbol.native)),
        }
        if !shape_ok(l) {
            fail(format!(
                "{} normalizes to {} ({:?})",
                l.symbol.native, l.symbol.symbol, l.spec
            ));
        }
        if market != Market::Option {
            if let Ok(info) = c.symbol(market, &l.symbol.native) {
                if info.native == l.symbol.native {
                    accepted += 1;
                }
                if info == l.symbol {
                    agrees += 1;
                } else if disagree.len() < 3 {
                    disagree.push(format!(
                        "{} {} vs {}",
                        info.native, l.symbol.symbol, info.symbol
                    ));
                }
            }
        }
    }
    let n = items.len();
    match InstrumentList::new(items.clone()) {
        Err(e) => fail(format!("InstrumentList refuses the list: {e}")),
        Ok(list) => {
            for l in &items {
                for key in [l.symbol.native.as_str(), l.symbol.symbol.as_str()] {
                    match list.lookup(market, key) {
                        Lookup::Found(x) if x == l => {}
                        other => fail(format!(
                            "lookup {key} found {other:?}, not {}",
                            l.symbol.native
                        )),
                    }
                }
            }
        }
    }
    let statuses: Vec<String> = status.iter().map(|(s, k)| format!("{k} {s}")).collect();
    let mut line = format!("{:>6}: {n:>5} ({})", market.as_str(), statuses.join(", "));
    if market != Market::Option && n > 0 {
        line.push_str(&format!(
            "; symbol() accepts {accepted}/{n} natives, agrees on {agrees}/{n}"
        ));
        if !disagree.is_empty() {
            line.push_str(&format!(" (e.g. {})", disagree.join("; ")));
        }
    }
    line
}

#[test]
fn recorded_instrument_lists_parse_and_resolve() {
    let dir = captures_dir();
    let mut failures: Vec<String> = Vec::new();
    let mut handled: Vec<(String, String, &'static str, usize)> = Vec::new();
    let mut report: Vec<String> = Vec::new();
    let mut unhandled: Vec<String> = Vec::new();
    for rel in recordings(&dir) {
        let events = http_events(&dir.join(&rel));
        // Per connector and market: the instruments of every list of this capture.
        let mut per: BTreeMap<(&'static str, usize), Vec<Listed>> = BTreeMap::new();
        let mut raw_all: BTreeMap<&'static str, BTreeMap<String, (String, String)>> =
            BTreeMap::new();
        let mut lines: Vec<String> = Vec::new();
        for (url, body) in &events {
            let claims: Vec<(&'static dyn Connector, Handled)> = connectors()
                .iter()
                .filter_map(|c| handled_by(*c, url).map(|h| (*c, h)))
                .collect();
            let (path, params) = split_url(url);
            if claims.is_empty() {
                if let Some((_, p, why)) =
                    UNSUPPORTED.iter().find(|(f, p, _)| *f == rel && *p == path)
                {
                    unhandled.push(format!("{rel} {p}: not parsed: {why}"));
                }
                continue;
            }
            let raw = raw_list(&path, body);
            let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let shown = if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{}", query.join("&"))
            };
            for (c, how) in claims {
                let (markets, note) = match how {
                    Handled::Requested(m) => (m, ""),
                    Handled::PathOnly => (MARKETS.to_vec(), " (not requested by instrument_urls)"),
                };
                lines.push(format!("  {shown} → {}{note}", c.name()));
                if !raw.missing_fields.is_empty() {
                    lines.push(format!(
                        "    recorded items lack current fields: {}",
                        raw.missing_fields
                            .iter()
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                let mut parsed: BTreeSet<String> = BTreeSet::new();
                let mut count = 0;
                for m in &markets {
                    let idx = MARKETS.iter().position(|x| x == m).expect("a market");
                    match c.parse_instruments(*m, url, body) {
                        Ok(items) => {
                            for l in &items {
                                if !parsed.insert(l.symbol.native.to_string()) {
                                    failures.push(format!(
                                        "{rel} {shown}: {} parsed twice",
                                        l.symbol.native
                                    ));
                                }
                            }
                            count += items.len();
                            per.entry((c.name(), idx)).or_default().extend(items);
                        }
                        Err(e) => failures.push(format!("{rel} {shown} {}: {e}", m.as_str())),
                    }
                }
                let expected: BTreeSet<String> = raw.assets.keys().cloned().collect();
                let missing: Vec<&String> = expected.difference(&parsed).take(5).collect();
                if !missing.is_empty() {
                    failures.push(format!(
                        "{rel} {shown}: {} listed instruments not parsed, e.g. {missing:?}",
                        expected.difference(&parsed).count()
                    ));
                }
                raw_all
                    .entry(c.name())
                    .or_default()
                    .extend(raw.assets.clone());
                handled.push((rel.clone(), shown.clone(), c.name(), count));
            }
        }
        for ((name, idx), items) in per {
            let c = connectors()
                .iter()
                .copied()
                .find(|c| c.name() == name)
                .expect("a registered connector");
            let tag = format!("{rel} {name}");
            let line = check_market(c, MARKETS[idx], items, &raw_all[name], &mut failures, &tag);
            lines.push(format!("    {name} {line}"));
        }
        if !lines.is_empty() {
            report.push(format!("{rel}:\n{}", lines.join("\n")));
        }
    }
    println!("instrument lists parsed:\n{}", report.join("\n"));
    println!("recorded lists not parsed:\n  {}", unhandled.join("\n  "));

    for (file, shown, name, floor) in MUST_HANDLE {
        let got = handled
            .iter()
            .find(|(f, s, n, _)| f == file && s == shown && n == name);
        match got {
            Some((_, _, _, count)) if count >= floor => {}
            Some((_, _, _, count)) => failures.push(format!(
                "{file} {shown}: {name} parsed {count} instruments, expected at least {floor}"
            )),
            None => failures.push(format!("{file} {shown}: not handled by {name}")),
        }
    }
    for (file, path, _) in UNSUPPORTED {
        if handled
            .iter()
            .any(|(f, s, _, _)| f == file && s.split('?').next() == Some(*path))
        {
            failures.push(format!(
                "{file} {path} is parsed now: remove it from UNSUPPORTED"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Gemini's reference data is one `GET /v1/symbols/details/{symbol}` per symbol (the
/// `/v1/symbols` list names symbols only), which `instrument_urls` cannot name in
/// advance: every recorded details response is parsed by `gemini` here, its base and
/// quote are the response's own `base_currency`/`quote_currency`, the list of them all
/// resolves each by native and normalized symbol, and `symbol()` agrees.
#[test]
fn recorded_gemini_symbol_details_parse_and_resolve() {
    let dir = captures_dir();
    let c = connectors()
        .iter()
        .copied()
        .find(|c| c.name() == "gemini")
        .expect("gemini is registered");
    let mut failures = Vec::new();
    let mut items: Vec<Listed> = Vec::new();
    for (url, body) in http_events(&dir.join("cryptofeed/gemini.jsonl.gz")) {
        let (path, _) = split_url(&url);
        if !path.starts_with("/v1/symbols/details/") {
            continue;
        }
        let raw: Value = serde_json::from_str(&body).expect("JSON details");
        match c.parse_instruments(Market::Spot, &url, &body) {
            Ok(list) => {
                for l in &list {
                    if (l.spec.base.as_str(), l.spec.quote.as_str())
                        != (
                            raw["base_currency"].as_str().unwrap_or(""),
                            raw["quote_currency"].as_str().unwrap_or(""),
                        )
                    {
                        failures.push(format!("{path}: {:?}", l.spec));
                    }
                    if c.symbol(Market::Spot, &l.symbol.native).ok().as_ref() != Some(&l.symbol) {
                        failures.push(format!("{path}: symbol() disagrees on {:?}", l.symbol));
                    }
                }
                items.extend(list);
            }
            Err(e) => failures.push(format!("{path}: {e}")),
        }
    }
    let list = InstrumentList::new(items.clone()).expect("distinct symbols");
    for l in &items {
        for key in [l.symbol.native.as_str(), l.symbol.symbol.as_str()] {
            if !matches!(list.lookup(Market::Spot, key), Lookup::Found(x) if x == l) {
                failures.push(format!("lookup {key}"));
            }
        }
    }
    let mut status: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &items {
        *status.entry(l.spec.status.as_str()).or_default() += 1;
    }
    println!(
        "gemini symbols/details: {} parsed ({status:?})",
        items.len()
    );
    assert!(items.len() >= 60, "{} details parsed", items.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
