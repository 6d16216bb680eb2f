//! Receipts of other locales (fixtures/receipts/*.txt), each with the values it must yield.

use receipt_parse::{Amount, Currency, PaymentMethod, Receipt, parse};
use std::path::PathBuf;

fn fixture(name: &str) -> Receipt {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/receipts")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    parse(&text)
}

fn amt(s: &str) -> Option<Amount> {
    Some(s.parse().expect("a decimal in the test"))
}

#[test]
fn german_receipt_with_summe_comma_decimals_and_rueckgeld() {
    let r = fixture("de.txt");
    assert_eq!(r.merchant.as_deref(), Some("Bäckerei Sonnenschein GmbH"));
    assert_eq!(r.date.as_deref(), Some("2019-12-24"));
    assert_eq!(r.time.as_deref(), Some("08:42"));
    assert_eq!(r.currency, Some(Currency::Eur));
    assert_eq!(r.subtotal, amt("6.70"));
    assert_eq!(r.tax, amt("0.44"));
    assert_eq!(r.total, amt("6.70"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Cash));
    assert_eq!(r.payment.tendered, amt("10.00"));
    assert_eq!(r.payment.change, amt("3.30"));
    let rolls = &r.items[0];
    assert_eq!(rolls.description, "Brötchen");
    assert_eq!(rolls.quantity, amt("2"));
    assert_eq!(rolls.unit_price, amt("0.80"));
    assert_eq!(rolls.amount, "1.60".parse().unwrap());
    assert_eq!(r.items.len(), 3);
    assert!(
        r.confidence.total >= 80,
        "tendered − change confirms the total"
    );
}

#[test]
fn uk_receipt_with_pounds_balance_due_and_card() {
    let r = fixture("uk.txt");
    assert_eq!(r.merchant.as_deref(), Some("THE RED LION PUB LTD"));
    assert_eq!(
        r.date.as_deref(),
        Some("2021-11-03"),
        "day first outside the US"
    );
    assert_eq!(r.currency, Some(Currency::Gbp));
    assert_eq!(r.subtotal, amt("26.85"));
    assert_eq!(r.tax, amt("4.48"));
    assert_eq!(r.total, amt("26.85"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Card));
    assert_eq!(r.items.len(), 3);
    assert_eq!(r.items[1].quantity, amt("2"));
    assert_eq!(r.items[1].unit_price, amt("4.20"));
}

#[test]
fn french_receipt_with_total_ttc_tva_and_rendu() {
    let r = fixture("fr.txt");
    assert_eq!(r.merchant.as_deref(), Some("BOULANGERIE DU MARCHE SARL"));
    assert_eq!(r.date.as_deref(), Some("2022-06-15"));
    assert_eq!(r.time.as_deref(), Some("12:31"));
    assert_eq!(r.currency, Some(Currency::Eur));
    assert_eq!(r.subtotal, amt("7.49"), "total HT is the amount before tax");
    assert_eq!(r.tax, amt("0.41"));
    assert_eq!(r.total, amt("8.20"));
    assert_eq!(r.payment.tendered, amt("10.00"));
    assert_eq!(r.payment.change, amt("1.80"));
    assert!(
        r.confidence.total >= 90,
        "subtotal + tax and tendered − change both agree"
    );
}

#[test]
fn us_receipt_with_sales_tax_tip_and_month_first_date() {
    let r = fixture("us.txt");
    assert_eq!(r.merchant.as_deref(), Some("JOE'S DINER INC"));
    assert_eq!(
        r.date.as_deref(),
        Some("2023-07-04"),
        "month first on a US receipt"
    );
    assert_eq!(r.time.as_deref(), Some("18:45"));
    assert_eq!(r.currency, Some(Currency::Usd));
    assert_eq!(r.subtotal, amt("17.98"));
    assert_eq!(r.tax, amt("1.48"));
    assert_eq!(r.tip, amt("3.60"));
    assert_eq!(r.total, amt("23.06"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Card));
    let descriptions: Vec<&str> = r.items.iter().map(|i| i.description.as_str()).collect();
    assert_eq!(descriptions, ["Cheeseburger", "Fries", "Iced Tea"]);
}

#[test]
fn spanish_receipt_with_iva_total_a_pagar_and_cambio() {
    let r = fixture("es.txt");
    assert_eq!(r.merchant.as_deref(), Some("CAFETERÍA LA PLAZA S.L."));
    assert_eq!(r.date.as_deref(), Some("2023-03-02"));
    assert_eq!(r.subtotal, amt("3.91"));
    assert_eq!(r.tax, amt("0.39"));
    assert_eq!(r.total, amt("4.30"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Cash));
    assert_eq!(r.payment.change, amt("0.70"));
}

#[test]
fn italian_receipt_with_totale_di_cui_iva_and_resto() {
    let r = fixture("it.txt");
    assert_eq!(r.merchant.as_deref(), Some("BAR PASTICCERIA ROMA SRL"));
    assert_eq!(r.date.as_deref(), Some("2022-09-15"));
    assert_eq!(r.currency, Some(Currency::Eur));
    assert_eq!(
        r.tax,
        amt("0.70"),
        "'di cui IVA' is tax inside the total, not a total"
    );
    assert_eq!(r.total, amt("7.70"));
    assert_eq!(r.payment.tendered, amt("10.00"));
    assert_eq!(r.payment.change, amt("2.30"));
    assert_eq!(r.items.len(), 3);
}

#[test]
fn dutch_receipt_with_totaal_btw_and_pin() {
    let r = fixture("nl.txt");
    assert_eq!(r.merchant.as_deref(), Some("Bakkerij De Molen B.V."));
    assert_eq!(r.date.as_deref(), Some("2024-01-11"));
    assert_eq!(r.currency, Some(Currency::Eur));
    assert_eq!(r.subtotal, amt("6.20"));
    assert_eq!(r.tax, amt("0.51"));
    assert_eq!(r.total, amt("6.20"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Card));
}

#[test]
fn ocr_noisy_receipt_reads_through_confusions_and_takes_the_rounded_total() {
    let r = fixture("ocr-noisy.txt");
    assert_eq!(
        r.merchant.as_deref(),
        Some("KEDAI RUNCIT MAJU JAYA SDN BHD")
    );
    assert_eq!(r.date.as_deref(), Some("2019-08-05"));
    assert_eq!(r.currency, Some(Currency::Myr));
    assert_eq!(r.subtotal, amt("23.50"));
    assert_eq!(r.tax, amt("1.41"));
    assert_eq!(r.rounding, amt("-0.01"));
    assert_eq!(r.total, amt("24.90"), "after rounding, not Tota1 24.9l");
    assert_eq!(r.payment.tendered, amt("50.00"));
    assert_eq!(r.payment.change, amt("25.10"));
}

#[test]
fn several_total_like_lines_pick_the_one_before_cash_and_change() {
    let r = parse(
        "SHOP\nSUBTOTAL 10.00\nTAX 0.60\nTOTAL 10.60\nCASH 20.00\nCHANGE 9.40\n\
         GST SUMMARY\nTOTAL 10.00 0.60",
    );
    assert_eq!(r.total, amt("10.60"));
    assert_eq!(r.subtotal, amt("10.00"));
    assert_eq!(r.tax, amt("0.60"));
}

#[test]
fn labels_and_amounts_on_separate_lines_are_paired() {
    let r = parse("SHOP SDN BHD\nTOTAL:\nRM\n9.00\nCASH\nCHANGE\n10.00\n1.00");
    assert_eq!(r.total, amt("9.00"));
    assert_eq!(r.payment.tendered, amt("10.00"));
    assert_eq!(r.payment.change, amt("1.00"));
}

#[test]
fn receipt_serialises_amounts_as_strings() {
    let r = parse("CAFE\nTOTAL 12.50\nCASH 20.00\nCHANGE 7.50");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["total"], "12.50");
    assert_eq!(json["payment"]["method"], "cash");
    let back: Receipt = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn empty_and_garbage_input_yield_an_empty_receipt() {
    let r = parse("");
    assert_eq!(r, Receipt::default());
    let r = parse("\u{0}\u{7f}%%%\n::::\n----");
    assert_eq!(r.total, None);
    assert_eq!(r.confidence.total, 0);
}

#[test]
fn a_total_misread_in_one_digit_is_repaired_from_the_lines_above() {
    let r = parse(
        "B & BEST RESTAURANT\n2 SUB TOTAL 14.00\nGST 6% 0.84\nROUNDING ADJ 0.01\n\
         NET TOTAL 14.05\nCash 14.8%\nCHANGE 0.00",
    );
    assert_eq!(r.total, amt("14.85"));
    assert!(r.confidence.total < 50, "a repaired total is less certain");
}

#[test]
fn a_rounding_difference_in_the_last_digit_is_not_repaired() {
    let r = parse("SHOP\nSUBTOTAL 10.00\nTAX 0.62\nTOTAL 10.60\nCARD 10.60");
    assert_eq!(r.total, amt("10.60"));
}

#[test]
fn long_inputs_stay_fast() {
    // 3000 rows of 39 amounts and no labels: every fallback runs over ~100k amounts
    let row: Vec<String> = (1..40).map(|i| format!("{i}.{:02}", i % 100)).collect();
    let text = vec![row.join(" "); 3000].join("\n");
    let start = std::time::Instant::now();
    let r = parse(&text);
    assert_eq!(
        r.total,
        amt("39.39"),
        "the most printed amount, ties to the larger"
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    let labels_only = "TOTAL\n".repeat(5000);
    let start = std::time::Instant::now();
    assert_eq!(parse(&labels_only).total, None);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn boxes_on_one_visual_row_pair_labels_with_amounts() {
    use receipt_parse::{Line, parse_lines};
    let lines = [
        Line::with_box("ABC HO TRADING", [100, 10, 300, 30]),
        Line::with_box("DATE:", [20, 50, 70, 66]),
        Line::with_box("09/01/2019", [200, 51, 300, 67]),
        Line::with_box("TOTAL:", [20, 100, 80, 116]),
        Line::with_box("CASH", [20, 130, 70, 146]),
        Line::with_box("31.00", [400, 103, 440, 119]),
        Line::with_box("50.00", [400, 131, 440, 147]),
    ];
    let r = parse_lines(&lines);
    assert_eq!(r.merchant.as_deref(), Some("ABC HO TRADING"));
    assert_eq!(r.date.as_deref(), Some("2019-01-09"));
    assert_eq!(r.total, amt("31.00"));
    assert_eq!(r.payment.tendered, amt("50.00"));
}

#[test]
fn a_rounded_total_misread_in_one_digit_is_repaired_from_the_total_above() {
    let r =
        parse("SHOP\nTotal : 9.00\nRounding Adjustment 0.00\nRounded Total (RM): 9.60\nCash 40.00");
    assert_eq!(r.total, amt("9.00"));
}

#[test]
fn merchant_keeps_an_unclosed_bracket_before_the_registration_number() {
    let r = parse(
        "| GARDENIA BAKERIES (KL } SDN BHD (139386 X)\nLOT 3, JALAN PELABUR 23/1\nTOTAL 12.00",
    );
    assert_eq!(
        r.merchant.as_deref(),
        Some("GARDENIA BAKERIES (KL } SDN BHD")
    );
}

#[test]
fn polish_receipt_with_suma_pln_ptu_and_reszta() {
    let r = fixture("pl.txt");
    assert_eq!(
        r.merchant.as_deref(),
        Some("PIEKARNIA POD LIPAMI Sp. z o.o.")
    );
    assert_eq!(r.date.as_deref(), Some("2023-05-19"));
    assert_eq!(r.currency, Some(Currency::Pln));
    assert_eq!(r.tax, amt("1.28"), "SUMA PTU is the tax, not the total");
    assert_eq!(r.total, amt("21.89"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Cash));
    assert_eq!(r.payment.tendered, amt("50.00"));
    assert_eq!(r.payment.change, amt("28.11"));
    assert_eq!(r.items.len(), 3, "the per-rate sales lines are no items");
}

#[test]
fn turkish_receipt_with_toplam_topkdv_and_para_ustu() {
    let r = fixture("tr.txt");
    assert_eq!(r.merchant.as_deref(), Some("ÇINAR KAFE GIDA LTD. ŞTİ."));
    assert_eq!(r.date.as_deref(), Some("2023-11-07"));
    assert_eq!(r.time.as_deref(), Some("13:27"));
    assert_eq!(r.tax, amt("9.09"));
    assert_eq!(r.total, amt("100.00"), "amounts behind a `*`");
    assert_eq!(r.payment.tendered, amt("200.00"));
    assert_eq!(r.payment.change, amt("100.00"));
    assert_eq!(r.items.len(), 3);
}

#[test]
fn czech_receipt_with_celkem_k_uhrade_dph_and_koruna_after_the_amount() {
    let r = fixture("cs.txt");
    assert_eq!(r.merchant.as_deref(), Some("KAVÁRNA U MOSTU s.r.o."));
    assert_eq!(r.date.as_deref(), Some("2023-02-14"));
    assert_eq!(r.currency, Some(Currency::Czk));
    assert_eq!(r.subtotal, amt("139.00"));
    assert_eq!(r.tax, amt("14.89"));
    assert_eq!(r.total, amt("139.00"));
    assert_eq!(r.payment.change, amt("61.00"));
    assert_eq!(r.items[1].quantity, amt("2"));
    assert_eq!(r.items[1].unit_price, amt("42.00"));
}

#[test]
fn portuguese_receipt_with_total_a_pagar_iva_and_troco() {
    let r = fixture("pt.txt");
    assert_eq!(r.merchant.as_deref(), Some("PASTELARIA CENTRAL, LDA"));
    assert_eq!(r.date.as_deref(), Some("2023-09-23"));
    assert_eq!(r.currency, Some(Currency::Eur), "€ after the amount");
    assert_eq!(r.subtotal, amt("5.20"));
    assert_eq!(r.tax, amt("1.20"));
    assert_eq!(r.total, amt("6.40"));
    assert_eq!(r.payment.tendered, amt("10.00"));
    assert_eq!(r.payment.change, amt("3.60"));
    assert!(r.confidence.total >= 90, "both cross-checks agree");
}

#[test]
fn bulgarian_receipt_in_cyrillic_with_obshta_suma_dds_and_resto() {
    let r = fixture("bg.txt");
    assert_eq!(r.merchant.as_deref(), Some("КАФЕ РОЗА ЕООД"));
    assert_eq!(r.date.as_deref(), Some("2023-04-03"));
    assert_eq!(r.currency, Some(Currency::Bgn));
    assert_eq!(r.tax, amt("1.75"));
    assert_eq!(r.total, amt("10.50"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Cash));
    assert_eq!(r.payment.tendered, amt("20.00"));
    assert_eq!(r.payment.change, amt("9.50"));
}

#[test]
fn cyrillic_keywords_read_partly_as_latin_look_alikes_and_digits() {
    // OCR with a Latin model prints "ОБЩО" as "OБЩ0" and "РЕСТО" as "PECTO"
    let r = parse("КАФЕ РОЗА\nБаница  6,20\nOБЩ0 СУМА  6,20\nВ БРОЙ  10,00\nPECTO  3,80");
    assert_eq!(r.total, amt("6.20"));
    assert_eq!(r.payment.change, amt("3.80"));
}

#[test]
fn keywords_of_the_new_locales_in_ocr_forms() {
    for (text, total) in [
        ("RAZEM 12,50\nSUMA PTU 0,93\nR E S Z T A 0,00", "12.50"),
        ("ARA TOPLAM 40,00\nKDV 4,00\nTOPLAM *44,00", "44.00"),
        ("TOTAAL 7,80\nTE BETALEN 7,80\nPIN 7,80", "7.80"),
        ("IMPORTE 9,95 €\nEFECTIVO 10,00\nCAMBIO 0,05", "9.95"),
        ("CELKEM 120 Kč\nHOTOVĚ 200 Kč\nVRÁCENO 80 Kč", "120"),
        ("T0TAL A PAGAR 6,40\nDINHEIRO 10,00\nTROCO 3,60", "6.40"),
        (
            "ZU ZAHLEN\n'.:;\n|| ~\n12,5O €\nBAR 20,00\nRÜCKGELD 7,50",
            "12.50",
        ),
        ("TOTAL $41 .20\nCASH 50.00\nCHANGE 8.80", "41.20"),
    ] {
        assert_eq!(parse(text).total, amt(total), "{text}");
    }
}

#[test]
fn a_total_label_broken_over_two_rows_keeps_its_amount() {
    let r =
        parse("ROUNDING ADJ\n0.02\nTOTAL AFTER ADJ\nINCL GST\n122.80\nCASH\n200.00\nCHANGE\n77.20");
    assert_eq!(r.total, amt("122.80"));
    assert_ne!(r.tax, amt("122.80"));
}

#[test]
fn spanish_ticket_whose_importe_is_the_grand_total() {
    let r = fixture("es-ticket.txt");
    assert_eq!(r.merchant.as_deref(), Some("FRUTERÍA HERMANOS GIL S.L."));
    assert_eq!(r.date.as_deref(), Some("2024-05-08"));
    assert_eq!(r.time.as_deref(), Some("19:03"));
    assert_eq!(r.currency, Some(Currency::Eur));
    assert_eq!(
        r.total,
        amt("13.34"),
        "IMPORTE after the discount, not TOTAL COMPRA before it"
    );
    assert_eq!(r.tax, amt("1.21"));
    assert_eq!(r.payment.method, Some(PaymentMethod::Card));
}

#[test]
fn importe_entregado_is_cash_handed_over_not_the_total() {
    let r = parse("IMPORTE 9,95 €\nIMPORTE ENTREGADO 20,00\nCAMBIO 10,05");
    assert_eq!(r.total, amt("9.95"));
    assert_eq!(r.payment.tendered, amt("20.00"));
    assert_eq!(r.payment.change, amt("10.05"));
}

#[test]
fn thai_receipt_with_ruam_thang_sin_vat_and_ngoen_thon() {
    let r = fixture("th.txt");
    assert_eq!(r.merchant.as_deref(), Some("บริษัท บ้านสวน คอฟฟี่ จำกัด"));
    assert_eq!(r.date.as_deref(), Some("2024-02-14"), "Buddhist era 2567");
    assert_eq!(r.time.as_deref(), Some("09:42"));
    assert_eq!(r.currency, Some(Currency::Thb));
    assert_eq!(r.subtotal, amt("186.92"), "the price before VAT");
    assert_eq!(r.tax, amt("13.08"));
    assert_eq!(
        r.total,
        amt("200.00"),
        "รวมทั้งสิ้น after the discount, not ยอดรวม"
    );
    assert_eq!(r.payment.method, Some(PaymentMethod::Cash));
    assert_eq!(r.payment.tendered, amt("500.00"));
    assert_eq!(r.payment.change, amt("300.00"));
    assert!(r.confidence.total >= 90, "both cross-checks agree");
}

#[test]
fn thai_two_digit_years_are_buddhist_era() {
    // a convenience-store slip: day/month/two-digit Buddhist-era year ("67" is 2567, 2024)
    let r = parse(
        "ร้านสะดวกซื้อ สุขใจมาร์ท\nสาขา 01234\n01/11/67 18:20 POS#3\nน้ำดื่ม 600มล. 7.00\n\
         ขนมปัง 25.00\nรวม 2 รายการ\nรวมทั้งสิ้น 32.00\nเงินสด 50.00\nเงินทอน 18.00",
    );
    assert_eq!(r.date.as_deref(), Some("2024-11-01"));
    assert_eq!(r.time.as_deref(), Some("18:20"));
    assert_eq!(r.total, amt("32.00"));
    // Thai read by a Latin-only OCR model: the baht marks the receipt as Thai
    let r = parse("SUKJAI MART\nDATE 12/03/66\nTOTAL 120.00 THB\nCASH 200.00\nCHANGE 80.00");
    assert_eq!(r.currency, Some(Currency::Thb));
    assert_eq!(r.date.as_deref(), Some("2023-03-12"));
    // the same slip in ringgit has no Buddhist-era year, so no date
    let r = parse("SUKJAI MART\nDATE 12/03/66\nTOTAL RM 120.00\nCASH 200.00\nCHANGE 80.00");
    assert_eq!(r.date, None);
    // a Thai receipt printed with a common-era year keeps it
    let r = parse("ร้านกาแฟ\nวันที่ 14/02/24 09:42\nรวมทั้งสิ้น 200.00 บาท");
    assert_eq!(r.date.as_deref(), Some("2024-02-14"));
}

#[test]
fn thai_keywords_inside_words_without_spaces() {
    for (text, total) in [
        ("ยอดรวม 120.00\nเงินสด 200.00\nเงินทอน 80.00", "120.00"),
        ("ยอดรวม 107.00\nภาษีมูลค่าเพิ่ม 7.00\nรวมทั้งสิ้น 107.00", "107.00"),
        ("ราคาไม่รวมภาษี 93.46\nVAT 7% 6.54\nรวมเงิน 100.00", "100.00"),
    ] {
        assert_eq!(parse(text).total, amt(total), "{text}");
    }
    // a receipt banner is no money received; tax excluded is no total
    let r = parse("ใบเสร็จรับเงิน\nไม่รวมภาษี 93.46\nภาษีมูลค่าเพิ่ม 6.54\nรวมทั้งสิ้น 100.00");
    assert_eq!(r.payment.tendered, None);
    assert_eq!(r.subtotal, amt("93.46"));
    assert_eq!(r.tax, amt("6.54"));
    assert_eq!(r.total, amt("100.00"));
}

#[test]
fn merchant_is_the_issuer_not_the_customer_block_of_an_invoice() {
    let r = parse(
        "KEDAI PAPAN YEW CHUAN\nLOT 276 JALAN BANTING\nTAX INVOICE\nBILL TO :\n\
         SUCI ALAM JAYA TRANSPORT SDN BHD\nNO 1 JALAN AMAN 2\nTOTAL 120.00",
    );
    assert_eq!(r.merchant.as_deref(), Some("KEDAI PAPAN YEW CHUAN"));
    let r = parse("HAPPY HOME TRADING\nDELIVER TO: SINAR MAJU SDN BHD\nTOTAL 12.00");
    assert_eq!(r.merchant.as_deref(), Some("HAPPY HOME TRADING"));
}

#[test]
fn merchant_drops_a_word_glued_on_after_its_legal_form_or_trade() {
    let r = parse("TIN HOCK ENTERPRISE POSTED\nNO 3 JALAN MAJU\nTOTAL 9.00");
    assert_eq!(r.merchant.as_deref(), Some("TIN HOCK ENTERPRISE"));
    // a misread second half of "SDN BHD" is no glued word
    let r = parse("BOOK TA .K (TAMAN DAYA) SDN BND\nTOTAL 9.00");
    assert_eq!(
        r.merchant.as_deref(),
        Some("BOOK TA .K (TAMAN DAYA) SDN BND")
    );
}

#[test]
fn merchant_keeps_a_branch_whose_closing_bracket_ocr_misread() {
    let r = parse("FUN N CHEER (MALURD\nLOT 3763G, JALAN 6/37A\nTOTAL 29.80");
    assert_eq!(r.merchant.as_deref(), Some("FUN N CHEER (MALURD"));
}

#[test]
fn a_total_label_with_a_piece_broken_off_and_rate_subtotals_above_it() {
    let r =
        parse("GST (6%): 2.86\nNet A mt : 53.55\nGST Summary Amount(RM) Tax(RM)\nSR@6 47.80 2.86");
    assert_eq!(r.total, amt("53.55"));
    let r = parse(
        "Total 0% supplies: 7.61\nTotal 6% supplies (excl. GST): 24.00\nGST: 1.44\n\
         Total 6% supplies (Inc. GST): 25.44\nTotal 0% supplies: 7.61\nTotal Payable: 33.05",
    );
    assert_eq!(r.total, amt("33.05"), "the sum of the per-rate totals");
}

#[test]
fn merchant_legal_form_read_as_digits_is_spelt_in_letters() {
    let r = parse("99 SPEED MART 5/8 (519537-X)\nLOT P.T. 33198, BATU 4\nTOTAL 82.80");
    assert_eq!(r.merchant.as_deref(), Some("99 SPEED MART S/B"));
    let r = parse("KEDAI MAJU SDN 8HD\nTOTAL 8.00");
    assert_eq!(r.merchant.as_deref(), Some("KEDAI MAJU SDN BHD"));
}
