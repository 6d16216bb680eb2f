//! A bounded worker pool for batches: per-item outcomes, retries honouring Retry-After, adaptive concurrency, a journal and sharding.
