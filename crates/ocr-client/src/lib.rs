//! OCR engines behind one trait: the OCR.space API and a local Tesseract backend.
