//! OCR text to a structured receipt: merchant, date, currency, subtotal, tax, tip, total and items.
