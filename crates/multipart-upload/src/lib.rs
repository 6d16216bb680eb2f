//! Streaming multipart/form-data bodies with an exact Content-Length, and uploads over ureq.
