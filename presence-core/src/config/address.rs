//! Addresses in the configuration, read with their allowed form in the error.
//!
//! serde's own `SocketAddr` reader fails with "invalid socket address syntax", which
//! names neither the value nor what would have been right. These readers fail with
//! serde's `invalid_value`/`invalid_type`, carrying the value and the form below,
//! so the start-up error can say all three.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::de::{self, Deserializer, SeqAccess, Unexpected, Visitor};

/// What a listening address must look like.
pub const SOCKET_ADDRESS: &str =
    "host:port with a numeric host, e.g. 127.0.0.1:3000, 0.0.0.0:3000 or [::]:3000";

/// What one trusted proxy must look like.
const IP_ADDRESS: &str = "an IP address, e.g. 10.0.0.1 or fd00::1";

/// What the list of trusted proxies must look like.
const IP_ADDRESS_LIST: &str = "a list of IP addresses, e.g. [\"10.0.0.1\", \"fd00::1\"]";

/// `server.listen`.
pub fn socket_addr<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    struct Address;

    impl Visitor<'_> for Address {
        type Value = SocketAddr;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(SOCKET_ADDRESS)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<SocketAddr, E> {
            text.trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(text), &self))
        }
    }

    deserializer.deserialize_str(Address)
}

/// `security.trusted_proxies`.
pub fn ip_addrs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpAddr>, D::Error> {
    struct Ip;

    impl<'de> de::DeserializeSeed<'de> for Ip {
        type Value = IpAddr;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<IpAddr, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl Visitor<'_> for Ip {
        type Value = IpAddr;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(IP_ADDRESS)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<IpAddr, E> {
            text.trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(text), &self))
        }
    }

    struct Ips;

    impl<'de> Visitor<'de> for Ips {
        type Value = Vec<IpAddr>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(IP_ADDRESS_LIST)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Vec<IpAddr>, A::Error> {
            let mut ips = Vec::new();
            while let Some(ip) = items.next_element_seed(Ip)? {
                ips.push(ip);
            }
            Ok(ips)
        }
    }

    deserializer.deserialize_seq(Ips)
}
