//! Batch downloads (filled in below).
