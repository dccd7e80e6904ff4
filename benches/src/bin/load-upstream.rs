//! `load-upstream`: the upstream behind both proxies in the load benchmark
//! (`benches/load/run.sh`).
//!
//! It answers `GET /products/...` (any path under `/products`) with one fixed
//! JSON body of about 2 KB — customer-like records, generated once at start —
//! as `application/json`, over HTTP/1.1 keep-alive (and HTTP/2 prior
//! knowledge, since it uses hyper-util's auto server). It does as little work
//! per request as it can, so that the benchmark measures the proxies, not it.
//!
//! The first line on stdout is `listening on ADDR`, with the port actually
//! bound, so a script can start it on `127.0.0.1:0` and read the address.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Command line of `load-upstream`.
#[derive(Debug, Parser)]
#[command(about = "Fixed-JSON upstream for the maskgate vs nginx load benchmark")]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Approximate size of the JSON body, in bytes (records are added until
    /// the body reaches it).
    #[arg(long, default_value_t = 2048)]
    body_bytes: usize,
    /// Tokio worker threads. The upstream shares the machine with the load
    /// generator and the proxy under test; one thread keeps it out of their way.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let body = Bytes::from(body(args.body_bytes));
    let listener = TcpListener::bind(args.listen).await?;
    // A script reads this first line to learn the port; println! flushes at the newline.
    println!("listening on {}", listener.local_addr()?);
    eprintln!("load-upstream: body is {} bytes", body.len());

    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: keep serving the others.
                eprintln!("load-upstream: accept: {error}");
                continue;
            }
        };
        // Small responses on keep-alive connections: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| respond(request, body.clone()));
            // Clients closing their connection mid-request is routine under load.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond<B>(request: Request<B>, body: Bytes) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let under_products = path == "/products" || path.starts_with("/products/");
    let (status, body) = match (request.method(), under_products) {
        (&Method::GET, true) => (StatusCode::OK, body),
        (_, true) => (StatusCode::METHOD_NOT_ALLOWED, Bytes::new()),
        (_, false) => (StatusCode::NOT_FOUND, Bytes::new()),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    if status == StatusCode::OK {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

/// A JSON document of customer-like records, with as many records as bring
/// it closest to `target` bytes (at least one). Deterministic: every run
/// serves the same bytes.
fn body(target: usize) -> Vec<u8> {
    const FIRST: [&str; 8] = [
        "Alice", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiroshi",
    ];
    const LAST: [&str; 8] = [
        "Martin", "Rossi", "Novak", "Schmidt", "Yilmaz", "Haddad", "Larsen", "Tanaka",
    ];
    const CITY: [&str; 4] = ["Lyon", "Torino", "Graz", "Leuven"];
    const NOTE: [&str; 4] = [
        "Prefers contact by email after 6pm.",
        "Asked to update the delivery address; call back on the mobile number.",
        "VIP since 2019, loyalty tier gold.",
        "Disputed an invoice in March, resolved.",
    ];

    let mut customers: Vec<Value> = Vec::new();
    let mut previous: Vec<u8> = Vec::new();
    loop {
        let i = customers.len();
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 3 + 1) % LAST.len()];
        customers.push(json!({
            "id": format!("cus_{:06}", 100_017 + i * 7919),
            "name": format!("{first} {last}"),
            "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
            "phone": format!("+33 6 {:02} {:02} {:02} {:02}", 10 + i, 20 + i, 30 + i, 40 + i),
            "birth_date": format!("19{:02}-{:02}-{:02}", 60 + i * 3 % 40, 1 + i % 12, 1 + i * 5 % 28),
            "iban": format!("FR76 3000 6000 {:04} {:04} {:04} 1{:02}", 1000 + i, 2000 + i * 3, 3000 + i * 7, i % 100),
            "card_number": format!("4111 1111 1111 {:04}", 1111 + i * 11),
            "address": {
                "street": format!("{} rue des Lilas", 1 + i * 4),
                "city": CITY[i % CITY.len()],
                "postal_code": format!("{:05}", 69_001 + i),
            },
            "balance_cents": 12_345 + i * 1_001,
            "active": !i.is_multiple_of(3),
            "notes": NOTE[i % NOTE.len()],
        }));
        let document = json!({ "customers": customers, "count": customers.len() });
        let bytes = serde_json::to_vec(&document).expect("a JSON value serializes");
        if bytes.len() >= target {
            // Stop at whichever of the last two documents is closer to the target.
            let under = target - previous.len();
            let over = bytes.len() - target;
            return if !previous.is_empty() && under < over {
                previous
            } else {
                bytes
            };
        }
        previous = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::body;

    #[test]
    fn body_is_valid_json_of_about_the_requested_size() {
        let bytes = body(2048);
        assert!(bytes.len().abs_diff(2048) < 256, "{}", bytes.len());
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            value["count"].as_u64().unwrap() as usize,
            value["customers"].as_array().unwrap().len()
        );
        assert_eq!(bytes, body(2048), "the body is deterministic");
    }
}
