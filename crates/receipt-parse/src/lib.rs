//! OCR text to a structured receipt: merchant, date, currency, subtotal, tax, tip, total and items.
//!
//! Its one job: read the text an OCR engine printed for a receipt photo and say what the receipt
//! says. Keyword tables cover English, German, French, Spanish, Portuguese, Italian, Dutch, Polish,
//! Czech, Turkish, Bulgarian, Thai and Malay (Cyrillic read through its Latin look-alikes; Thai,
//! written without spaces, by its keywords inside words); labels one
//! letter off, glued together or broken by a stray mark are still read when the exact reading
//! leaves the total unconfirmed; amounts OCR split apart (`$41 .20`, `16. 95`) are joined; matching
//! tolerates the usual OCR confusions (0/O, 1/l/|, 5/S, 8/B); amounts may use either decimal
//! separator and thousands grouping; years may be in the Thai Buddhist era (2567, and 67 on a
//! Thai receipt, are 2024); the grand total is picked among several total-like lines
//! (after rounding, before cash and change) and cross-checked (tendered − change, subtotal + tax).
//!
//! ```
//! use receipt_parse::{parse, Amount, Currency};
//!
//! let r = parse("CAFE KRONE GmbH\nDatum 24.12.2019 18:05\nKaffee 2,80\nKuchen 3,90\nSumme EUR 6,70\nGegeben 10,00\nRückgeld 3,30");
//! assert_eq!(r.merchant.as_deref(), Some("CAFE KRONE GmbH"));
//! assert_eq!(r.date.as_deref(), Some("2019-12-24"));
//! assert_eq!(r.total, Some(Amount::new(670, 2)));
//! assert_eq!(r.currency, Some(Currency::Eur));
//! assert_eq!(r.total.unwrap().to_string(), "6.70");
//! ```
//!
//! What it does not do: OCR (see `ocr-client`), HTTP, or any I/O; it never fails and never
//! panics — fields it cannot find are `None`, with a confidence of 0.

mod amount;
mod date;
mod extract;
mod layout;
#[cfg(test)]
mod testgen;
mod words;

use serde::{Deserialize, Serialize};

pub use amount::{Amount, AmountError};

/// One line of OCR output, with its box when the engine gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The text of the line (or of one word box).
    pub text: String,
    /// `[x_min, y_min, x_max, y_max]` in pixels, if known.
    pub bbox: Option<[i32; 4]>,
}

impl Line {
    /// A line without a box.
    pub fn new(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            bbox: None,
        }
    }

    /// A line with its box `[x_min, y_min, x_max, y_max]`.
    pub fn with_box(text: impl Into<String>, bbox: [i32; 4]) -> Line {
        Line {
            text: text.into(),
            bbox: Some(bbox),
        }
    }
}

/// The currency a receipt is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// Euro (€, EUR).
    Eur,
    /// Pound sterling (£, GBP).
    Gbp,
    /// US dollar (USD; a bare `$` is reported as USD too).
    Usd,
    /// Malaysian ringgit (RM, MYR).
    Myr,
    /// Swiss franc (CHF, Fr.).
    Chf,
    /// Singapore dollar (SGD, S$).
    Sgd,
    /// Polish złoty (PLN, zł).
    Pln,
    /// Turkish lira (TRY, TL, ₺).
    Try,
    /// Czech koruna (CZK, Kč).
    Czk,
    /// Bulgarian lev (BGN, лв).
    Bgn,
    /// Thai baht (THB, บาท, ฿).
    Thb,
}

impl Currency {
    /// The ISO 4217 code: "EUR".
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Usd => "USD",
            Currency::Myr => "MYR",
            Currency::Chf => "CHF",
            Currency::Sgd => "SGD",
            Currency::Pln => "PLN",
            Currency::Try => "TRY",
            Currency::Czk => "CZK",
            Currency::Bgn => "BGN",
            Currency::Thb => "THB",
        }
    }
}

/// How the receipt was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    /// Notes and coins (cash, bar, espèces, efectivo, contanti, contant).
    Cash,
    /// A card (visa, mastercard, EC, carte, tarjeta, pin).
    Card,
}

/// The payment block at the foot of a receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Cash or card, when a line says so.
    pub method: Option<PaymentMethod>,
    /// The amount handed over.
    pub tendered: Option<Amount>,
    /// The change given back.
    pub change: Option<Amount>,
}

/// One line item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// What was bought, as printed.
    pub description: String,
    /// How many (or how much, e.g. 0.600 kg), when printed.
    pub quantity: Option<Amount>,
    /// The price of one, when printed.
    pub unit_price: Option<Amount>,
    /// The line's amount.
    pub amount: Amount,
}

/// How sure the parser is of each field, 0 (not found) to 100.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confidence {
    /// Of [`Receipt::merchant`].
    pub merchant: u8,
    /// Of [`Receipt::date`].
    pub date: u8,
    /// Of [`Receipt::time`].
    pub time: u8,
    /// Of [`Receipt::currency`].
    pub currency: u8,
    /// Of [`Receipt::subtotal`].
    pub subtotal: u8,
    /// Of [`Receipt::tax`].
    pub tax: u8,
    /// Of [`Receipt::tip`].
    pub tip: u8,
    /// Of [`Receipt::total`].
    pub total: u8,
    /// Of [`Receipt::payment`].
    pub payment: u8,
    /// Of [`Receipt::items`].
    pub items: u8,
}

/// What a receipt says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The shop or company, as printed (registration numbers dropped).
    pub merchant: Option<String>,
    /// The date, ISO 8601 ("2018-12-25").
    pub date: Option<String>,
    /// The time of day, 24 hours ("20:13" or "20:13:39").
    pub time: Option<String>,
    /// The currency, from symbols and codes on the receipt.
    pub currency: Option<Currency>,
    /// The amount before tax (or before tip).
    pub subtotal: Option<Amount>,
    /// Tax (VAT, GST, MwSt, TVA, IVA, BTW, sales tax).
    pub tax: Option<Amount>,
    /// Tip or gratuity.
    pub tip: Option<Amount>,
    /// Cash rounding adjustment.
    pub rounding: Option<Amount>,
    /// The grand total: what the customer paid.
    pub total: Option<Amount>,
    /// Cash or card, tendered and change.
    pub payment: Payment,
    /// The line items found.
    pub items: Vec<Item>,
    /// How sure the parser is of each field.
    pub confidence: Confidence,
}

/// Parses the plain text of a receipt (one OCR line per text line).
pub fn parse(text: &str) -> Receipt {
    extract::receipt(extract::lines(text), text.len())
}

/// Parses OCR lines; where every line has a box, boxes on the same visual row are merged
/// left to right first, so a label and its amount printed apart end up on one row.
pub fn parse_lines(lines: &[Line]) -> Receipt {
    let rows = layout::rows(lines);
    let size: usize = rows.iter().map(String::len).sum();
    extract::receipt(rows.iter().map(String::as_str), size)
}
