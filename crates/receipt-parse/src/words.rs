//! Keyword tables per language and OCR-tolerant matching of them.
//!
//! A line is folded to upper-case ASCII words with the characters OCR confuses mapped to one
//! representative (0/O → O, 1/l/L/| → L, 5/S → S, 8/B → B, 6/G → G, 2/Z → Z, accents dropped),
//! and so is every
//! keyword, so `T0TAL`, `Tota1` and `TOTAL` all read the same. Keywords are looked up by their
//! first word in a table, so matching costs a few hash lookups per line.

use std::sync::LazyLock;

/// What a keyword says about its line (bit flags).
pub(crate) type Flags = u64;

/// "total", "summe", "totale", "totaal", "gesamt".
pub(crate) const TOTAL: Flags = 1;
/// "subtotal", "zwischensumme", "sous-total".
pub(crate) const SUB: Flags = 1 << 1;
/// "tax", "vat", "gst", "mwst", "tva", "iva", "btw".
pub(crate) const TAX: Flags = 1 << 2;
/// "rounding", "rundung", "arrondi", "redondeo", "arrotondamento", "afronding".
pub(crate) const ROUND: Flags = 1 << 3;
/// Cash handed over: "cash", "tendered", "bar", "espèces", "efectivo", "contanti", "contant".
pub(crate) const CASH: Flags = 1 << 4;
/// "change", "rückgeld", "rendu", "cambio", "resto", "wisselgeld".
pub(crate) const CHANGE: Flags = 1 << 5;
/// "tip", "gratuity", "trinkgeld", "pourboire", "propina", "mancia", "fooi".
pub(crate) const TIP: Flags = 1 << 6;
/// What makes a total the grand one: "grand", "net", "payable", "due", "zu zahlen", "à payer".
pub(crate) const STRONG: Flags = 1 << 7;
/// Tax included: "incl", "inclusive", "ttc", "brutto".
pub(crate) const INCL: Flags = 1 << 8;
/// Tax excluded: "excl", "excluding", "before", "ht", "netto".
pub(crate) const EXCL: Flags = 1 << 9;
/// A count, not money: "qty", "items", "pcs", "anzahl".
pub(crate) const COUNT: Flags = 1 << 10;
/// "discount", "saving", "rabatt", "remise", "descuento", "sconto", "korting".
pub(crate) const DISCOUNT: Flags = 1 << 11;
/// A card payment: "visa", "mastercard", "card", "karte", "carte", "tarjeta", "debit", "credit".
pub(crate) const CARD: Flags = 1 << 12;
/// "amount", "betrag", "montant", "importe", "importo", "bedrag" (weak total).
pub(crate) const AMOUNT: Flags = 1 << 13;
/// "date", "datum", "fecha", "data", "tarikh".
pub(crate) const DATE: Flags = 1 << 14;
/// Rounded: "rounded", "after rounding", "after adj".
pub(crate) const ROUNDED: Flags = 1 << 15;
/// "balance" (a total in the UK, "balance due").
pub(crate) const BALANCE: Flags = 1 << 16;
/// A header or footer that is never the merchant: "receipt", "invoice", "welcome", "thank".
pub(crate) const BANNER: Flags = 1 << 17;
/// Words of an address or contact line: "tel", "fax", "jalan", "street", "straße", "rue".
pub(crate) const ADDRESS: Flags = 1 << 18;
/// A company's legal form or trade: "sdn bhd", "gmbh", "ltd", "enterprise", "trading", "restaurant".
pub(crate) const COMPANY: Flags = 1 << 19;
/// A legal form that ends a company name: "sdn bhd", "bhd", "s/b", "gmbh", "ltd", "inc", "sarl".
pub(crate) const LEGAL: Flags = 1 << 20;
/// Tax contained in the total, stated after it, or a line of the tax breakdown: "included in
/// total", "davon", "dont", "di cui", "sprzedaż opodatk." (sales at one tax rate).
pub(crate) const TAX_NOTE: Flags = 1 << 21;
/// The head of a tax breakdown table below the total: "gst summary", "tax summary".
pub(crate) const SUMMARY: Flags = 1 << 22;
/// "EUR", "EURO".
pub(crate) const CUR_EUR: Flags = 1 << 23;
/// "GBP".
pub(crate) const CUR_GBP: Flags = 1 << 24;
/// "USD".
pub(crate) const CUR_USD: Flags = 1 << 25;
/// "RM", "MYR".
pub(crate) const CUR_MYR: Flags = 1 << 26;
/// "CHF".
pub(crate) const CUR_CHF: Flags = 1 << 27;
/// "SGD".
pub(crate) const CUR_SGD: Flags = 1 << 28;
/// "PLN" ("zł" is read from the text: it folds like the digits "21").
pub(crate) const CUR_PLN: Flags = 1 << 29;
/// "TRY", "TL".
pub(crate) const CUR_TRY: Flags = 1 << 30;
/// "CZK", "Kč".
pub(crate) const CUR_CZK: Flags = 1 << 31;
/// "BGN" ("лв" is read from the text: it folds like the digits "18").
pub(crate) const CUR_BGN: Flags = 1 << 32;
/// "THB", "บาท", "฿".
pub(crate) const CUR_THB: Flags = 1 << 33;
/// The head of the customer's block on an invoice: "bill to", "deliver to", "sold to", "attn".
pub(crate) const CUSTOMER: Flags = 1 << 34;
/// A trade word that ends a company name like a legal form: "enterprise", "trading".
pub(crate) const SUFFIX: Flags = 1 << 35;
/// Sales at one tax rate ("TOTAL 6% SUPPLIES", "ZERO RATED SUPPLIES"): a part of the total.
pub(crate) const SUPPLY: Flags = 1 << 36;
/// In the keyword table only: a phrase whose flags replace those of its first word on its own
/// ("IMPORTE ENTREGADO" is cash handed over, not the strong total "IMPORTE").
const REPLACES: Flags = 1 << 63;
/// In the keyword table only: a keyword read exactly, never through a misread letter (its
/// one-letter neighbours are common words: "IMPORTE" / "IMPORTED").
const EXACT: Flags = 1 << 62;

/// The keyword table: phrase (as printed) and what it says, for en, de, fr, es, pt, it, nl, pl,
/// cs, tr, bg and ms (Thai, written without spaces, is in [`THAI`]).
const KEYWORDS: &[(&str, Flags)] = &[
    // currencies
    ("pln", CUR_PLN),
    ("try", CUR_TRY),
    ("tl", CUR_TRY),
    ("czk", CUR_CZK),
    ("kč", CUR_CZK),
    ("bgn", CUR_BGN),
    ("eur", CUR_EUR),
    ("euro", CUR_EUR),
    ("euros", CUR_EUR),
    ("gbp", CUR_GBP),
    ("usd", CUR_USD),
    ("rm", CUR_MYR),
    ("myr", CUR_MYR),
    ("chf", CUR_CHF),
    ("sgd", CUR_SGD),
    ("thb", CUR_THB),
    // totals
    ("total", TOTAL),
    ("totals", TOTAL),
    ("grand total", TOTAL | STRONG),
    ("net total", TOTAL | STRONG),
    ("nett total", TOTAL | STRONG),
    ("nett", STRONG),
    ("final total", TOTAL | STRONG),
    ("total due", TOTAL | STRONG),
    ("amount due", TOTAL | STRONG),
    ("balance due", TOTAL | STRONG),
    ("total payable", TOTAL | STRONG),
    ("payable", STRONG),
    ("amt payable", TOTAL | STRONG),
    ("amount payable", TOTAL | STRONG),
    ("due", STRONG),
    ("to pay", STRONG),
    ("net amt", TOTAL | STRONG),
    ("net amount", TOTAL | STRONG),
    ("amount", AMOUNT),
    ("amt", AMOUNT),
    ("balance", BALANCE),
    ("summe", TOTAL),
    ("gesamt", TOTAL),
    ("gesamtsumme", TOTAL | STRONG),
    ("gesamtbetrag", TOTAL | STRONG),
    ("endbetrag", TOTAL | STRONG),
    ("endsumme", TOTAL | STRONG),
    ("zu zahlen", TOTAL | STRONG),
    ("betrag", AMOUNT),
    ("total ttc", TOTAL | INCL | STRONG),
    ("ttc", INCL),
    ("net a payer", TOTAL | STRONG),
    ("a payer", TOTAL | STRONG),
    ("montant", AMOUNT),
    ("total a pagar", TOTAL | STRONG),
    ("a pagar", TOTAL | STRONG),
    // a Spanish ticket's grand total ("IMPORTE 13,34"; "IMPORTE ENTREGADO" is what was handed
    // over, "IMPORTE IVA" the tax)
    ("importe", TOTAL | STRONG | EXACT),
    ("importe total", TOTAL | STRONG),
    ("importe entregado", CASH | REPLACES),
    ("importe recibido", CASH | REPLACES),
    ("importe neto", SUB | REPLACES),
    ("importe iva", TAX | REPLACES),
    ("importe base", SUB | REPLACES),
    ("totale", TOTAL),
    ("totale complessivo", TOTAL | STRONG),
    ("totale euro", TOTAL | STRONG),
    ("da pagare", TOTAL | STRONG),
    ("importo", AMOUNT),
    ("totaal", TOTAL),
    ("te betalen", TOTAL | STRONG),
    ("bedrag", AMOUNT),
    ("jumlah", TOTAL),
    ("total sale", TOTAL | STRONG),
    // pl
    ("razem", TOTAL),
    ("suma", TOTAL),
    ("suma pln", TOTAL | STRONG),
    ("razem pln", TOTAL | STRONG),
    ("do zapłaty", TOTAL | STRONG),
    ("należność", TOTAL | STRONG),
    // tr
    ("toplam", TOTAL),
    ("genel toplam", TOTAL | STRONG),
    ("ödenecek", STRONG),
    ("ödenecek tutar", TOTAL | STRONG),
    ("tutar", AMOUNT),
    // pt
    ("total geral", TOTAL | STRONG),
    ("valor a pagar", TOTAL | STRONG),
    // cs
    ("celkem", TOTAL),
    ("celkem k úhradě", TOTAL | STRONG),
    ("k úhradě", TOTAL | STRONG),
    ("celková částka", TOTAL | STRONG),
    // bg
    ("общо", TOTAL),
    ("обща сума", TOTAL | STRONG),
    ("сума", TOTAL),
    ("за плащане", TOTAL | STRONG),
    // rounding
    ("zaokrouhlení", ROUND),
    ("zaokrąglenie", ROUND),
    ("yuvarlama", ROUND),
    ("arredondamento", ROUND),
    ("rounding", ROUND),
    ("round", ROUND),
    ("rounding adj", ROUND),
    ("rounding adjustment", ROUND),
    ("round adj", ROUND),
    ("adjustment", ROUND),
    ("adj", ROUND),
    ("rounded", ROUNDED),
    ("after rounding", ROUNDED),
    ("after adj", ROUNDED),
    ("rundung", ROUND),
    ("arrondi", ROUND),
    ("redondeo", ROUND),
    ("arrotondamento", ROUND),
    ("afronding", ROUND),
    // subtotals
    ("mezisoučet", SUB),
    ("ara toplam", SUB),
    ("aratoplam", SUB),
    ("междинна сума", SUB),
    ("subtotal", SUB),
    ("sub total", SUB),
    ("sub", SUB),
    ("zwischensumme", SUB),
    ("sous total", SUB),
    ("subtotale", SUB),
    ("subtotaal", SUB),
    ("base imponible", SUB),
    ("imponibile", SUB),
    ("excl", EXCL),
    ("exclusive", EXCL),
    ("excluding", EXCL),
    ("exc", EXCL),
    ("before", EXCL),
    ("ht", EXCL),
    ("netto", EXCL),
    ("w o", EXCL),
    ("incl", INCL),
    ("inclusive", INCL),
    ("including", INCL),
    ("includes", INCL),
    ("included", INCL),
    ("include", INCL),
    ("included in total", TAX_NOTE),
    ("davon", TAX_NOTE),
    ("darin enthalten", TAX_NOTE),
    ("enthaltene", TAX_NOTE),
    ("dont", TAX_NOTE),
    ("di cui", TAX_NOTE),
    ("waarvan", TAX_NOTE),
    ("sprzedaż opodatk", TAX_NOTE),
    ("sprzedaż opodatkowana", TAX_NOTE),
    ("summary", SUMMARY),
    ("supplies", SUPPLY),
    ("supply", SUPPLY),
    ("tax code", SUMMARY),
    ("to be paid", STRONG),
    ("accepted", CASH),
    ("taxable", EXCL),
    ("inc", INCL),
    ("brutto", INCL),
    // taxes
    ("tax", TAX),
    ("sales tax", TAX),
    ("vat", TAX),
    ("gst", TAX),
    ("sst", TAX),
    ("service tax", TAX),
    ("mwst", TAX),
    ("ust", TAX),
    ("mehrwertsteuer", TAX),
    ("tva", TAX),
    ("iva", TAX),
    ("btw", TAX),
    ("imposta", TAX),
    ("hst", TAX),
    ("pst", TAX),
    ("qst", TAX),
    ("tps", TAX),
    ("tvq", TAX),
    ("ptu", TAX),
    ("suma ptu", TAX),
    ("podatek", TAX),
    ("kdv", TAX),
    ("topkdv", TAX),
    ("toplam kdv", TAX),
    ("dph", TAX),
    ("ддс", TAX),
    ("ndv", TAX),
    // tips
    ("tip", TIP),
    ("tips", TIP),
    ("gratuity", TIP),
    ("trinkgeld", TIP),
    ("pourboire", TIP),
    ("propina", TIP),
    ("mancia", TIP),
    ("fooi", TIP),
    ("napiwek", TIP),
    ("bahşiş", TIP),
    ("gorjeta", TIP),
    ("spropitné", TIP),
    ("бакшиш", TIP),
    // payment
    ("cash", CASH),
    ("tendered", CASH),
    ("cash tendered", CASH),
    ("paid", CASH),
    ("payment", CASH),
    ("pay", CASH),
    ("received", CASH),
    ("bar", CASH),
    ("gegeben", CASH),
    ("especes", CASH),
    ("efectivo", CASH),
    ("entregado", CASH),
    ("contanti", CASH),
    ("contante", CASH),
    ("contant", CASH),
    ("tunai", CASH),
    ("tend", CASH),
    ("tender", CASH),
    ("amount tendered", CASH),
    ("gotówka", CASH),
    ("nakit", CASH),
    ("dinheiro", CASH),
    ("numerário", CASH),
    ("hotově", CASH),
    ("hotovost", CASH),
    ("в брой", CASH),
    ("брой", CASH),
    ("karta", CARD),
    ("kart", CARD),
    ("kredi kartı", CARD),
    ("cartão", CARD),
    ("multibanco", CARD),
    ("карта", CARD),
    ("visa", CARD),
    ("master", CARD),
    ("mastercard", CARD),
    ("amex", CARD),
    ("card", CARD),
    ("credit", CARD),
    ("debit", CARD),
    ("karte", CARD),
    ("ec", CARD),
    ("girocard", CARD),
    ("carte", CARD),
    ("cb", CARD),
    ("tarjeta", CARD),
    ("carta", CARD),
    ("pin", CARD),
    ("pinnen", CARD),
    ("change", CHANGE),
    ("change due", CHANGE),
    ("ruckgeld", CHANGE),
    ("wechselgeld", CHANGE),
    ("zuruck", CHANGE),
    ("rendu", CHANGE),
    ("rendu monnaie", CHANGE),
    ("monnaie", CHANGE),
    ("cambio", CHANGE),
    ("vuelto", CHANGE),
    ("resto", CHANGE),
    ("wisselgeld", CHANGE),
    ("terug", CHANGE),
    ("baki", CHANGE),
    ("reszta", CHANGE),
    ("para üstü", CHANGE),
    ("paraüstü", CHANGE),
    ("troco", CHANGE),
    ("vráceno", CHANGE),
    ("vrátit", CHANGE),
    ("ресто", CHANGE),
    // counts
    ("qty", COUNT),
    ("quantity", COUNT),
    ("item", COUNT),
    ("items", COUNT),
    ("pcs", COUNT),
    ("no of items", COUNT),
    ("anzahl", COUNT),
    ("artikel", COUNT),
    ("articles", COUNT),
    ("articulos", COUNT),
    ("articoli", COUNT),
    ("stuks", COUNT),
    ("discount", DISCOUNT),
    ("disc", DISCOUNT),
    ("saving", DISCOUNT),
    ("savings", DISCOUNT),
    ("rabatt", DISCOUNT),
    ("remise", DISCOUNT),
    ("descuento", DISCOUNT),
    ("sconto", DISCOUNT),
    ("korting", DISCOUNT),
    ("rabat", DISCOUNT),
    ("indirim", DISCOUNT),
    ("desconto", DISCOUNT),
    ("sleva", DISCOUNT),
    ("отстъпка", DISCOUNT),
    // dates
    ("date", DATE),
    ("datum", DATE),
    ("fecha", DATE),
    ("data", DATE),
    ("tarikh", DATE),
    ("dated", DATE),
    ("tarih", DATE),
    ("дата", DATE),
    // never the merchant
    ("receipt", BANNER),
    ("official receipt", BANNER),
    ("tax invoice", BANNER),
    ("simplified tax invoice", BANNER),
    ("invoice", BANNER),
    ("cash bill", BANNER),
    ("cash sale", BANNER),
    ("welcome", BANNER),
    ("thank", BANNER),
    ("thank you", BANNER),
    ("kassenbon", BANNER),
    ("quittung", BANNER),
    ("rechnung", BANNER),
    ("beleg", BANNER),
    ("ticket", BANNER),
    ("recu", BANNER),
    ("factura", BANNER),
    ("recibo", BANNER),
    ("scontrino", BANNER),
    ("ricevuta", BANNER),
    ("bon", BANNER),
    ("kassabon", BANNER),
    ("paragon", BANNER),
    ("paragon fiskalny", BANNER),
    ("fatura", BANNER),
    ("fiş", BANNER),
    ("účtenka", BANNER),
    ("касов бон", BANNER),
    ("фискален бон", BANNER),
    ("bienvenue", BANNER),
    ("willkommen", BANNER),
    ("bienvenido", BANNER),
    ("benvenuti", BANNER),
    ("welkom", BANNER),
    ("copy", BANNER),
    ("returnable", BANNER),
    ("refundable", BANNER),
    ("exchangeable", BANNER),
    ("goods sold", BANNER),
    ("please", BANNER),
    ("tq", BANNER),
    ("visit", BANNER),
    ("again", BANNER),
    ("tel", ADDRESS),
    ("telephone", ADDRESS),
    ("phone", ADDRESS),
    ("fax", ADDRESS),
    ("email", ADDRESS),
    ("www", ADDRESS),
    ("jalan", ADDRESS),
    ("jln", ADDRESS),
    ("lot", ADDRESS),
    ("no", ADDRESS),
    ("taman", ADDRESS),
    ("street", ADDRESS),
    ("st", ADDRESS),
    ("road", ADDRESS),
    ("rd", ADDRESS),
    ("ave", ADDRESS),
    ("avenue", ADDRESS),
    ("strasse", ADDRESS),
    ("str", ADDRESS),
    ("rue", ADDRESS),
    ("avenida", ADDRESS),
    ("calle", ADDRESS),
    ("via", ADDRESS),
    ("piazza", ADDRESS),
    ("straat", ADDRESS),
    ("reg", ADDRESS),
    ("gst id", ADDRESS),
    ("gst reg", ADDRESS),
    ("co reg", ADDRESS),
    ("company no", ADDRESS),
    ("ust id", ADDRESS),
    ("siret", ADDRESS),
    ("cif", ADDRESS),
    ("nif", ADDRESS),
    ("p iva", ADDRESS),
    ("partita iva", ADDRESS),
    ("kvk", ADDRESS),
    ("cashier", ADDRESS),
    // the customer's block of an invoice
    ("bill to", CUSTOMER),
    ("billed to", CUSTOMER),
    ("billing to", CUSTOMER),
    ("deliver to", CUSTOMER),
    ("delivered to", CUSTOMER),
    ("delivery to", CUSTOMER),
    ("ship to", CUSTOMER),
    ("shipped to", CUSTOMER),
    ("sold to", CUSTOMER),
    ("invoice to", CUSTOMER | REPLACES),
    ("customer name", CUSTOMER),
    ("attn", CUSTOMER),
    ("messrs", CUSTOMER),
    ("kasse", ADDRESS),
    ("caisse", ADDRESS),
    // companies
    ("sdn bhd", COMPANY | LEGAL),
    ("sdnbhd", COMPANY | LEGAL),
    ("sdn", COMPANY | LEGAL),
    ("bhd", COMPANY | LEGAL),
    ("s b", COMPANY | LEGAL),
    ("sb", COMPANY | LEGAL),
    ("berhad", COMPANY | LEGAL),
    ("gmbh", COMPANY | LEGAL),
    ("ag", COMPANY | LEGAL),
    ("ltd", COMPANY | LEGAL),
    ("limited", COMPANY | LEGAL),
    ("plc", COMPANY | LEGAL),
    ("inc", COMPANY | LEGAL),
    ("llc", COMPANY | LEGAL),
    ("corp", COMPANY | LEGAL),
    ("sarl", COMPANY | LEGAL),
    ("sas", COMPANY | LEGAL),
    ("s l", COMPANY | LEGAL),
    ("srl", COMPANY | LEGAL),
    ("spa", COMPANY | LEGAL),
    ("bv", COMPANY | LEGAL),
    ("b v", COMPANY | LEGAL),
    ("nv", COMPANY | LEGAL),
    ("enterprise", COMPANY | SUFFIX),
    ("enterprises", COMPANY | SUFFIX),
    ("trading", COMPANY | SUFFIX),
    ("restaurant", COMPANY),
    ("restoran", COMPANY),
    ("cafe", COMPANY),
    ("bakery", COMPANY),
    ("hardware", COMPANY),
    ("stationery", COMPANY),
    ("mart", COMPANY),
    ("market", COMPANY),
    ("supermarket", COMPANY),
    ("store", COMPANY),
    ("shop", COMPANY),
    ("pharmacy", COMPANY),
    ("farmasi", COMPANY),
    ("perniagaan", COMPANY),
    ("syarikat", COMPANY),
    ("kedai", COMPANY),
    ("pasaraya", COMPANY),
    ("bistro", COMPANY),
    ("pub", COMPANY),
    ("hotel", COMPANY),
    ("marketing", COMPANY | SUFFIX),
    ("industries", COMPANY | SUFFIX),
    ("company", COMPANY),
    ("co", COMPANY),
    ("station", COMPANY),
    ("restaurante", COMPANY),
    ("ristorante", COMPANY),
    ("trattoria", COMPANY),
    ("pizzeria", COMPANY),
    ("boulangerie", COMPANY),
    ("backerei", COMPANY),
    ("apotheke", COMPANY),
    ("pharmacie", COMPANY),
    ("farmacia", COMPANY),
    ("supermercado", COMPANY),
    ("supermercato", COMPANY),
    ("winkel", COMPANY),
    // words one letter away from a label that are not one (kept from the fuzzy lookup)
    ("charge", 0),
    ("charges", 0),
    ("service charge", 0),
    ("hotel", COMPANY),
    ("metal", 0),
];

/// Thai keywords: Thai is written without spaces between words, so they are found as substrings
/// of a row, the longest first at each place ("ใบเสร็จรับเงิน", a receipt, is no "รับเงิน",
/// money received; "ไม่รวมภาษี", tax excluded, is no "รวม", total).
const THAI: &[(&str, Flags)] = &[
    // totals
    ("รวมทั้งสิ้น", TOTAL | STRONG),
    ("ยอดรวมสุทธิ", TOTAL | STRONG),
    ("ยอดสุทธิ", TOTAL | STRONG),
    ("รวมสุทธิ", TOTAL | STRONG),
    ("ยอดชำระ", TOTAL | STRONG),
    ("ยอดรวม", TOTAL),
    ("รวมเงิน", TOTAL),
    ("ราคารวม", TOTAL),
    ("รวมภาษี", TOTAL | INCL),
    ("จำนวนเงิน", AMOUNT),
    ("รวม", TOTAL),
    ("สุทธิ", STRONG),
    // before tax, tax
    ("ราคาไม่รวมภาษี", SUB | EXCL),
    ("ไม่รวมภาษี", SUB | EXCL),
    ("ยอดก่อนภาษี", SUB),
    ("ก่อนภาษี", EXCL),
    ("ภาษีมูลค่าเพิ่ม", TAX),
    ("ภาษี", TAX),
    // payment
    ("เงินทอน", CHANGE),
    ("ทอน", CHANGE),
    ("เงินสด", CASH),
    ("รับเงิน", CASH),
    ("บัตรเครดิต", CARD),
    ("บัตร", CARD),
    ("ส่วนลด", DISCOUNT),
    ("ทิป", TIP),
    ("ค่าบริการ", 0),
    // counts, dates
    ("จำนวน", COUNT),
    ("รายการ", COUNT),
    ("วันที่", DATE),
    // never the merchant
    ("ใบเสร็จรับเงิน", BANNER),
    ("ใบกำกับภาษี", BANNER),
    ("ใบเสร็จ", BANNER),
    ("ขอบคุณ", BANNER),
    ("เลขประจำตัวผู้เสียภาษี", ADDRESS),
    ("โทร", ADDRESS),
    ("ถนน", ADDRESS),
    ("แขวง", ADDRESS),
    ("เขต", ADDRESS),
    ("ตำบล", ADDRESS),
    ("อำเภอ", ADDRESS),
    ("จังหวัด", ADDRESS),
    ("สาขา", ADDRESS),
    ("พนักงาน", ADDRESS),
    // companies
    ("ห้างหุ้นส่วนจำกัด", COMPANY | LEGAL),
    ("บริษัท", COMPANY),
    ("จำกัด", COMPANY | LEGAL),
    ("ร้าน", COMPANY),
    // currency
    ("บาท", CUR_THB),
    ("฿", CUR_THB),
];

/// [`THAI`], longest keyword first (the order in which each place is tried).
static THAI_LONGEST_FIRST: LazyLock<Vec<(&'static str, Flags)>> = LazyLock::new(|| {
    let mut t = THAI.to_vec();
    t.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    t
});

/// Where the first character of the Thai block is in a text: every one is E0 B8 xx or E0 B9 xx
/// in UTF-8.
fn first_thai(text: &str) -> Option<usize> {
    text.as_bytes()
        .windows(2)
        .position(|w| w[0] == 0xE0 && (w[1] == 0xB8 || w[1] == 0xB9))
}

/// Whether a text holds Thai script.
pub(crate) fn has_thai(text: &str) -> bool {
    first_thai(text).is_some()
}

/// The flags of the Thai keywords in a row (0 at once for a row without Thai letters).
pub(crate) fn thai_flags(text: &str) -> Flags {
    let b = text.as_bytes();
    let Some(first) = first_thai(text) else {
        return 0;
    };
    let table = &*THAI_LONGEST_FIRST;
    let mut out = 0;
    let mut i = first;
    while i < b.len() {
        let rest = &text[i..];
        match table.iter().find(|(k, _)| rest.starts_with(k)) {
            Some((k, f)) => {
                out |= f;
                i += k.len();
            }
            None => {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    out
}

/// Folds one character to its OCR-tolerant upper-case ASCII form; `None` for a word break.
fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'a' | 'A' | 'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => {
            "A"
        }
        'e' | 'E' | 'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "E",
        'l' | 'L' | '1' | '|' => "L",
        'i' | 'I' | 'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'o' | 'O' | '0' | 'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' => {
            "O"
        }
        'u' | 'U' | 'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "U",
        's' | 'S' | '5' => "S",
        'b' | 'B' | '8' => "B",
        'g' | 'G' | '6' => "G",
        'z' | 'Z' | '2' => "Z",
        '~' | '`' | '^' => "",
        'ß' => "SS",
        'ç' | 'Ç' | 'č' | 'Č' | 'ć' | 'Ć' => "C",
        'ñ' | 'Ñ' | 'ń' | 'Ń' | 'ň' | 'Ň' => "N",
        'ł' | 'Ł' => "L",
        'ą' | 'Ą' => "A",
        'ę' | 'Ę' | 'ě' | 'Ě' => "E",
        'ś' | 'Ś' | 'š' | 'Š' | 'ş' | 'Ş' => "S",
        'ż' | 'Ż' | 'ź' | 'Ź' | 'ž' | 'Ž' => "Z",
        'ı' | 'İ' => "I",
        'ğ' | 'Ğ' => "G",
        'ř' | 'Ř' => "R",
        'ů' | 'Ů' => "U",
        'ý' | 'Ý' => "Y",
        'ď' | 'Ď' => "D",
        'ť' | 'Ť' => "T",
        // Cyrillic: letters that look like Latin ones fold with them (OCR mixes the scripts:
        // "OБЩO", "CУMA"), the others to a transliteration
        'а' | 'А' => "A",
        'б' | 'Б' => "B",
        'в' | 'В' => "B",
        'г' | 'Г' => "G",
        'д' | 'Д' => "D",
        'е' | 'Е' | 'ё' | 'Ё' => "E",
        'ж' | 'Ж' => "ZH",
        'з' | 'З' => "Z",
        'и' | 'И' | 'й' | 'Й' => "I",
        'к' | 'К' => "K",
        'л' | 'Л' => "L",
        'м' | 'М' => "M",
        'н' | 'Н' => "H",
        'о' | 'О' => "O",
        'п' | 'П' => "P",
        'р' | 'Р' => "P",
        'с' | 'С' => "C",
        'т' | 'Т' => "T",
        'у' | 'У' => "Y",
        'ф' | 'Ф' => "F",
        'х' | 'Х' => "X",
        'ц' | 'Ц' => "TS",
        'ч' | 'Ч' => "CH",
        'ш' | 'Ш' => "SH",
        'щ' | 'Щ' => "SHT",
        'ъ' | 'Ъ' => "A",
        'ь' | 'Ь' => "Y",
        'ю' | 'Ю' => "YU",
        'я' | 'Я' => "YA",
        c if c.is_ascii_alphabetic() => {
            const UPPER: [&str; 26] = [
                "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P",
                "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
            ];
            UPPER[usize::from(c.to_ascii_uppercase() as u8 - b'A')]
        }
        c if c.is_ascii_digit() => {
            const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
            DIGITS[usize::from(c as u8 - b'0')]
        }
        _ => return None,
    })
}

/// What [`ASCII_FOLD`] gives a stray mark inside a word ("R~UNDING"): nothing, and no break.
const SKIP: u8 = 1;

/// The folded form of each ASCII byte (as [`fold_char`] gives it): 0 for a word break, [`SKIP`]
/// for a mark OCR strews into words (bytes beyond ASCII are never looked up: 256 entries only
/// spare the folds a mask of each byte).
const ASCII_FOLD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0u8;
    while b < 128 {
        t[b as usize] = match b {
            b'l' | b'L' | b'1' | b'|' => b'L',
            b'o' | b'O' | b'0' => b'O',
            b's' | b'S' | b'5' => b'S',
            b'b' | b'B' | b'8' => b'B',
            b'g' | b'G' | b'6' => b'G',
            b'z' | b'Z' | b'2' => b'Z',
            b'a'..=b'z' => b - b'a' + b'A',
            b'A'..=b'Z' | b'0'..=b'9' => b,
            b'~' | b'`' | b'^' => SKIP,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// A line folded to upper-case ASCII words separated by single spaces (see the module doc),
/// borrowed from a buffer that [`fold_into`] filled.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Folded<'a> {
    text: &'a str,
    count: usize,
}

impl<'a> Folded<'a> {
    /// The folded words `text` (as [`fold_into`] wrote them) with their number.
    pub(crate) fn new(text: &'a str, count: usize) -> Folded<'a> {
        Folded { text, count }
    }

    /// The words, left to right.
    pub(crate) fn words(self) -> impl Iterator<Item = &'a str> {
        // `fold` never leaves empty words; `take` keeps "" from yielding one (split as
        // `split(' ')` splits, by a byte loop: words are too short for its `memchr` to pay off)
        let mut rest = Some(self.text);
        std::iter::from_fn(move || {
            let r = rest?;
            match r.bytes().position(|b| b == b' ') {
                Some(i) => {
                    rest = r.get(i + 1..);
                    r.get(..i)
                }
                None => {
                    rest = None;
                    Some(r)
                }
            }
        })
        .take(self.count)
    }

    /// The first word.
    pub(crate) fn first(self) -> Option<&'a str> {
        if self.count == 0 {
            return None;
        }
        Some(self.text.split_once(' ').map_or(self.text, |(w, _)| w))
    }

    /// How many words.
    pub(crate) fn count(self) -> usize {
        self.count
    }

    /// Whether the words contain these words in a row ("SAIES TAX").
    pub(crate) fn has(self, words: &str) -> bool {
        self.text.contains(words)
    }
}

/// A line folded into its own buffer.
#[derive(Debug, Default)]
pub(crate) struct FoldedBuf {
    text: String,
    count: usize,
}

impl FoldedBuf {
    /// The folded words.
    pub(crate) fn get(&self) -> Folded<'_> {
        Folded::new(&self.text, self.count)
    }
}

/// Splits a line into folded words (see the module doc).
pub(crate) fn fold(line: &str) -> FoldedBuf {
    let mut bytes = Vec::with_capacity(line.len());
    let count = fold_spans(line, line.is_ascii(), &mut bytes, &mut Words::default());
    // only ASCII is ever written
    let text = String::from_utf8(bytes).unwrap_or_default();
    FoldedBuf { text, count }
}

/// Appends the folded words of a line to `out` (see the module doc; only ASCII is written)
/// and returns how many words there are and the flags of the keywords among them; `ascii`
/// says whether the line is plain ASCII (the caller's pass over it knows).
// (inlined into the row pass: one call and one frame fewer per row)
#[inline(always)]
pub(crate) fn fold_flags(line: &str, ascii: bool, out: &mut Vec<u8>) -> (usize, Flags) {
    let start = out.len();
    let mut words = Words::default();
    let count = fold_spans(line, ascii, out, &mut words);
    (count, flags_of(&out[start..], words.as_slice()))
}

/// One folded word: where it lies in its line's folded text, and its [`key`] when it has at
/// most [`KEY_SHORT`] letters (the fold packs it as it writes the letters, so the keyword
/// lookup never reads a word twice).
#[derive(Clone, Copy, Default)]
struct Word {
    start: u32,
    end: u32,
    /// `key(word, false)` for a word of up to [`KEY_SHORT`] letters; meaningless beyond.
    short_key: u64,
}

impl Word {
    /// A word of `text` (its folded line) at `start..end`, packed here.
    fn at(text: &[u8], start: usize, end: usize) -> Word {
        let short_key = text[start..end]
            .iter()
            .fold(0u64, |k, &b| (k << 6) | u64::from(CODE[usize::from(b)]));
        Word {
            start: start as u32,
            end: end as u32,
            short_key,
        }
    }

    fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// The word's letters in its folded line.
    fn bytes(self, text: &[u8]) -> &[u8] {
        &text[self.start as usize..self.end as usize]
    }

    /// [`key`] of the word (not reading L as I): the one packed by the fold for a short word,
    /// packed again only for a long one (few words have more than [`KEY_SHORT`] letters).
    fn key(self, text: &[u8]) -> Option<u128> {
        if self.len() <= KEY_SHORT {
            Some(u128::from(self.short_key))
        } else {
            key(self.bytes(text), false)
        }
    }
}

/// The words of a folded line: most rows have a handful, kept on the stack (the rows of more
/// than eight, one in 150 on the dev receipts, move to the heap: a larger array would be
/// cleared for every row).
#[derive(Default)]
struct Words {
    inline: [Word; 8],
    heap: Vec<Word>,
    n: usize,
}

impl Words {
    fn push(&mut self, word: Word) {
        if self.n < self.inline.len() {
            self.inline[self.n] = word;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(word);
        }
        self.n += 1;
    }

    fn as_slice(&self) -> &[Word] {
        if self.n <= self.inline.len() {
            &self.inline[..self.n]
        } else {
            &self.heap
        }
    }
}

/// The longest line [`fold_short`] folds: most receipt rows are far shorter.
const SHORT: usize = 128;

/// [`fold_spans`] for a line of plain ASCII of at most [`SHORT`] bytes: folded into a buffer
/// on the stack, then appended at once (pushing byte by byte onto `out` costs a load and a
/// store of its length and a capacity check per byte). Each word is packed into its key as
/// its letters are written.
fn fold_short(line: &[u8], out: &mut Vec<u8>, words: &mut Words) -> usize {
    let mut buf = [0u8; SHORT];
    // (`n` stays below the line's length, at most SHORT, wherever a byte is written: the mask
    // on it only tells the compiler so)
    let mut n = 0;
    let mut count = 0;
    let mut bytes = line.iter();
    while let Some(&b) = bytes.next() {
        // the breaks and stray marks before a word: skipped (a run of them becomes one space)
        let mut f = ASCII_FOLD[usize::from(b)];
        if f <= SKIP {
            continue;
        }
        if count > 0 {
            buf[n & (SHORT - 1)] = b' ';
            n += 1;
        }
        count += 1;
        // the word: its letters up to the next break, stray marks inside it dropped ("R~UNDING")
        let start = n;
        let mut short_key = 0u64;
        loop {
            // (one test for both rare cases on the path of a letter)
            if f > SKIP {
                buf[n & (SHORT - 1)] = f;
                n += 1;
                short_key = (short_key << 6) | u64::from(code_of_folded(f));
            } else if f == 0 {
                break;
            }
            match bytes.next() {
                Some(&b) => f = ASCII_FOLD[usize::from(b)],
                None => break,
            }
        }
        words.push(Word {
            start: start as u32,
            end: n as u32,
            short_key,
        });
    }
    out.extend_from_slice(&buf[..n.min(SHORT)]);
    count
}

/// Appends the folded words of a line to `out`, records each word in `words` (where it starts
/// and ends, relative to where the line's words start in `out`, and its packed key) and
/// returns how many words; `ascii` is whether the line is plain ASCII.
fn fold_spans(line: &str, ascii: bool, out: &mut Vec<u8>, words: &mut Words) -> usize {
    let base = out.len();
    let mut count = 0;
    let mut gap = true;
    // ASCII folds byte for byte; elsewhere a character may fold to two ("ß")
    if ascii && line.len() <= SHORT {
        let count = fold_short(line.as_bytes(), out, words);
        return count;
    }
    if ascii {
        // a break byte or more becomes one space: the words never outgrow the line
        out.reserve(line.len());
        let mut word_start = 0;
        for &b in line.as_bytes() {
            let f = ASCII_FOLD[usize::from(b)];
            if f == 0 {
                gap = true;
                continue;
            }
            if f == SKIP {
                continue;
            }
            if gap {
                if count > 0 {
                    words.push(Word::at(&out[base..], word_start, out.len() - base));
                    out.push(b' ');
                }
                word_start = out.len() - base;
                count += 1;
                gap = false;
            }
            out.push(f);
        }
        if count > 0 {
            words.push(Word::at(&out[base..], word_start, out.len() - base));
        }
        return count;
    }
    let mut word_start = base;
    for c in line.chars() {
        let Some(f) = fold_char(c) else {
            gap = true;
            continue;
        };
        if f.is_empty() {
            continue;
        }
        if gap {
            if count > 0 {
                words.push(Word::at(&out[base..], word_start - base, out.len() - base));
                out.push(b' ');
            }
            word_start = out.len();
            count += 1;
            gap = false;
        }
        out.extend_from_slice(f.as_bytes());
    }
    if count > 0 {
        words.push(Word::at(&out[base..], word_start - base, out.len() - base));
    }
    count
}

/// The code of each folded byte in a packed word key: A–Z 1–26, 0–9 48–57, 63 for others.
/// A letter's or digit's code is its low six bits ([`code_of_folded`]), so the fold packs
/// words without a table.
const CODE: [u8; 256] = {
    let mut t = [63u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            t[b] = code_of_folded(c);
        }
        b += 1;
    }
    t
};

/// [`CODE`] of a folded byte (an upper-case ASCII letter or a digit).
const fn code_of_folded(b: u8) -> u8 {
    b & 63
}

/// The longest folded word a packed key holds (6 bits a letter); keywords are far shorter.
const KEY_MAX: usize = 21;
/// The longest folded word whose key fits in 64 bits: the fold packs these as it writes them.
const KEY_SHORT: usize = 10;

/// A folded letter with L read as I (as the keys of [`Keywords::long`] read it).
fn l_as_i(b: u8) -> u8 {
    if b == b'L' { b'I' } else { b }
}

/// A folded word packed into an integer (one to one for words of up to [`KEY_MAX`] letters),
/// optionally reading L as I.
fn key(word: &[u8], l_as_i: bool) -> Option<u128> {
    if word.len() > KEY_MAX {
        return None;
    }
    let mut k: u128 = 0;
    for &b in word {
        let b = if l_as_i && b == b'L' { b'I' } else { b };
        k = (k << 6) | u128::from(CODE[usize::from(b)]);
    }
    Some(k)
}

/// A table from packed word keys to values, built once: open addressing with linear probing
/// over a power-of-two array of keys at most half full, holding the index of each value in a
/// dense vector, so a lookup is a multiplication and a compare or two in a few cache lines.
struct KeyTable<V> {
    /// Key 0 marks a free slot (no word packs to 0).
    keys: Vec<u128>,
    /// Where the value of the key in the same slot is.
    at: Vec<u16>,
    values: Vec<V>,
    shift: u32,
}

impl<V: Default> KeyTable<V> {
    fn new(capacity: usize) -> KeyTable<V> {
        let size = (capacity * 2).next_power_of_two().max(16);
        KeyTable {
            keys: vec![0; size],
            at: vec![0; size],
            values: Vec::new(),
            shift: 64 - size.trailing_zeros(),
        }
    }

    fn slot(&self, k: u128) -> usize {
        let x = (k as u64) ^ ((k >> 64) as u64).wrapping_mul(0xff51_afd7_ed55_8ccd);
        (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    fn get(&self, k: u128) -> Option<&V> {
        if k == 0 {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        loop {
            match self.keys[i] {
                key if key == k => return self.values.get(usize::from(self.at[i])),
                0 => return None,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The value of a key, inserted as the default when missing (the table is sized for every
    /// keyword up front, so it never fills).
    fn entry(&mut self, k: u128) -> &mut V {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        while self.keys[i] != k && self.keys[i] != 0 {
            i = (i + 1) & mask;
        }
        if self.keys[i] == 0 {
            self.keys[i] = k;
            self.at[i] = u16::try_from(self.values.len()).unwrap_or(u16::MAX);
            self.values.push(V::default());
        }
        let at = usize::from(self.at[i]).min(self.values.len() - 1);
        &mut self.values[at]
    }
}

/// The keyword phrases that start with one folded word.
#[derive(Default)]
struct Entry {
    /// The flags of the word as a phrase on its own.
    single: Flags,
    /// Longer phrases: the packed keys of the words after the first, and the flags.
    phrases: Vec<(Vec<u128>, Flags)>,
    /// One bit ([`second_bit`]) for the second word of each longer phrase: a keyword followed
    /// by none of them (most are) skips the phrases.
    seconds: u64,
}

/// Which bit of [`Entry::seconds`] stands for a word's key.
fn second_bit(k: u128) -> u64 {
    let x = (k as u64) ^ ((k >> 64) as u64);
    1 << (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// The keyword tables, built once.
struct Keywords {
    /// Entries by the packed key of their first word.
    first: KeyTable<Entry>,
    /// Single keywords of six letters or more, keyed with I and L merged: in a long word the
    /// confusion is safe to forgive ("INCLUSLVE"), in a short one it is not (JLN/JIN, SRL/SRI).
    long: KeyTable<Flags>,
    /// Label keywords of five letters or more, and every form of them with one letter deleted:
    /// a word one edit away from a label (a letter dropped, added or misread: "TOAL",
    /// "PAYAABLE", "ROVNDING") finds it here by its own key or one of its deletions.
    fuzzy: KeyTable<Flags>,
    /// For a word length, the letters that begin (first three letters) a fuzzy keyword of
    /// that length or one more or less.
    fuzzy_lead: [u32; 32],
    /// For a word length and a letter (A–Z, and 26 for anything else), the letter sets
    /// ([`letter_mask`]) of the fuzzy keywords of that length or one more or less with that
    /// letter among their first three: a word one edit from a keyword starts with one of
    /// those letters and lacks at most one of the keyword's letters, and most words lack more
    /// of every such keyword's letters, so they skip the lookups of their deletions.
    fuzzy_masks: Vec<Vec<u32>>,
    /// One bit for each key of a first word of up to [`KEY_SHORT`] letters ([`filter_bit`]):
    /// most words that start no keyword are ruled out by one multiplication and one bit,
    /// from the key the fold packed, before the lookup in `first` (words on a receipt are
    /// mostly names, numbers and addresses).
    first_filter: [u64; FILTER_WORDS],
    /// Which (length, first letter) pairs start a keyword: words that cannot be one skip the
    /// lookup.
    first_letters: [u32; 32],
    /// The same for (length, second letter) and (length, last letter).
    second_letters: [u32; 32],
    last_letters: [u32; 32],
    /// The same for the words of `long` (first and last letter, L read as I).
    long_first: [u32; 32],
    long_last: [u32; 32],
}

/// How many 64-bit words [`Keywords::first_filter`] has: 8192 bits for some 500 first words,
/// so one word in sixteen or so that starts no keyword passes it.
const FILTER_WORDS: usize = 128;

/// Which bit of [`Keywords::first_filter`] stands for a short key: the word and the bit in it.
fn filter_bit(short_key: u64) -> (usize, u64) {
    let h = short_key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - 13);
    ((h >> 6) as usize % FILTER_WORDS, 1 << (h & 63))
}

impl Keywords {
    /// Whether a word of up to [`KEY_SHORT`] letters, by its key, may start a keyword (no
    /// word that does is ruled out).
    fn may_start(&self, short_key: u64) -> bool {
        let (i, bit) = filter_bit(short_key);
        self.first_filter[i] & bit != 0
    }

    /// Whether a word's length and first, second and last letters fit some keyword's first
    /// word (a quick test before the lookup).
    fn may_be_keyword(&self, w: &[u8]) -> bool {
        let n = w.len();
        n > 0
            && n < self.first_letters.len()
            && self.first_letters[n] & letter_bit(w[0]) != 0
            && self.last_letters[n] & letter_bit(w[n - 1]) != 0
            && (n < 2 || self.second_letters[n] & letter_bit(w[1]) != 0)
    }
}

static TABLE: LazyLock<Keywords> = LazyLock::new(|| {
    let mut t = Keywords {
        first: KeyTable::new(KEYWORDS.len()),
        long: KeyTable::new(KEYWORDS.len()),
        fuzzy: KeyTable::new(KEYWORDS.len() * 12),
        fuzzy_lead: [0; 32],
        fuzzy_masks: vec![Vec::new(); 32 * 27],
        first_filter: [0; FILTER_WORDS],
        first_letters: [0; 32],
        second_letters: [0; 32],
        last_letters: [0; 32],
        long_first: [0; 32],
        long_last: [0; 32],
    };
    for &(phrase, flags) in KEYWORDS {
        let fuzzy = if flags & EXACT != 0 { 0 } else { FUZZY };
        let flags = flags & !EXACT;
        let folded = fold(phrase);
        let words: Vec<String> = folded.get().words().map(str::to_string).collect();
        let Some(first) = words.first() else { continue };
        let Some(k) = key(first.as_bytes(), false) else {
            continue;
        };
        let b = first.as_bytes();
        if b.len() <= KEY_SHORT
            && let Ok(short_key) = u64::try_from(k)
        {
            let (i, bit) = filter_bit(short_key);
            t.first_filter[i] |= bit;
        }
        if let Some(slot) = t.first_letters.get_mut(b.len()) {
            *slot |= letter_bit(b[0]);
        }
        if let Some(slot) = t.last_letters.get_mut(b.len()) {
            *slot |= letter_bit(b[b.len() - 1]);
        }
        if let (Some(slot), Some(&second)) = (t.second_letters.get_mut(b.len()), b.get(1)) {
            *slot |= letter_bit(second);
        }
        let entry = t.first.entry(k);
        if words.len() == 1 {
            entry.single |= flags;
            // "INCL" read "1NCL", "ITEM" read "1TEM" are no other words: forgiven at any length
            if (first.len() >= 6 || flags & (INCL | EXCL | COUNT) != 0)
                && let Some(merged) = key(first.as_bytes(), true)
            {
                *t.long.entry(merged) |= flags;
                let b = first.as_bytes();
                if let Some(slot) = t.long_first.get_mut(b.len()) {
                    *slot |= letter_bit(l_as_i(b[0]));
                }
                if let Some(slot) = t.long_last.get_mut(b.len()) {
                    *slot |= letter_bit(l_as_i(b[b.len() - 1]));
                }
            }
            // four-letter labels only through an added letter ("CAASH", "NETTT"): their
            // one-letter-less forms are too common
            if first.len() == FUZZY_MIN - 1 && flags & fuzzy != 0 {
                if let Some(k) = key(first.as_bytes(), false) {
                    *t.fuzzy.entry(k) |= flags & FUZZY;
                }
                t.fuzzy_lead[FUZZY_MIN] |= first.bytes().take(2).fold(0, |m, x| m | letter_bit(x));
                // (the word itself, or it with a letter added)
                for len in FUZZY_MIN - 1..=FUZZY_MIN {
                    for &x in first.as_bytes().iter().take(2) {
                        t.fuzzy_masks[mask_bucket(len, x)].push(letter_mask(first.as_bytes()));
                    }
                }
            }
            if first.len() >= FUZZY_MIN && flags & fuzzy != 0 {
                let b = first.as_bytes();
                let lead = b.iter().take(3).fold(0, |m, &x| m | letter_bit(x));
                for len in b.len() - 1..=(b.len() + 1).min(31) {
                    t.fuzzy_lead[len] |= lead;
                    for &x in b.iter().take(3) {
                        let bucket = &mut t.fuzzy_masks[mask_bucket(len, x)];
                        if !bucket.contains(&letter_mask(b)) {
                            bucket.push(letter_mask(b));
                        }
                    }
                }
                for skip in (0..b.len()).map(Some).chain([None]) {
                    if let Some(k) = key_without(b, skip) {
                        *t.fuzzy.entry(k) |= flags & FUZZY;
                    }
                }
            }
        } else {
            let rest: Option<Vec<u128>> = words[1..]
                .iter()
                .map(|w| key(w.as_bytes(), false))
                .collect();
            if let Some(rest) = rest {
                entry.seconds |= rest.first().map_or(0, |&k| second_bit(k));
                entry.phrases.push((rest, flags));
            }
        }
    }
    t
});

/// The flags a misread word may stand for: the labels of the payment block.
const FUZZY: Flags =
    TOTAL | SUB | ROUND | ROUNDED | CHANGE | STRONG | BALANCE | TIP | DISCOUNT | INCL | EXCL | CASH;
/// The shortest keyword read through a misread letter (shorter ones have too many neighbours).
const FUZZY_MIN: usize = 5;
/// Rows with more words than this are not labels: no fuzzy lookup.
const FUZZY_MAX_WORDS: usize = 9;

/// [`key`] of a word with one letter left out (`None`: none left out).
fn key_without(word: &[u8], skip: Option<usize>) -> Option<u128> {
    if word.len() > KEY_MAX + 1 {
        return None;
    }
    let mut k: u128 = 0;
    for (i, &b) in word.iter().enumerate() {
        if Some(i) != skip {
            k = (k << 6) | u128::from(CODE[usize::from(b)]);
        }
    }
    (k != 0).then_some(k)
}

/// The label a word one edit away from stands for ("TOAL", "T0TAAL", "CHANCE"), if any.
fn fuzzy_flags(table: &Keywords, w: &[u8]) -> Flags {
    if !(FUZZY_MIN - 1..=FUZZY_MIN + 10).contains(&w.len())
        || w.iter().any(|b| !b.is_ascii_uppercase())
    {
        return 0;
    }
    // a word one edit from a keyword starts with one of the keyword's first three letters
    let lead = table.fuzzy_lead[w.len().min(31)];
    if lead & (letter_bit(w[0]) | letter_bit(w[1])) == 0 {
        return 0;
    }
    // a keyword one edit away lacks at most one of its letters in the word (the one dropped
    // or misread)
    let have = letter_mask(w);
    let near = |x: u8| {
        table.fuzzy_masks[mask_bucket(w.len(), x)].iter().any(|&m| {
            let lacks = m & !have;
            lacks & lacks.wrapping_sub(1) == 0
        })
    };
    if !near(w[0]) && !near(w[1]) {
        return 0;
    }
    fuzzy_lookups(table, w)
}

/// The fuzzy flags of a word of upper-case letters ([`fuzzy_flags`] without its quick tests):
/// the lookups of its key and of its keys with one letter left out.
fn fuzzy_lookups(table: &Keywords, w: &[u8]) -> Flags {
    // every key with one letter left out, from the keys of the word's heads and tails: the
    // head before `skip` (the whole word's key shifted right) shifted over the tail after it
    // (6 bits a letter)
    let n = w.len();
    let get = |k: u128| table.fuzzy.get(k).copied().unwrap_or(0);
    let code = |skip: usize| CODE[usize::from(w[skip])];
    let mut out = 0;
    if n <= KEY_SHORT {
        // (in 64 bits, which hold a word of up to ten letters, as most labels are: a shift of
        // a 128-bit key by a varying count costs a handful of instructions)
        let whole = w
            .iter()
            .fold(0u64, |k, &b| (k << 6) | u64::from(CODE[usize::from(b)]));
        out |= get(u128::from(whole));
        let (mut head, mut tail) = (whole, 0u64);
        for skip in (0..n).rev() {
            head >>= 6;
            let shift = 6 * (n - 1 - skip);
            out |= get(u128::from((head << shift) | tail));
            tail |= u64::from(code(skip)) << shift;
        }
        return out;
    }
    let Some(whole) = key(w, false) else {
        return 0;
    };
    out |= get(whole);
    let (mut head, mut tail) = (whole, 0u128);
    for skip in (0..n).rev() {
        head >>= 6;
        let shift = 6 * (n - 1 - skip);
        out |= get((head << shift) | tail);
        tail |= u128::from(code(skip)) << shift;
    }
    out
}

/// Where the letter sets of [`Keywords::fuzzy_masks`] for a word length and a letter are.
fn mask_bucket(len: usize, x: u8) -> usize {
    len.min(31) * 27 + letter_bit(x).trailing_zeros() as usize
}

/// The set of a word's letters, one [`letter_bit`] each (anything else bit 26).
fn letter_mask(w: &[u8]) -> u32 {
    w.iter().fold(0, |m, &b| m | letter_bit(b))
}

fn letter_bit(b: u8) -> u32 {
    LETTER_BITS[usize::from(b)]
}

/// [`letter_bit`] of each byte: A–Z their own bit, anything else bit 26.
const LETTER_BITS: [u32; 256] = {
    let mut t = [1u32 << 26; 256];
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = 1 << (b - b'A');
        b += 1;
    }
    t
};

/// The flags of every keyword phrase found in the folded words of a line.
pub(crate) fn flags(folded: Folded<'_>) -> Flags {
    let text = folded.text.as_bytes();
    let mut words = Words::default();
    let mut start = 0;
    for (i, &c) in text.iter().enumerate() {
        if c == b' ' {
            words.push(Word::at(text, start, i));
            start = i + 1;
        }
    }
    if !text.is_empty() {
        words.push(Word::at(text, start, text.len()));
    }
    flags_of(text, words.as_slice())
}

/// The flags of every keyword phrase found in folded words: `text` and its words (with the
/// keys the fold packed).
fn flags_of(text: &[u8], words: &[Word]) -> Flags {
    let table = &*TABLE;
    let mut out = 0;
    let mut rest = words;
    while let Some((&word, after)) = rest.split_first() {
        rest = after;
        let len = word.len();
        // most words on a receipt are names, numbers and addresses and skip the lookup: a
        // short word by its key, a long one by its length and letters
        let found = if len <= KEY_SHORT {
            if table.may_start(word.short_key) {
                table.first.get(u128::from(word.short_key))
            } else {
                None
            }
        } else if table.may_be_keyword(word.bytes(text)) {
            word.key(text).and_then(|k| table.first.get(k))
        } else {
            None
        };
        if let Some(e) = found {
            let mut mine = e.single;
            // its phrases, when the next word may be the second word of one
            let may_go_on = e.seconds != 0
                && after
                    .first()
                    .and_then(|next| next.key(text))
                    .is_some_and(|k| e.seconds & second_bit(k) != 0);
            if may_go_on {
                for (rest, f) in &e.phrases {
                    if after.len() >= rest.len()
                        && rest
                            .iter()
                            .zip(after)
                            .all(|(k, next)| next.key(text) == Some(*k))
                    {
                        mine = if f & REPLACES != 0 {
                            (mine & !e.single) | (f & !REPLACES)
                        } else {
                            mine | f
                        };
                    }
                }
            }
            out |= mine;
            continue;
        }
        let w = word.bytes(text);
        // (short words only where a tax marker or a count may hide: INCL, EXCL, ITEM)
        if (len >= 6 || (len >= 3 && matches!(w[0], b'I' | b'L' | b'E')))
            && len < table.long_first.len()
            && table.long_first[len] & letter_bit(l_as_i(w[0])) != 0
            && table.long_last[len] & letter_bit(l_as_i(w[len - 1])) != 0
            && w.contains(&b'L')
            && let Some(f) = key(w, true).and_then(|k| table.long.get(k))
        {
            out |= f;
        }
        // a label glued to its currency: "CASHRM", "TOTALRM"
        if len > 3
            && w.ends_with(b"RM")
            && let Some(e) = key(&w[..len - 2], false).and_then(|k| table.first.get(k))
        {
            out |= e.single;
        }
        // glued words that OCR or printers produce: "SUBTOTAL", "TOTALRM", "GRANDTOTAL"
        if len > 5 {
            if w.starts_with(b"SUBTOTAL") {
                out |= SUB;
            } else if w.starts_with(b"TOTAL") || w.ends_with(b"TOTAL") {
                out |= TOTAL;
            }
        }
    }
    out
}

/// The label flags a row's words may carry through an OCR misreading, beyond the flags `have`
/// that [`fold_flags`] found: a label one letter off ("TOAL", "ROVNDING", "PAYAABLE"), one a
/// stray mark broke in two ("TOT,L"), and a total's misread "incl", "excl" or "payable"
/// ("TOTAL SALES (INCLUSIVF OF GST)"). Costlier than exact matching: the caller asks only for
/// rows that may label an amount.
pub(crate) fn misread(folded: Folded<'_>, have: Flags) -> Flags {
    let want = if have & FUZZY & !(INCL | EXCL) == 0 {
        FUZZY
    } else if have & (TOTAL | SUB) != 0 {
        (INCL | EXCL | STRONG | ROUNDED) & !have
    } else {
        0
    };
    if want == 0 || folded.count() > FUZZY_MAX_WORDS {
        return 0;
    }
    let table = &*TABLE;
    let mut words: [&[u8]; FUZZY_MAX_WORDS] = [&[]; FUZZY_MAX_WORDS];
    let mut n = 0;
    for (slot, w) in words.iter_mut().zip(folded.words()) {
        *slot = w.as_bytes();
        n += 1;
    }
    let words = &words[..n];
    let mut out = 0;
    for (i, &w) in words.iter().enumerate() {
        let known =
            table.may_be_keyword(w) && key(w, false).is_some_and(|k| table.first.get(k).is_some());
        if !known {
            out |= fuzzy_flags(table, w) & want;
            // keywords printed without spaces: "TOTALAMTINCL", "AMTPAYABLE" (not "TAXINVOICE")
            let g = glued(table, w, 2);
            if g & (BANNER | ADDRESS) == 0 {
                out |= g;
            }
        }
        // a word a stray mark broke in two: "TOT,L", "PAY ABLE"
        if let Some(&next) = words.get(i + 1)
            && (w.len() <= 5 || next.len() <= 5)
            && (FUZZY_MIN - 1..=12).contains(&(w.len() + next.len()))
        {
            let mut joined = [0u8; 12];
            joined[..w.len()].copy_from_slice(w);
            joined[w.len()..w.len() + next.len()].copy_from_slice(next);
            let joined = &joined[..w.len() + next.len()];
            let exact = key(joined, false)
                .and_then(|k| table.first.get(k))
                .map_or(0, |e| e.single);
            out |= (exact | fuzzy_flags(table, joined)) & want;
        }
    }
    // a short piece broken off the front of a word ("NET A MT", "SUB T OTAL"): the row read
    // again with each piece of one or two letters that is no keyword joined to the word after it
    // (a piece that starts a phrase, such as "A" of "A PAYER", is still joined: the row's own
    // reading keeps the phrase)
    let known = |w: &[u8]| {
        key(w, false)
            .and_then(|k| table.first.get(k))
            .is_some_and(|e| e.single != 0)
    };
    if words[..n.saturating_sub(1)]
        .iter()
        .any(|w| w.len() <= 2 && !known(w))
    {
        let mut text = String::with_capacity(folded.text.len());
        let mut count = 0;
        let mut glued_last = false;
        for (i, w) in words.iter().enumerate() {
            // (a piece joins one word of letters, once: "NET AMT 53", not "NET AMT53")
            let glue = i > 0
                && !glued_last
                && words[i - 1].len() <= 2
                && !known(words[i - 1])
                && w.iter().all(u8::is_ascii_uppercase);
            glued_last = glue;
            if i > 0 && !glue {
                text.push(' ');
            }
            if !glue {
                count += 1;
            }
            // folded words are ASCII
            text.extend(w.iter().map(|&b| char::from(b)));
        }
        out |= flags(Folded::new(&text, count)) & want;
    }
    out
}

/// The flags of a word that is keywords glued together (up to `depth` + 1 of them, each of two
/// letters or more), 0 when it is not.
fn glued(table: &Keywords, w: &[u8], depth: u32) -> Flags {
    if w.len() < 5 || w.len() > KEY_MAX {
        return 0;
    }
    let single = |part: &[u8]| {
        // most cuts cannot be a keyword by their first and last letters: no lookup
        if !table.may_be_keyword(part) {
            return 0;
        }
        key(part, false)
            .and_then(|k| table.first.get(k))
            .map_or(0, |e| e.single)
    };
    for cut in 3..=w.len() - 2 {
        let head = single(&w[..cut]);
        if head == 0 {
            continue;
        }
        let tail = single(&w[cut..]);
        if tail != 0 {
            return head | tail;
        }
        if depth > 0 {
            let rest = glued(table, &w[cut..], depth - 1);
            if rest != 0 {
                return head | rest;
            }
        }
    }
    0
}

/// The company flags of words that end in a company word of five letters or more, glued on
/// by OCR ("ABCHOTRADING", "UROKOJAPANESECUISINESDNBHD").
pub(crate) fn company_suffix(folded: Folded<'_>) -> Flags {
    let table = &*TABLE;
    let mut out = 0;
    for w in folded.words().map(str::as_bytes).filter(|w| w.len() >= 8) {
        for start in 1..=w.len() - 5 {
            let tail = &w[start..];
            if !table.may_be_keyword(tail) {
                continue;
            }
            let f = key(tail, false)
                .and_then(|k| table.first.get(k))
                .map_or(0, |e| e.single);
            if f & COMPANY != 0 {
                out |= f & (COMPANY | LEGAL);
                break;
            }
        }
    }
    out
}

/// The flags of one folded word on its own.
pub(crate) fn word_flags(word: &str) -> Flags {
    key(word.as_bytes(), false)
        .and_then(|k| TABLE.first.get(k))
        .map_or(0, |e| e.single)
}

#[cfg(test)]
mod tests {
    /// The letter sets of [`fuzzy_flags`] rule out no word that its lookups would find: every
    /// word a letter away from a fuzzy keyword by the keys (one letter left out of each and
    /// any letter put anywhere; the keyword with a letter added or left out).
    #[test]
    fn the_fuzzy_filters_keep_every_word_the_lookups_find() {
        let table = &*TABLE;
        let mut found = 0;
        for &(phrase, flags) in KEYWORDS {
            let folded = fold(phrase);
            let Some(first) = folded.get().first() else {
                continue;
            };
            let k = first.as_bytes();
            if flags & FUZZY == 0 || !(FUZZY_MIN - 1..=FUZZY_MIN + 10).contains(&k.len()) {
                continue;
            }
            let mut words = vec![k.to_vec()];
            for i in 0..=k.len() {
                let less: Vec<u8> = k
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &b)| b)
                    .collect();
                for j in 0..=less.len() {
                    for c in b'A'..=b'Z' {
                        let mut w = less.clone();
                        w.insert(j, c);
                        words.push(w);
                    }
                }
                words.push(less);
            }
            for w in words
                .iter()
                .filter(|w| w.len() >= FUZZY_MIN - 1 && w.len() <= FUZZY_MIN + 10)
            {
                // (the lead letters' test came first, and stays)
                let lead = table.fuzzy_lead[w.len()] & (letter_bit(w[0]) | letter_bit(w[1]));
                let looked = if lead != 0 {
                    fuzzy_lookups(table, w)
                } else {
                    0
                };
                found += usize::from(looked != 0);
                assert_eq!(
                    fuzzy_flags(table, w),
                    looked,
                    "{:?}",
                    String::from_utf8_lossy(w)
                );
            }
        }
        assert!(found > 1000, "{found}");
    }

    use super::*;

    #[test]
    fn words_split_like_str_split() {
        for (text, count) in [
            ("", 0),
            ("", 1),
            ("TOTAL", 1),
            ("TOTAL", 3),
            ("TOTAL RM", 1),
            ("TOTAL RM", 2),
            ("GRAND TOTAL RM SO", 4),
            ("A B", 5),
            (" A  B ", 6),
        ] {
            let ours: Vec<&str> = Folded::new(text, count).words().collect();
            let split: Vec<&str> = text.split(' ').take(count).collect();
            assert_eq!(ours, split, "{text:?} {count}");
        }
        let f = fold("Grand  Total: RM 9.00");
        assert_eq!(
            f.get().words().collect::<Vec<_>>(),
            ["GRAND", "TOTAL", "RM", "9", "OO"]
        );
    }

    fn of(line: &str) -> Flags {
        let folded = fold(line);
        let exact = flags(folded.get());
        exact | misread(folded.get(), exact)
    }

    #[test]
    fn reads_totals_through_ocr_confusions() {
        for line in ["TOTAL", "Tota1", "T0TAL", "ToTaL:", "TOTA|"] {
            assert_ne!(of(line) & TOTAL, 0, "{line}");
        }
    }

    #[test]
    fn reads_labels_one_letter_off() {
        for (line, flag) in [
            ("TOAL", TOTAL),
            ("TOTAAL:", TOTAL),
            ("T0TAK 12.00", TOTAL),
            ("ROVNDING ADJ", ROUND),
            ("AMOUNT PAYAABLE", STRONG),
            ("CHANCE", CHANGE),
        ] {
            assert_ne!(of(line) & flag, 0, "{line}");
        }
        // short words and long rows are left alone
        assert_eq!(of("CASE") & FUZZY, 0);
        assert_eq!(of("MOUNT AUSTIN"), 0);
        assert_eq!(of("HOTEL") & TOTAL, 0);
        assert_eq!(of("SERV CHARGE 10%") & CHANGE, 0);
        assert_ne!(of("TOT,L :") & TOTAL, 0);
        assert_eq!(of("Net A mt : 53.55") & (TOTAL | STRONG), TOTAL | STRONG);
        assert_ne!(of("R~UNDING RM") & ROUND, 0);
        assert_ne!(of("TOTAL PAYABE:") & STRONG, 0);
        assert_ne!(of("1TEM(S) : 2") & COUNT, 0);
        assert_ne!(of("CASHRM 52.00") & CASH, 0);
        assert_ne!(of("YOUR CHH~N6E") & CHANGE, 0);
        assert_ne!(of("CAASH RM 50.00") & CASH, 0);
        assert_ne!(of("TOTAL SAALES (I-CLUSIVE OF GST)") & INCL, 0);
        assert_eq!(of("CASE 12") & CASH, 0);
        assert_ne!(of("TotalAmtIncl.GST@6%: 156.00") & INCL, 0);
        assert_ne!(of("Total AmtPayable: 156.00") & STRONG, 0);
        let glued = fold("UROKOJAPANESECUISINESDNBHD");
        assert_eq!(company_suffix(glued.get()), COMPANY | LEGAL);
        let glued = fold("ABCHOTRADING");
        assert_eq!(company_suffix(glued.get()), COMPANY);
        assert_ne!(of("lotal Sales(inclusive GsT） RM 11.50") & TOTAL, 0);
        assert_eq!(
            of("ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TOAL") & TOTAL,
            0
        );
    }

    #[test]
    fn reads_long_labels_one_letter_off() {
        // more than ten letters: the keys with a letter left out take 128 bits
        for word in [
            "ZWISCHENSUMMME",
            "ZWISCHENSUMNE",
            "ZWISCHENSUMME",
            "ZWISCHENSUME",
        ] {
            assert_eq!(fuzzy_flags(&TABLE, word.as_bytes()) & SUB, SUB, "{word}");
        }
        assert_eq!(fuzzy_flags(&TABLE, b"ZWISCHENSTUFE") & SUB, 0);
    }

    #[test]
    fn reads_every_keyword_phrase() {
        for &(phrase, f) in KEYWORDS {
            let want = f & !(REPLACES | EXACT);
            assert_eq!(flags(fold(phrase).get()) & want, want, "{phrase}");
        }
        assert_eq!(of("IMPORTE ENTREGADO 20,00") & (CASH | TOTAL), CASH);
        assert_eq!(of("Net a payer 9,00") & (TOTAL | STRONG), TOTAL | STRONG);
        assert_eq!(of("TOTAL 9.00 DUE") & STRONG, STRONG);
        assert_eq!(of("TOTAL 9.00") & STRONG, 0);
        // a phrase past the words kept on the stack
        assert_eq!(of("1 2 3 4 5 6 7 8 9 GRAND TOTAL") & STRONG, STRONG);
    }

    #[test]
    fn tells_subtotal_tax_and_change_apart() {
        assert_ne!(of("SUB-TOTAL") & SUB, 0);
        assert_ne!(of("Zwischensumme") & SUB, 0);
        assert_ne!(of("MwSt 19%") & TAX, 0);
        assert_ne!(of("TVA 20,0%") & TAX, 0);
        assert_ne!(of("Rückgeld") & CHANGE, 0);
        assert_ne!(of("Total TTC") & INCL, 0);
        assert_ne!(of("zu zahlen") & STRONG, 0);
        assert_eq!(of("TOTAL QTY: 3") & COUNT, COUNT);
        assert_eq!(of("Subtotal") & TOTAL, 0);
        assert_ne!(of("TOTAL (INCLUSLVE OF GST)") & INCL, 0);
        assert_ne!(of("TOTAL 1NCL. GST@6%") & INCL, 0);
        assert_ne!(of("TOTAL SALES (INCLUSIVF OF GST)") & INCL, 0);
        assert_eq!(of("JLN SRI") & (INCL | EXCL), 0);
    }

    #[test]
    fn the_ascii_table_folds_like_fold_char() {
        for b in 0u8..128 {
            let expected = fold_char(char::from(b)).map_or(0, |f| f.bytes().next().unwrap_or(SKIP));
            assert_eq!(ASCII_FOLD[usize::from(b)], expected, "byte {b}");
        }
    }

    #[test]
    fn the_fold_packs_each_word_as_key_does() {
        let long = "Tota1 RM ".repeat(20);
        for line in [
            "",
            "~ ^ `",
            "Grand  Total: RM 9.00",
            "R~UNDING ADJ ~ 5",
            "ZWISCHENSUMME total12345678901",
            "Straße 5,00 ÖDENECEK",
            "SUB TOTAL 1 2 3 4 5 6 7 8 GRAND TOTAL",
            long.as_str(),
        ] {
            let mut out = Vec::new();
            let mut words = Words::default();
            let count = fold_spans(line, line.is_ascii(), &mut out, &mut words);
            let words = words.as_slice();
            let split: Vec<&[u8]> = out
                .split(|&b| b == b' ')
                .filter(|w| !w.is_empty())
                .collect();
            let ours: Vec<&[u8]> = words.iter().map(|w| w.bytes(&out)).collect();
            assert_eq!(ours, split, "{line:?}");
            assert_eq!(count, words.len(), "{line:?}");
            for w in words {
                assert_eq!(w.key(&out), key(w.bytes(&out), false), "{line:?}");
            }
        }
        for b in (b'A'..=b'Z').chain(b'0'..=b'9') {
            assert_eq!(code_of_folded(b), CODE[usize::from(b)]);
        }
    }

    #[test]
    fn the_first_word_filter_keeps_every_keyword() {
        for &(phrase, _) in KEYWORDS {
            let folded = fold(phrase);
            let Some(first) = folded.get().first() else {
                continue;
            };
            let Some(k) = key(first.as_bytes(), false) else {
                continue;
            };
            if first.len() <= KEY_SHORT {
                assert!(TABLE.may_start(k as u64), "{phrase}");
            }
            assert!(TABLE.first.get(k).is_some(), "{phrase}");
        }
    }

    #[test]
    fn packed_keys_tell_words_apart() {
        assert_ne!(key(b"TOTAL", false), key(b"TOTALS", false));
        assert_ne!(key(b"AB", false), key(b"B", false));
        assert_eq!(key(b"INCLUSLVE", true), key(b"INCIUSIVE", true));
        assert_eq!(key(&[b'A'; KEY_MAX + 1], false), None);
        assert_eq!(word_flags("SDN") & LEGAL, LEGAL);
        assert_eq!(word_flags("ZZZ"), 0);
    }

    #[test]
    fn folds_accents_and_digits() {
        assert_eq!(fold("Espèces 5,00").text, "ESPECES S OO");
        assert_eq!(fold("Straße").text, "STRASSE");
        assert_eq!(fold("  T0TAL:  RM9.00 ").text, "TOTAL RM9 OO");
        assert_eq!(
            fold("JLN SRI").text,
            "JLN SRI",
            "Malay street words stay apart from SRL"
        );
    }
}
