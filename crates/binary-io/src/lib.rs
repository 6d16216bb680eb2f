//! Open any file as bytes, sniff its real type from magic bytes, and check a FilePolicy before anything goes on the wire.
