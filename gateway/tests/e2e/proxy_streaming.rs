//! Streaming: bodies far larger than any buffer pass through the real
//! binary with flat memory, byte for byte.

use crate::support;

use http::Request;
use support::{ChildGateway, Upstream, body, client};

/// 256 MiB each way.
const BIG: u64 = 256 * 1024 * 1024;

/// What the gateway process may reach at its peak while moving 512 MiB:
/// its own baseline plus bounded buffers, nowhere near one body.
const PEAK_RSS_BOUND: u64 = 96 * 1024 * 1024;

/// A 256 MiB upload goes through `maskgate serve` (the real binary) to an
/// upstream that counts the bytes, and a 256 MiB download comes back: both
/// arrive complete, to the byte, and the gateway's peak resident memory
/// stays under a bound far below one body: bodies are streamed, never
/// buffered.
#[tokio::test]
async fn large_bodies_stream_through_the_binary_with_flat_memory() {
    let upstream = Upstream::start(|seen| async move {
        // Only answer (with a download as big) once the upload is complete.
        assert!(seen.body_complete, "the upload arrived whole");
        http::Response::new(body::streamed(BIG, 64 * 1024))
    })
    .await;
    let gateway = ChildGateway::start(&format!(
        r#"
[server.limits]
max_request_body = "512MiB"

[[product]]
name = "bulk"
route = {{ path_prefix = "/bulk" }}
upstream = {{ url = "{}" }}
"#,
        upstream.url()
    ))
    .await;
    let baseline = gateway.peak_rss();

    let request = Request::post(gateway.url("/bulk/upload"))
        .header("content-length", BIG)
        .body(body::streamed(BIG, 64 * 1024))
        .expect("a valid request");
    let response = client::h1()
        .request(request)
        .await
        .unwrap_or_else(|e| panic!("the upload failed: {e:?}\n{}", gateway.logs()));
    assert_eq!(response.status(), 200, "{}", gateway.logs());
    let downloaded = body::count(response.into_body())
        .await
        .unwrap_or_else(|(n, e)| panic!("the download failed after {n} bytes: {e:?}"));

    let seen = upstream.only_request();
    assert_eq!(seen.body_len, BIG, "bytes the upstream received");
    assert_eq!(downloaded, BIG, "bytes the client received");
    let peak = gateway.peak_rss();
    assert!(
        peak < PEAK_RSS_BOUND,
        "peak RSS {} MiB (baseline {} MiB) is not flat",
        peak / (1024 * 1024),
        baseline / (1024 * 1024),
    );
    eprintln!(
        "peak RSS {} KiB (baseline {} KiB)",
        peak / 1024,
        baseline / 1024
    );
}
