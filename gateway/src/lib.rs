//! maskgate

pub mod demo;
