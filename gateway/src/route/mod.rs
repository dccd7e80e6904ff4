//! Routing: which product a request is for, decided once, first.
//!
//! [`RouteLayer`] finds the product by host and path (see `table`), puts a
//! [`RoutedProduct`] into the request's extensions for the layers after it
//! (access, rate limits, the proxy), and answers 404 itself when nothing
//! matches. It also counts every routed request and its latency
//! (`maskgate_requests_total`, `maskgate_request_duration_seconds`), so the
//! answers of later layers (401, 403, 429) are counted like the proxy's.

mod table;

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use futures_util::future::{Either, Ready, ready};
use http::{Request, Response, header};
use maskgate_config::Config;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use self::table::{Routes, normalize_prefix};
use crate::{
    access::AccessRules, body::Body, error::GatewayError, metrics::Metrics, request_id::RequestId,
};

/// What the layers after routing know about a product: built once from the
/// configuration, shared by every worker.
#[derive(Debug)]
pub(crate) struct ProductSettings {
    /// The product's name (logs, metrics, errors).
    pub(crate) name: Arc<str>,
    /// Its position in the configuration: the index of per-product state
    /// (upstream clients, rate limiters).
    pub(crate) index: usize,
    /// Who may call it; `None` in plain-proxy mode (no `[authn]`).
    pub(crate) access: Option<AccessRules>,
    /// The route as configured: `HOST/PREFIX` or `/PREFIX` (audit records).
    pub(crate) route: Arc<str>,
    /// With `strip_prefix`, the length of the prefix to remove.
    strip: Option<usize>,
}

impl ProductSettings {
    /// The path to forward for a request at `path`: without the route's
    /// prefix if the product strips it (always starting with `/`), else
    /// as is.
    pub(crate) fn forward_path<'p>(&self, path: &'p str) -> &'p str {
        match self.strip {
            Some(len) => match path.get(len..) {
                Some("") | None => "/",
                Some(rest) => rest,
            },
            None => path,
        }
    }
}

/// The product a request was routed to, in the request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct RoutedProduct(pub(crate) Arc<ProductSettings>);

/// Every product's settings, and the routing table to them.
#[derive(Debug)]
pub(crate) struct ProductTable {
    routes: Routes<ProductSettings>,
}

impl ProductTable {
    pub(crate) fn new(config: &Config) -> Self {
        let routes = config.products.iter().enumerate().map(|(index, product)| {
            let prefix = normalize_prefix(product.route.path_prefix.clone());
            let strip = (product.route.strip_prefix && prefix != "/").then_some(prefix.len());
            let access = product
                .access
                .as_ref()
                .zip(config.authn.as_ref())
                .map(|(access, authn)| AccessRules::new(access, authn));
            let route = format!(
                "{}{prefix}",
                product.route.host.as_deref().unwrap_or_default()
            );
            let settings = ProductSettings {
                name: Arc::from(product.name.as_str()),
                index,
                access,
                route: Arc::from(route),
                strip,
            };
            (product.route.host.clone(), prefix, Arc::new(settings))
        });
        Self {
            routes: Routes::new(routes),
        }
    }

    /// The product for a request to `host` (without port, any case) at
    /// `path`.
    pub(crate) fn find(&self, host: Option<&str>, path: &str) -> Option<&Arc<ProductSettings>> {
        self.routes.find(host, path).map(|entry| &entry.target)
    }
}

/// Routes requests; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct RouteLayer {
    table: Arc<ProductTable>,
    metrics: Arc<Metrics>,
}

impl RouteLayer {
    pub(crate) fn new(table: Arc<ProductTable>, metrics: Arc<Metrics>) -> Self {
        Self { table, metrics }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = Route<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Route {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RouteLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct Route<S> {
    inner: S,
    layer: RouteLayer,
}

impl<S, ReqB> Service<Request<ReqB>> for Route<S>
where
    S: Service<Request<ReqB>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<ResponseFuture<S::Future>, Ready<Result<Response<Body>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let started = Instant::now();
        let found = self
            .layer
            .table
            .find(request_host(&request), request.uri().path())
            .cloned();
        let Some(product) = found else {
            let id = request.extensions().get::<RequestId>().map(|id| &id.0);
            let response = GatewayError::NoRoute.into_response(id);
            self.layer
                .metrics
                .observe_request(None, response.status(), started.elapsed());
            return Either::Right(ready(Ok(response)));
        };
        let name = product.name.clone();
        request.extensions_mut().insert(RoutedProduct(product));
        Either::Left(ResponseFuture {
            inner: self.inner.call(request),
            observe: Some((self.layer.metrics.clone(), name, started)),
        })
    }
}

pin_project! {
    /// Counts the response of a routed request once its head is ready.
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        inner: F,
        observe: Option<(Arc<Metrics>, Arc<str>, Instant)>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some((metrics, product, started))) = (&result, this.observe.take()) {
            metrics.observe_request(Some(&product), response.status(), started.elapsed());
        }
        Poll::Ready(result)
    }
}

/// The host name for routing, without port, IPv6 literals in brackets as
/// the configuration writes them (any case: routes compare
/// case-insensitively).
fn request_host<B>(request: &Request<B>) -> Option<&str> {
    if let Some(host) = request.uri().host() {
        return Some(host);
    }
    let value = request.headers().get(header::HOST)?.to_str().ok()?;
    Some(strip_port(value))
}

/// `example.com:8443` -> `example.com`, `[::1]:80` -> `[::1]`.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, path::Path};

    use http::StatusCode;
    use tower::{ServiceExt, service_fn};

    use super::*;

    fn table(products: &str) -> Arc<ProductTable> {
        let text =
            format!("[[server.listener]]\naddress = \"127.0.0.1:0\"\nplaintext = true\n{products}");
        let config = Config::from_str(&text, Path::new("test.toml")).unwrap();
        Arc::new(ProductTable::new(&config))
    }

    fn product(name: &str, prefix: &str, strip: bool) -> String {
        format!(
            "[[product]]\nname = \"{name}\"\nroute = {{ path_prefix = \"{prefix}\", strip_prefix = {strip} }}\nupstream = {{ url = \"http://u\" }}\n"
        )
    }

    /// Routes `uri` and says which product the inner service saw, and the
    /// path it would forward.
    async fn route(table: &Arc<ProductTable>, uri: &str) -> (StatusCode, String) {
        let metrics = Arc::new(Metrics::new());
        let inner = service_fn(|request: Request<()>| async move {
            let RoutedProduct(product) = request.extensions().get::<RoutedProduct>().unwrap();
            let text = format!(
                "{} {}",
                product.name,
                product.forward_path(request.uri().path())
            );
            Ok::<_, Infallible>(Response::new(crate::body::full(text)))
        });
        let request = Request::get(uri).body(()).unwrap();
        let response = RouteLayer::new(table.clone(), metrics)
            .layer(inner)
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn routes_and_says_what_to_forward() {
        let table = table(&format!(
            "{}{}{}",
            product("customers", "/customers", true),
            product("vip", "/customers/vip", false),
            product("root", "/", true),
        ));
        for (uri, seen) in [
            ("/customers/42", "customers /42"),
            ("/customers", "customers /"),
            ("/customers/vip/7", "vip /customers/vip/7"),
            ("/other", "root /other"),
        ] {
            assert_eq!(route(&table, uri).await, (StatusCode::OK, seen.to_owned()));
        }
    }

    #[tokio::test]
    async fn answers_404_without_a_route_and_counts_it() {
        let table = table(&product("customers", "/customers", false));
        let metrics = Arc::new(Metrics::new());
        let inner = service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(crate::body::full("reached")))
        });
        let service = RouteLayer::new(table, metrics.clone()).layer(inner);
        let request = Request::get("/orders").body(()).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let request = Request::get("/customers/1").body(()).unwrap();
        assert_eq!(
            service.oneshot(request).await.unwrap().status(),
            StatusCode::OK
        );
        let text = metrics.encode();
        assert!(text.contains(r#"maskgate_requests_total{product="-",status="404"} 1"#));
        assert!(text.contains(r#"maskgate_requests_total{product="customers",status="200"} 1"#));
    }

    #[test]
    fn host_for_routing_drops_the_port() {
        for (header, host) in [
            ("data.example.com", "data.example.com"),
            ("Data.Example.com:8443", "Data.Example.com"),
            ("[::1]:8080", "[::1]"),
            ("[::1]", "[::1]"),
            ("127.0.0.1:80", "127.0.0.1"),
        ] {
            let request = Request::builder()
                .header(header::HOST, header)
                .body(())
                .unwrap();
            assert_eq!(request_host(&request), Some(host), "{header}");
        }
        let absolute = Request::builder()
            .uri("http://abs.example.com:81/x")
            .header(header::HOST, "ignored")
            .body(())
            .unwrap();
        assert_eq!(request_host(&absolute), Some("abs.example.com"));
    }
}
