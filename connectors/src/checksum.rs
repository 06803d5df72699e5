//! Hashes exchanges use or we need: CRC-32 for book checksums (Kraken, OKX, Bitfinex
//! ...), computed by `crc32fast`, and FNV-1a for ids of events an exchange does not
//! number.

/// CRC-32 (IEEE 802.3, the `zlib`/`binascii.crc32` one) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// FNV-1a, 64 bit: a stable hash for ids of events an exchange does not number.
pub fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_values() {
        // The check value of CRC-32/ISO-HDLC, and zlib.crc32(b"") / (b"a").
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        assert_eq!(fnv1a(""), 0xcbf29ce484222325);
        assert_eq!(fnv1a("a"), 0xaf63dc4c8601ec8c);
    }
}
