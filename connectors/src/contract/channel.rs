//! The normalized data channels a user subscribes to, and a bit set of them.

use std::fmt;

/// A normalized data channel a user can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Trade,
    Bbo,
    Book,
    Ticker,
    Funding,
    OpenInterest,
    Liquidation,
    MarkPrice,
}

impl Channel {
    pub const ALL: [Channel; 8] = [
        Channel::Trade,
        Channel::Bbo,
        Channel::Book,
        Channel::Ticker,
        Channel::Funding,
        Channel::OpenInterest,
        Channel::Liquidation,
        Channel::MarkPrice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Trade => "trade",
            Channel::Bbo => "bbo",
            Channel::Book => "book",
            Channel::Ticker => "ticker",
            Channel::Funding => "funding",
            Channel::OpenInterest => "open_interest",
            Channel::Liquidation => "liquidation",
            Channel::MarkPrice => "mark_price",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A small set of channels (a bit set: parsers test membership on the hot path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelSet(u16);

impl ChannelSet {
    pub fn all() -> ChannelSet {
        Channel::ALL.into_iter().collect()
    }
    pub fn insert(&mut self, c: Channel) {
        self.0 |= 1 << c as u16;
    }
    pub fn contains(self, c: Channel) -> bool {
        self.0 & (1 << c as u16) != 0
    }
    pub fn iter(self) -> impl Iterator<Item = Channel> {
        Channel::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Channel> for ChannelSet {
    fn from_iter<I: IntoIterator<Item = Channel>>(iter: I) -> Self {
        let mut set = ChannelSet::default();
        for c in iter {
            set.insert(c);
        }
        set
    }
}
