//! Reading a Prometheus text page the way a scraper would.

/// The `/metrics` page of a server or gc at `base_url`.
pub async fn scrape(base_url: &str) -> String {
    reqwest::get(format!("{base_url}/metrics"))
        .await
        .and_then(|response| response.error_for_status())
        .expect("GET /metrics")
        .text()
        .await
        .expect("a /metrics body")
}

/// The value of one sample line `name value`, e.g. `presence_gc_sweeps_total` or
/// `presence_store_errors_total{operation="view"}`.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
