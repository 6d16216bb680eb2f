//! A loopback HTTP/1.1 server for tests and demos: multipart echo, static files with ranges,
//! faults, rate limits and an OCR.space-shaped endpoint.

pub mod peers;
