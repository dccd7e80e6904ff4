//! TEMPORARY stand-in until the sample product lands (replaced at merge).
#![allow(missing_docs, unreachable_pub)]
pub const DEFAULT_CUSTOMERS: usize = 1000;
pub const DEFAULT_SEED: u64 = 7;
pub struct SampleProduct;
impl SampleProduct {
    pub fn new(_: usize, _: u64) -> Self {
        Self
    }
    pub async fn serve(
        self,
        _l: tokio::net::TcpListener,
        s: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        s.await;
        Ok(())
    }
}
