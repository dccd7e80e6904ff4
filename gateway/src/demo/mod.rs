//! `maskgate demo`: a sample data product to put the gateway in front of.
//!
//! This module owns the demo's upstream: synthetic but valid-looking customer
//! records ([`generate`]) served by a small JSON API ([`SampleProduct`]). It
//! does not own the gateway it demonstrates nor the command line that starts
//! both.

mod customers;
mod sample_product;

pub use customers::{Address, Customer, Segment, generate};
pub use sample_product::{DEFAULT_CUSTOMERS, DEFAULT_SEED, SampleProduct};
