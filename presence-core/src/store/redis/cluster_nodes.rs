//! Reading `CLUSTER NODES`: one line per node, `<id> <ip:port@cport[,hostname]>
//! <flags> <master> <ping-sent> <pong-recv> <epoch> <link-state> <slot> ...`.

use std::ops::RangeInclusive;

/// One node of the cluster, as `CLUSTER NODES` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterNode {
    pub host: String,
    pub port: u16,
    flags: Vec<String>,
    /// The slots it serves (a master's), as ranges.
    pub slots: Vec<RangeInclusive<u16>>,
}

impl ClusterNode {
    /// A master that is not failing and has an address.
    pub fn is_live_master(&self) -> bool {
        self.has("master") && !self.has("fail") && !self.has("fail?") && !self.has("noaddr")
    }

    /// The node that answered.
    pub fn is_myself(&self) -> bool {
        self.has("myself")
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// Every node of a `CLUSTER NODES` reply; lines that cannot be read are skipped.
pub fn parse(nodes: &str) -> Vec<ClusterNode> {
    nodes.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<ClusterNode> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let address = fields.get(1)?.split('@').next()?;
    let (host, port) = address.rsplit_once(':')?;
    Some(ClusterNode {
        host: host.to_owned(),
        port: port.parse().ok()?,
        flags: fields.get(2)?.split(',').map(str::to_owned).collect(),
        // Slots, and `[slot->-id]` / `[slot-<-id]` entries for slots migrating,
        // which are not served yet (or any more) and fail to parse here.
        slots: fields
            .iter()
            .skip(8)
            .filter_map(|range| {
                let (start, end) = range.split_once('-').unwrap_or((range, range));
                Some(start.parse().ok()?..=end.parse().ok()?)
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
07c3 127.0.0.1:30004@40004 slave e7d1 0 1 4 connected
67ed 127.0.0.1:30002@40002 master - 0 1 2 connected 5461-10922
292f 127.0.0.1:30003@40003,redis-3 master - 0 1 3 connected 10923-16383
e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 16000 [5461->-67ed]
9a1b 127.0.0.1:30005@40005 master,fail - 0 1 5 disconnected
";

    #[test]
    fn live_masters_are_told_apart() {
        let live: Vec<(String, u16)> = parse(NODES)
            .into_iter()
            .filter(ClusterNode::is_live_master)
            .map(|node| (node.host, node.port))
            .collect();
        assert_eq!(
            live,
            [
                ("127.0.0.1".to_owned(), 30002),
                ("127.0.0.1".to_owned(), 30003),
                ("127.0.0.1".to_owned(), 30001)
            ]
        );
    }

    #[test]
    fn a_node_s_own_slots_skip_migrating_ones() {
        let myself = parse(NODES)
            .into_iter()
            .find(ClusterNode::is_myself)
            .unwrap();
        assert_eq!(myself.slots, [0..=5460, 16000..=16000]);
    }
}
