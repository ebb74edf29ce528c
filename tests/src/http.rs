//! The HTTP API as a test reads it.

/// `GET {url}{path}` as JSON; panics with the reason if there is none.
pub async fn api(url: &str, path: &str) -> serde_json::Value {
    let response = reqwest::get(format!("{url}{path}"))
        .await
        .unwrap_or_else(|error| panic!("GET {path}: {error}"));
    response
        .json()
        .await
        .unwrap_or_else(|error| panic!("GET {path}: not JSON: {error}"))
}
