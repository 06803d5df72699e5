//! `[cluster]`: one config split over N replicas. Each (exchange, market, symbol) is
//! owned by exactly one replica, chosen by rendezvous hashing (the replica with the
//! highest hash of the key and its index wins): the assignment depends on nothing but
//! the key and N, every replica computes the same one on its own, and adding a
//! replica moves only the keys the new one wins (its 1/(N+1) share), none between the
//! others.
//!
//! ```toml
//! [cluster]
//! replicas = 3                 # default 1: no sharding
//! shard = 0                    # this replica, 0-based; or:
//! # shard_from_hostname = true # the trailing number of the host name (a StatefulSet's
//! #                            # pod `tickbridge-2` is shard 2)
//! standby = true               # hot standby: replicas of one shard, one publishes
//! group = "tickbridge"         # names the leadership groups and topic in Kafka
//! standby_buffer = 200000      # records a standby keeps for its takeover
//! ```
//!
//! With `standby`, several replicas may run the same shard: the one that holds the
//! shard's leadership in Kafka publishes, the others keep their connections and
//! books live and keep the recent records (`crate::cluster`).

use serde::Deserialize;

/// `[cluster]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// How many replicas share the config.
    #[serde(default = "one")]
    pub replicas: u32,
    /// This replica's index, 0-based.
    #[serde(default)]
    pub shard: Option<u32>,
    /// Take the index from the trailing number of the host name (`HOSTNAME`, else
    /// `/etc/hostname`); with `standby`, that number modulo `replicas` (pods `i`,
    /// `i + replicas`, ... of a StatefulSet run shard `i`).
    #[serde(default)]
    pub shard_from_hostname: bool,
    /// Hot standby (Kafka sink): replicas of one shard elect one publisher through a
    /// Kafka consumer group; the others stand by.
    #[serde(default)]
    pub standby: bool,
    /// Names the leadership: consumer group `<group>.shard-<i>` on the one-partition
    /// topic `<group>.leadership`.
    #[serde(default = "default_group")]
    pub group: String,
    /// Records a standby keeps (the oldest go first) to resume from the last one the
    /// leader published.
    #[serde(default = "default_standby_buffer")]
    pub standby_buffer: usize,
}

fn default_group() -> String {
    "tickbridge".into()
}

fn default_standby_buffer() -> usize {
    200_000
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            replicas: 1,
            shard: None,
            shard_from_hostname: false,
            standby: false,
            group: default_group(),
            standby_buffer: default_standby_buffer(),
        }
    }
}

fn one() -> u32 {
    1
}

/// This replica's place in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub replicas: u32,
}

impl ClusterConfig {
    /// The shard this process is, `None` without sharding; the error names the field.
    pub fn shard(
        &self,
        hostname: impl Fn() -> Option<String>,
    ) -> Result<Option<Shard>, (String, String)> {
        if self.replicas == 0 {
            return Err(("replicas".into(), "must be at least 1".into()));
        }
        let index = match (self.shard, self.shard_from_hostname) {
            (Some(_), true) => {
                return Err((
                    "shard".into(),
                    "give shard or shard_from_hostname, not both".into(),
                ))
            }
            (Some(i), false) => Some(i),
            (None, true) => {
                let name = hostname().ok_or_else(|| {
                    (
                        "shard_from_hostname".to_string(),
                        "no host name (HOSTNAME unset and /etc/hostname unreadable)".to_string(),
                    )
                })?;
                let digits: String = name
                    .trim()
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_digit())
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let ordinal = digits.parse::<u32>().map_err(|_| {
                    (
                        "shard_from_hostname".to_string(),
                        format!("the host name {:?} does not end in a number", name.trim()),
                    )
                })?;
                // With standby a StatefulSet runs every shard more than once: pods
                // `i`, `i + replicas`, ... are replicas of shard `i`.
                Some(match self.standby {
                    true => ordinal % self.replicas,
                    false => ordinal,
                })
            }
            (None, false) => None,
        };
        match index {
            None if self.replicas == 1 => Ok(None),
            None => Err((
                "shard".into(),
                format!(
                    "replicas = {} needs this replica's index: shard = 0..{} or shard_from_hostname = true",
                    self.replicas,
                    self.replicas - 1
                ),
            )),
            Some(i) if i >= self.replicas => Err((
                "shard".into(),
                format!("{i} is not below replicas = {}", self.replicas),
            )),
            Some(_) if self.replicas == 1 => Ok(None),
            Some(i) => Ok(Some(Shard {
                index: i,
                replicas: self.replicas,
            })),
        }
    }
}

impl ClusterConfig {
    /// The hot-standby settings (`None` without `standby`); `sinks` are the configured
    /// sinks (standby needs exactly one, Kafka with JSON values: the takeover reads
    /// what the leader published back as JSON). The error names the field.
    pub fn standby(
        &self,
        sinks: &[crate::config::SinkConfig],
    ) -> Result<Option<Standby>, (String, String)> {
        if !self.standby {
            return Ok(None);
        }
        if self.group.is_empty()
            || !self
                .group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err((
                "group".into(),
                format!(
                    "{:?} must be non-empty ASCII letters, digits, '.', '_' or '-' (it names a Kafka topic and consumer groups)",
                    self.group
                ),
            ));
        }
        if self.standby_buffer == 0 {
            return Err(("standby_buffer".into(), "must be at least 1".into()));
        }
        match sinks {
            [one] if one.kind == crate::config::SinkKind::Kafka => {
                if one.encoding != crate::sinks::Encoding::Json {
                    return Err((
                        "standby".into(),
                        format!(
                            "needs [sink] encoding = \"json\" (a takeover reads the leader's last records back), not {:?}",
                            one.encoding.as_str()
                        ),
                    ));
                }
            }
            _ => {
                return Err((
                    "standby".into(),
                    "needs exactly one [sink], of kind = \"kafka\" (leadership is held in Kafka)"
                        .into(),
                ))
            }
        }
        Ok(Some(Standby {
            group: self.group.clone(),
            buffer: self.standby_buffer,
        }))
    }
}

/// Hot standby, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standby {
    pub group: String,
    /// Records kept while standing by.
    pub buffer: usize,
}

impl Standby {
    /// The one-partition topic whose owner in the shard's group is the leader.
    pub fn topic(&self) -> String {
        format!("{}.leadership", self.group)
    }

    /// The consumer group of shard `index` (0 without sharding).
    pub fn group_id(&self, index: u32) -> String {
        format!("{}.shard-{index}", self.group)
    }
}

/// The host name, for `shard_from_hostname`.
pub fn hostname() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
}

impl Shard {
    /// Whether this replica owns `key` (exchange, market, native symbol).
    pub fn owns(&self, exchange: &str, market: &str, native: &str) -> bool {
        owner(exchange, market, native, self.replicas) == self.index
    }
}

/// The replica (of `replicas`) that owns the key: rendezvous hashing.
pub fn owner(exchange: &str, market: &str, native: &str, replicas: u32) -> u32 {
    (0..replicas)
        .max_by_key(|r| weight(exchange, market, native, *r))
        .unwrap_or(0)
}

/// A stable 64-bit hash of the key and a replica index: FNV-1a over the parts (each
/// followed by a 0 byte), finished with splitmix64. Stable across builds and Rust
/// versions (std's hasher is not), so every replica of every version agrees.
fn weight(exchange: &str, market: &str, native: &str, replica: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        exchange.as_bytes(),
        market.as_bytes(),
        native.as_bytes(),
        &replica.to_le_bytes(),
    ] {
        for b in part.iter().chain(&[0u8]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        (0..600).map(|i| format!("SYM{i}USDT")).collect()
    }

    #[test]
    fn every_key_has_exactly_one_owner_and_the_shares_are_even() {
        let mut counts = [0usize; 3];
        for k in keys() {
            let owners: Vec<u32> = (0..3)
                .filter(|i| {
                    Shard {
                        index: *i,
                        replicas: 3,
                    }
                    .owns("binance", "spot", &k)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{k}: {owners:?}");
            counts[owners[0] as usize] += 1;
        }
        for c in counts {
            assert!((150..=250).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn adding_a_replica_moves_only_its_share() {
        let mut moved = 0;
        for k in keys() {
            let before = owner("binance", "spot", &k, 3);
            let after = owner("binance", "spot", &k, 4);
            if before != after {
                assert_eq!(
                    after, 3,
                    "{k} moved between old replicas {before} -> {after}"
                );
                moved += 1;
            }
        }
        assert!((100..=200).contains(&moved), "{moved} of 600 moved");
    }

    #[test]
    fn the_assignment_is_stable() {
        // Fixed values: a change of the hash would reshuffle every running cluster.
        let fixed: Vec<u32> = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT"]
            .iter()
            .map(|k| owner("binance", "spot", k, 3))
            .collect();
        assert_eq!(fixed, FIXED);
    }

    const FIXED: [u32; 5] = [0, 2, 1, 2, 0];

    #[test]
    fn standby_needs_one_kafka_sink_with_json_and_a_usable_group() {
        use crate::config::{SinkConfig, SinkKind};
        let kafka = SinkConfig {
            kind: SinkKind::Kafka,
            ..SinkConfig::default()
        };
        let on = ClusterConfig {
            standby: true,
            ..ClusterConfig::default()
        };
        assert_eq!(ClusterConfig::default().standby(&[]), Ok(None));
        let standby = on.standby(std::slice::from_ref(&kafka)).unwrap().unwrap();
        assert_eq!(
            (standby.topic(), standby.group_id(2), standby.buffer),
            (
                "tickbridge.leadership".to_string(),
                "tickbridge.shard-2".to_string(),
                200_000
            )
        );
        let why = |c: &ClusterConfig, sinks: &[SinkConfig]| c.standby(sinks).unwrap_err();
        assert_eq!(why(&on, &[]).0, "standby");
        let file = SinkConfig {
            kind: SinkKind::File,
            ..SinkConfig::default()
        };
        assert!(why(&on, &[file]).1.contains("of kind = \"kafka\""));
        let avro = SinkConfig {
            encoding: crate::sinks::Encoding::Avro,
            ..kafka.clone()
        };
        assert!(why(&on, &[avro])
            .1
            .contains("needs [sink] encoding = \"json\""));
        let bad_group = ClusterConfig {
            group: "a b".into(),
            ..on.clone()
        };
        assert_eq!(why(&bad_group, std::slice::from_ref(&kafka)).0, "group");
    }

    #[test]
    fn with_standby_the_host_name_ordinal_wraps_around_the_shards() {
        let c = ClusterConfig {
            replicas: 3,
            shard_from_hostname: true,
            standby: true,
            ..ClusterConfig::default()
        };
        let shard_of = |host: &'static str| c.shard(|| Some(host.to_string())).unwrap();
        let index = |host| shard_of(host).map(|s| s.index);
        assert_eq!(index("tickbridge-1"), Some(1));
        assert_eq!(
            index("tickbridge-4"),
            Some(1),
            "pod 4 of 6 stands by for shard 1"
        );
        assert_eq!(index("tickbridge-5"), Some(2));
        // Without standby an ordinal past the shards is a mistake, as before.
        let plain = ClusterConfig {
            standby: false,
            ..c.clone()
        };
        assert_eq!(
            plain.shard(|| Some("tickbridge-4".into())).unwrap_err().1,
            "4 is not below replicas = 3"
        );
    }

    #[test]
    fn the_shard_comes_from_config_or_the_host_name() {
        let c = |replicas, shard, from_host| ClusterConfig {
            replicas,
            shard,
            shard_from_hostname: from_host,
            ..ClusterConfig::default()
        };
        let host = || Some("tickbridge-2\n".to_string());
        assert_eq!(c(1, None, false).shard(host), Ok(None));
        assert_eq!(
            c(3, None, true).shard(host),
            Ok(Some(Shard {
                index: 2,
                replicas: 3
            }))
        );
        assert_eq!(
            c(3, Some(1), false).shard(host),
            Ok(Some(Shard {
                index: 1,
                replicas: 3
            }))
        );
        let err = c(3, None, false).shard(host).unwrap_err();
        assert_eq!(err.0, "shard");
        assert!(c(2, Some(2), false)
            .shard(host)
            .unwrap_err()
            .1
            .contains("not below replicas = 2"));
        let err = c(3, None, true)
            .shard(|| Some("bridge".into()))
            .unwrap_err();
        assert!(err.1.contains("does not end in a number"), "{err:?}");
    }
}
