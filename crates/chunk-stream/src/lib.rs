//! Fixed-size chunked reading with observable progress (bytes, total, percent, rate, ETA) in flat memory.
