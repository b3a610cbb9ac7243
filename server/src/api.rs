//! The HTTP API. Each resource has its module and its `router()`; handlers only extract,
//! call the domain and map the result.

pub mod kmindex;
