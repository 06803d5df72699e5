//! Bitfinex WebSocket API v2 wire types. Two shapes share the socket:
//!
//! - events, JSON objects with an `event` field (`info`, `conf`, `subscribed`,
//!   `unsubscribed`, `error`, `pong`): [`Event`];
//! - channel messages, JSON arrays `[CHAN_ID, ...]` whose meaning depends on the
//!   channel the `subscribed` event bound to `CHAN_ID`: [`Message`], read element by
//!   element (the docs: "Message (JSON array) lengths should never be hardcoded. New
//!   fields may be appended at the end of a message without changing version").
//!
//! Numbers stay their raw JSON text (never `f64`): the book checksum is computed over
//! the text exactly as sent (`1.1e-7` included).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::contract::ParseError;
use crate::convert::raw_text;

/// An event object. Examples (one per event the connector reads):
///
/// - `{"event":"info","version":2,"serverId":"083bd8d4-aca7-4690-a573-eabfc8103de8","platform":{"status":1}}`
/// - `{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}`
/// - `{"event":"conf","status":"OK","flags":65536}`
/// - `{"event":"subscribed","channel":"book","chanId":232957,"symbol":"tTESTBTC:TESTUSD","prec":"P0","freq":"F0","len":"100","pair":"TESTBTC:TESTUSD"}`
/// - `{"event":"unsubscribed","status":"OK","chanId":232957}`
/// - `{"event":"error","msg":"subscribe: dup","code":10301,"channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}`
/// - `{"event":"pong","ts":1511545528111,"cid":1234}`
#[derive(Debug, Deserialize)]
pub struct Event<'a> {
    pub event: &'a str,
    #[serde(default)]
    pub channel: Option<&'a str>,
    #[serde(default, rename = "chanId")]
    pub chan_id: Option<u64>,
    #[serde(default)]
    pub symbol: Option<&'a str>,
    #[serde(default)]
    pub prec: Option<&'a str>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub msg: Option<String>,
    #[serde(default)]
    pub status: Option<&'a str>,
    #[serde(default)]
    pub flags: Option<u64>,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// `platform` of the welcome `info`: `{"status":1}` (1 operative, 0 maintenance).
#[derive(Debug, Deserialize)]
pub struct Platform {
    pub status: i64,
}

/// A channel message, its elements as raw JSON. Examples (with `SEQ_ALL`, the
/// connection's sequence number follows the payload):
///
/// - book snapshot `[232957,[[60400,1,0.68826974],[60401,2,-1.5]],12]`
/// - book update `[225206,[279380,1,0.0089],19]`, a deletion `[225206,[215350,0,1],18]`
/// - checksum `[225206,"cs",-1617317524,20]`
/// - heartbeat `[204928,"hb",127]`
/// - trade `[232959,"te",[669899160,1618665880435,-0.5,0.076989],31]`, its database
///   echo `[232959,"tu",[669899160,1618665880435,-0.5,0.076989],32]`
/// - trades snapshot `[232959,[[669899159,1618665870435,166.391496,0.076989]],9]`
/// - ticker `[232949,[0.068965,60157.36709703,0.0774,48578.50804052,0.001969,0.0262,0.076989,101459.39453471,0.0828,0.068961],1]`
#[derive(Debug)]
pub struct Message<'a> {
    pub chan_id: u64,
    pub items: Vec<&'a RawValue>,
}

impl<'a> Message<'a> {
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        let items: Vec<&'a RawValue> = serde_json::from_str(text)?;
        let chan_id = items
            .first()
            .and_then(|v| v.get().parse::<u64>().ok())
            .ok_or_else(|| ParseError::Malformed("no channel id".into()))?;
        Ok(Message { chan_id, items })
    }

    /// The message type string (`hb`, `te`, `tu`, `cs`) when the second element is one.
    pub fn tag(&self) -> Option<&'a str> {
        let raw = self.items.get(1)?.get();
        raw.strip_prefix('"')?.strip_suffix('"')
    }

    /// The payload: the element after the tag (or after the channel id).
    pub fn payload(&self) -> Option<&'a RawValue> {
        let at = if self.tag().is_some() { 2 } else { 1 };
        self.items.get(at).copied()
    }

    /// The `SEQ_ALL` sequence number: the integer right after the payload (right
    /// after the tag for a heartbeat), if the connection enabled it.
    pub fn seq(&self) -> Option<u64> {
        let at = match self.tag() {
            Some("hb") => 2,
            Some(_) => 3,
            None => 2,
        };
        self.items.get(at).and_then(|v| v.get().parse::<u64>().ok())
    }
}

/// The elements of one array (a book level, a trade, a ticker).
pub fn fields<'a>(
    raw: &'a RawValue,
    context: &'static str,
) -> Result<Vec<&'a RawValue>, ParseError> {
    serde_json::from_str(raw.get()).map_err(|e| ParseError::Invalid {
        context,
        detail: e.to_string(),
    })
}

/// Whether an array payload is a snapshot (an array of arrays, or empty).
pub fn is_snapshot(raw: &RawValue) -> bool {
    let t = raw.get().trim_start();
    let inner = t.strip_prefix('[').unwrap_or(t).trim_start();
    inner.starts_with('[') || inner.starts_with(']')
}

/// The raw number text of element `i`, or an error naming `context`.
pub fn num<'a>(
    items: &[&'a RawValue],
    i: usize,
    context: &'static str,
) -> Result<&'a str, ParseError> {
    let raw = items.get(i).ok_or_else(|| ParseError::Invalid {
        context,
        detail: format!("missing element {i}"),
    })?;
    let text = raw_text(raw);
    if text == "null" || text.is_empty() {
        return Err(ParseError::Invalid {
            context,
            detail: format!("element {i} is {text:?}"),
        });
    }
    Ok(text)
}

/// The raw number text of element `i`; `None` for absent or `null`.
pub fn num_opt<'a>(items: &[&'a RawValue], i: usize) -> Option<&'a str> {
    let text = raw_text(items.get(i)?);
    (text != "null" && !text.is_empty()).then_some(text)
}

/// The REST list `GET /v2/conf/pub:list:pair:exchange`: one array holding every
/// trading pair, e.g. `[["AAABBB","AAVE:USD","BTCUSD","TESTBTC:TESTUSD"]]`.
pub type PairList = Vec<Vec<String>>;

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn events() {
            let e: Event = serde_json::from_str(r#"{"event":"info","version":2,"serverId":"083bd8d4-aca7-4690-a573-eabfc8103de8","platform":{"status":1}}"#).unwrap();
            assert_eq!(
                (e.event, e.version, e.platform.unwrap().status),
                ("info", Some(2), 1)
            );
            let e: Event = serde_json::from_str(
                r#"{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}"#,
            )
            .unwrap();
            assert_eq!(e.code, Some(20051));
            let e: Event =
                serde_json::from_str(r#"{"event":"conf","status":"OK","flags":65536}"#).unwrap();
            assert_eq!((e.status, e.flags), (Some("OK"), Some(65536)));
            let e: Event = serde_json::from_str(r#"{"event":"subscribed","channel":"book","chanId":232957,"symbol":"tTESTBTC:TESTUSD","prec":"P0","freq":"F0","len":"100","pair":"TESTBTC:TESTUSD"}"#).unwrap();
            assert_eq!(
                (e.channel, e.chan_id, e.symbol, e.prec),
                (
                    Some("book"),
                    Some(232957),
                    Some("tTESTBTC:TESTUSD"),
                    Some("P0")
                )
            );
            let e: Event =
                serde_json::from_str(r#"{"event":"unsubscribed","status":"OK","chanId":232957}"#)
                    .unwrap();
            assert_eq!(e.chan_id, Some(232957));
            let e: Event = serde_json::from_str(r#"{"event":"error","msg":"subscribe: dup","code":10301,"channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}"#).unwrap();
            assert_eq!(
                (e.code, e.msg.as_deref()),
                (Some(10301), Some("subscribe: dup"))
            );
            let e: Event =
                serde_json::from_str(r#"{"event":"pong","ts":1511545528111,"cid":1234}"#).unwrap();
            assert_eq!(e.event, "pong");
        }

        #[test]
        fn messages() {
            let m = Message::parse("[232957,[[60400,1,0.68826974],[60401,2,-1.5]],12]").unwrap();
            assert_eq!((m.chan_id, m.tag(), m.seq()), (232957, None, Some(12)));
            assert!(is_snapshot(m.payload().unwrap()));
            let m = Message::parse("[225206,[279380,1,0.0089],19]").unwrap();
            assert!(!is_snapshot(m.payload().unwrap()));
            let level = fields(m.payload().unwrap(), "level").unwrap();
            assert_eq!(num(&level, 2, "amount").unwrap(), "0.0089");
            let m = Message::parse("[225206,[215350,0,1],18]").unwrap();
            assert_eq!(m.seq(), Some(18));
            let m = Message::parse(r#"[225206,"cs",-1617317524,20]"#).unwrap();
            assert_eq!(
                (m.tag(), m.payload().unwrap().get(), m.seq()),
                (Some("cs"), "-1617317524", Some(20))
            );
            let m = Message::parse(r#"[204928,"hb",127]"#).unwrap();
            assert_eq!((m.tag(), m.seq()), (Some("hb"), Some(127)));
            let m = Message::parse(r#"[232959,"te",[669899160,1618665880435,-0.5,0.076989],31]"#)
                .unwrap();
            assert_eq!((m.tag(), m.seq()), (Some("te"), Some(31)));
            let m = Message::parse(r#"[232959,"tu",[669899160,1618665880435,-0.5,0.076989],32]"#)
                .unwrap();
            assert_eq!(m.tag(), Some("tu"));
            let m = Message::parse("[232959,[[669899159,1618665870435,166.391496,0.076989]],9]")
                .unwrap();
            assert!(is_snapshot(m.payload().unwrap()));
            let m = Message::parse("[232949,[0.068965,60157.36709703,0.0774,48578.50804052,0.001969,0.0262,0.076989,101459.39453471,0.0828,0.068961],1]").unwrap();
            let t = fields(m.payload().unwrap(), "ticker").unwrap();
            assert_eq!((t.len(), num_opt(&t, 6)), (10, Some("0.076989")));
            assert!(is_snapshot(
                Message::parse("[1,[],3]").unwrap().payload().unwrap()
            ));
            assert!(Message::parse(r#"{"a":1}"#).is_err());
            assert!(Message::parse(r#"["x"]"#).is_err());
        }

        #[test]
        fn pair_list() {
            let l: PairList =
                serde_json::from_str(r#"[["AAABBB","AAVE:USD","BTCUSD","TESTBTC:TESTUSD"]]"#)
                    .unwrap();
            assert_eq!(l[0].len(), 4);
        }
    }
}
