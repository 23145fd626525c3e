"""The receipt parser on plain text: items, quantity lines, skipped lines and header fields."""

from __future__ import annotations

import pytest

from app.recognition.receipt_parser import Kind, classify, parse_quantity, parse_text, split_price


def _items(text: str) -> list[tuple[str, float | None, str | None, float | None, float | None]]:
    return [(i.raw_text, i.quantity, i.unit, i.price, i.unit_price) for i in parse_text(text).items]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("VOLLMILCH 3,5% 1L      1,19 A", ("VOLLMILCH 3,5% 1L", 1.19, False)),
        ("MILK 2.49", ("MILK", 2.49, False)),
        ("BREAD $ 3.10", ("BREAD", 3.10, False)),
        ("BREAD 3,10 €", ("BREAD", 3.10, False)),
        ("KASE 1.234,50 B", ("KASE", 1234.50, False)),
        ("Rabatt -0,50", ("Rabatt", 0.50, True)),
        ("Leergut 0,25-", ("Leergut", 0.25, True)),
        ("Forellenfilet 9,181", ("Forellenfilet", 9.18, False)),
        ("CHEESE 4.99*", ("CHEESE", 4.99, False)),
        ("SALATBAR 2,24×B", ("SALATBAR", 2.24, False)),  # '*' (no discount on it) read as '×'
        ("Zeitschriften 14,90×B", ("Zeitschriften", 14.90, False)),
        ("ORANGENSAFT 1,4D CW", ("ORANGENSAFT", 1.40, False)),  # the last zero read as 'D'
        ("EIER 1,49 D", ("EIER", 1.49, False)),  # a tax class D stays one
        ("SER ZOLTY 12,50 zł", ("SER ZOLTY", 12.50, False)),
    ],
)
def test_split_price_reads_the_amount_at_the_right_edge(line: str, expected: tuple[str, float, bool]) -> None:
    assert split_price(line) == expected


@pytest.mark.parametrize("line", ["Tel. 030 1234567", "12.03.2024 14:31", "Bon-Nr 1234", "EIER 10ER"])
def test_split_price_ignores_lines_without_a_price(line: str) -> None:
    assert split_price(line) is None


@pytest.mark.parametrize(
    ("line", "quantity", "unit", "unit_price", "total"),
    [
        ("2 x 1,29", 2.0, "pcs", 1.29, None),
        ("  2 Stk x 1,19", 2.0, "pcs", 1.19, None),
        ("1,235 kg x 1,99 EUR/kg", 1.235, "kg", 1.99, None),
        ("0.456 kg @ 3.49/kg", 0.456, "kg", 3.49, None),
        ("3 @ 0.99", 3.0, "pcs", 0.99, None),
        ("2 x 7,92   15,84", 2.0, "pcs", 7.92, 15.84),
        ("1,816kgx 12,47 EUR/kg", 1.816, "kg", 12.47, None),
        ("X 5,97 11,94 *", 2.0, "pcs", 5.97, 11.94),
        ("4 322,07 1288,28 A", 4.0, "pcs", 322.07, 1288.28),
        ("2 \u0445 796.95", 2.0, "pcs", 796.95, None),
        ("1.847 кг x 880.17 руб/кг", 1.847, "kg", 880.17, None),
        ("0.618 кгх × 840.94 руб/кг", 0.618, "kg", 840.94, None),
        ("0.642 กก x 185.61 บาท / ก ก", 0.642, "kg", 185.61, None),
        ("2.001 an. x 175.30 บาท / กก .", 2.001, "kg", 175.30, None),
        ("0.789 kg ( @ 14.62/kg", 0.789, "kg", 14.62, None),
    ],
)
def test_parse_quantity_forms(line: str, quantity: float, unit: str, unit_price: float, total: float | None,
                              ) -> None:
    qty = parse_quantity(line)
    assert qty is not None
    assert (qty.quantity, qty.unit, qty.unit_price, qty.total) == (quantity, unit, unit_price, total)


@pytest.mark.parametrize("line", ["2 x MILK 2,38", "MILK 1,19", "SUMME 12,34", "12.03.2024", "0.44lb @ 0.99/lb",
                                  "3 322,07 1288,28"])
def test_parse_quantity_rejects_other_lines(line: str) -> None:
    assert parse_quantity(line) is None


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("SUMME EUR 12,34", Kind.TOTAL),
        ("TOTAL TTC 23,10", Kind.TOTAL),
        ("TOTALUSD 97.21", Kind.TOTAL),
        ("Zwischensumme 10,00", Kind.SUBTOTAL),
        ("SUBTOTAL 9.99", Kind.SUBTOTAL),
        ("MwSt 19% 1,90", Kind.TAX),
        ("IVA 21% 2,10", Kind.TAX),
        ("Geg. BAR 20,00", Kind.PAYMENT),
        ("Rückgeld 7,66", Kind.PAYMENT),
        ("VISA 12.00", Kind.PAYMENT),
        ("Rabatt Aktion -0,50", Kind.DISCOUNT),
        ("Clubcard savings -1.00", Kind.DISCOUNT),
        ("Pfand 0,25", Kind.DEPOSIT),
        ("BARILLA SPAGHETTI 1,29", Kind.OTHER),
        ("SPINACH 2.00", Kind.OTHER),
        ("MUSTARD 0.99", Kind.OTHER),
        ("SUBCTAL $96.62", Kind.SUBTOTAL),
        ("TCTAL. $99.82", Kind.TOTAL),
        ("10% SVC CHG 1.28", Kind.TAX),
        ("STATE TAX 0.50", Kind.TAX),
        ("AMOUNTTENDER 20.00", Kind.PAYMENT),
        ("ОБЩО 4,29", Kind.TOTAL),
        ("ИТОГ 9582.47 руб.", Kind.TOTAL),
        ("เงินสด 1728.00", Kind.PAYMENT),
        ("ภาษีมูลค่าเพิ่ม 7% 113.02", Kind.TAX),
        ("Einzelpreis EUR 9,95", Kind.INFO),
        ("TOMATO 1.00", Kind.OTHER),
        ("TENDERLOIN 9.78", Kind.OTHER),
        ("CASHEWS 3.49", Kind.OTHER),
        ("Gesantbetrag 34,00 EUR", Kind.TOTAL),  # a long total phrase as OCR misreads it ('m' for 'n')
        ("Gesamtbetreuung 34,00", Kind.OTHER),
    ],
)
def test_classify_by_keywords_without_false_hits_inside_words(line: str, kind: Kind) -> None:
    assert classify(line) is kind


GERMAN = """REWE Markt GmbH
Hauptstr. 5, 10115 Berlin
VOLLMILCH 3,5% 1L      1,19 A
BANANEN               2,46 A
  1,235 kg x 1,99 EUR/kg
JA! H-MILCH 1,5%   2,38 B
  2 Stk x 1,19
Pfand 0,25  0,25 A
Rabatt Aktion -0,50
Crème fraîche 200g     0,99 B
--------------------------
SUMME EUR             6,77
Geg. BAR  20,00
Rückgeld  13,23
MwSt 7% 0,44
12.03.2024 14:31 Bon 1234
"""


def test_german_receipt_items_with_quantity_lines_below() -> None:
    assert _items(GERMAN) == [
        ("VOLLMILCH 3,5% 1L", None, None, 1.19, None),
        ("BANANEN", 1.235, "kg", 2.46, 1.99),
        ("JA! H-MILCH 1,5%", 2.0, "pcs", 2.38, 1.19),
        ("Crème fraîche 200g", None, None, 0.99, None),
    ]


def test_german_receipt_header() -> None:
    header = parse_text(GERMAN).header
    assert (header.merchant, header.purchased_at, header.currency, header.total) == (
        "REWE Markt GmbH", "2024-03-12T14:31:00", "EUR", 6.77,
    )


def test_us_receipt_quantity_lines_above_and_month_first_dates() -> None:
    parsed = parse_text("""FRESH MART
455 Main St, Springfield
03/04/2025 10:12
  2 @ 1.29
MILK 1 GAL                2.58
  0.456 kg @ 3.49/kg
BANANAS                   1.59
BREAD                     3.10
SUBTOTAL                  7.27
SALES TAX 0.58
TOTAL USD                 7.85
VISA                      7.85
""")
    assert [(i.raw_text, i.quantity, i.unit, i.price) for i in parsed.items] == [
        ("MILK 1 GAL", 2.0, "pcs", 2.58),
        ("BANANAS", 0.456, "kg", 1.59),
        ("BREAD", None, None, 3.10),
    ]
    header = parsed.header
    assert (header.purchased_at, header.currency, header.total) == ("2025-03-04T10:12:00", "USD", 7.85)


def test_inline_counts_and_quantity_lines_carrying_the_total() -> None:
    assert _items("""MARCHE CENTRAL
2 x LAIT DEMI-ECREME 1L   2,18 A
3X YAOURT NATURE   1,50 *
JUS D'ORANGE
  2 x 1,99   3,98 A
TOTAL EUR 7,66
""") == [
        ("LAIT DEMI-ECREME 1L", 2.0, "pcs", 2.18, 1.09),
        ("YAOURT NATURE", 3.0, "pcs", 1.50, 0.5),
        ("JUS D'ORANGE", 2.0, "pcs", 3.98, 1.99),
    ]


def test_lines_after_the_total_are_never_items() -> None:
    assert _items("""SHOP
APPLES 1.20
TOTAL 1.20
CASH 5.00
CHANGE 3.80
THANK YOU 0.00 A
""") == [("APPLES", None, None, 1.20, None)]


def test_polish_receipt_with_decimal_commas_and_pln() -> None:
    parsed = parse_text("""Sklep Spozywczy Ania
ul. Dluga 7, Krakow
2025-02-14 09:05
MLEKO 3,2% 1L 3,49 A
CHLEB ZYTNI 5,99 C
PTU A 8% 0,26
SUMA PLN 9,48
GOTOWKA 10,00
RESZTA 0,52
""")
    assert [(i.raw_text, i.price) for i in parsed.items] == [("MLEKO 3,2% 1L", 3.49), ("CHLEB ZYTNI", 5.99)]
    assert (parsed.header.merchant, parsed.header.purchased_at, parsed.header.currency, parsed.header.total) == (
        "Sklep Spozywczy Ania", "2025-02-14T09:05:00", "PLN", 9.48,
    )


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("Datum: 27.03.2024", "2024-03-27"),
        ("27.03.24", "2024-03-27"),
        ("15/04/2024 13:30", "2024-04-15T13:30:00"),
        ("01-07-2025", "2025-07-01"),
        ("2024-11-30 08:01:59", "2024-11-30T08:01:59"),
        ("27.03.202420:10", "2024-03-27"),
        ("12 mars 2024", "2024-03-12"),
        ("3 Okt 2024", "2024-10-03"),
    ],
)
def test_dates_in_common_formats(line: str, iso: str) -> None:
    assert parse_text(f"SHOP\n{line}\nMILK 1,00\n").header.purchased_at == iso


@pytest.mark.parametrize(
    ("text", "currency"),
    [("TOTAL £ 3.00", "GBP"), ("TOTAL 3,00 €", "EUR"), ("TOTAL $3.00", "USD"), ("Summe CHF 3.00", "CHF"),
     ("RAZEM 3,00 zł", "PLN"), ("TVA 5,5% 0,20\nTOTAL 3,00", "EUR"), ("VAT 20% 0.50\nTOTAL 3.00", "GBP")],
)
def test_currency_from_symbols_codes_or_tax_words(text: str, currency: str) -> None:
    assert parse_text(f"SHOP\nMILK 3,00\n{text}\n").header.currency == currency


def test_a_photo_that_is_not_a_receipt_gives_nothing() -> None:
    parsed = parse_text("Once upon a time\nthere was a cat\n")
    assert parsed.items == []
    assert parsed.looks_like_receipt is False
    assert parsed.header.total is None


def test_ocr_punctuation_and_boxes_carry_through() -> None:
    from app.recognition.receipt_parser import TextLine, parse_receipt

    box = [(0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0)]
    parsed = parse_receipt([TextLine("SHOP"), TextLine("KAFFEE 500G 4\uff0c99 A", 0.9, box)])
    assert [(i.raw_text, i.price, i.confidence, i.box) for i in parsed.items] == [("KAFFEE 500G", 4.99, 0.9, box)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("OAKDELL EGGS .88FS", ("OAKDELL EGGS", 0.88, False)),
        ("BACON 1O.99", ("BACON", 10.99, False)),
        ("LEMON 2.12T2", ("LEMON", 2.12, False)),
        ("FITBIT 155,00 b", ("FITBIT", 155.0, False)),
        ("Super bleifrei 34,00 EUR A #*", ("Super bleifrei", 34.0, False)),
        ("YELLOW ONIONS 0.99 TFW", ("YELLOW ONIONS", 0.99, False)),
        ("NASI LEMAK RM 9.00", ("NASI LEMAK", 9.0, False)),
        ("PIZZA 1 140.00", ("PIZZA 1", 140.0, False)),
        ("NIBH EUISMOD S2.99", ("NIBH EUISMOD", 2.99, False)),
        ("Haakh (Hungry) 300.00300.00", ("Haakh (Hungry) 300.00", 300.0, False)),
        ("1,000x 20,00 G- 20,00", ("1,000x 20,00 G", 20.0, False)),
        ("RABATT -0,50", ("RABATT", 0.5, True)),
        ("COUPON - 1.00", ("COUPON", 1.0, True)),
    ],
)
def test_split_price_reads_what_tills_and_ocr_print(line: str, expected: tuple[str, float, bool]) -> None:
    assert split_price(line) == expected


@pytest.mark.parametrize("line", ["Date: 18.04.07 Time: 10:10.23", "CLASS2", "Tel 0836 4251144"])
def test_split_price_ignores_times_and_numbers_without_decimals(line: str) -> None:
    assert split_price(line) is None


def _priced(text: str) -> list[tuple[str, float | None]]:
    return [(i.raw_text, i.price) for i in parse_text(text).items]


def test_price_on_the_row_below_the_name_us_and_malaysian_style() -> None:
    parsed = parse_text("""KEDAI MAKAN
CHICKEN RICE
1PC * 9.00  9.00
ICED TEA
2PC * 2.50  5.00
TOTAL 14.00
""")
    assert [(i.raw_text, i.quantity, i.unit_price, i.price) for i in parsed.items] == [
        ("CHICKEN RICE", 1.0, 9.0, 9.0), ("ICED TEA", 2.0, 2.5, 5.0),
    ]


def test_a_row_of_numbers_takes_its_name_from_the_row_below_when_none_is_above() -> None:
    assert _priced("""LIQUOR LIBRARY
11/21/2014 6:55:01PM
100507 1 7.99 7.99
MARGARITA MIX
Subtotal 7.99
Total 8.64
""") == [("MARGARITA MIX", 7.99)]


def test_counts_codes_and_unit_prices_are_not_part_of_the_name() -> None:
    parsed = parse_text("""TAJ MAHAL
LAMB PASANDA 2x 7.60 15.20 A
1 3.EGGROLL 7.95
400158649319 #JORDAN SUPER.FLY 89.99
FILETE PECHUGA 0.657KILOS 4.27
Coffee (2@$1.95) 3.90
1SODA 2.00
0.38 CARROT LOOSE 1.20
2 * Atemschutzmaske FFP2 19.90
TOTAL 144.41
""")
    assert [(i.raw_text, i.quantity, i.unit_price, i.price) for i in parsed.items] == [
        ("LAMB PASANDA", 2.0, 7.6, 15.2), ("3.EGGROLL", 1.0, 7.95, 7.95), ("JORDAN SUPER.FLY", None, None, 89.99),
        ("FILETE PECHUGA", 0.657, 6.5, 4.27), ("Coffee", None, None, 3.9), ("SODA", 1.0, 2.0, 2.0),
        ("CARROT LOOSE", None, None, 1.2), ("Atemschutzmaske FFP2", 2.0, 9.95, 19.9),
    ]


def test_rows_after_a_subtotal_are_not_items_unless_they_make_the_total_add_up() -> None:
    assert _priced("""CAFE
PIZZA MARGHERITA 11.49
WATER 2.99
SUBTOTAL 14.48
EE BENEFIT SURCHRG 0.29
TAX 1.33
AMOUNT PAID 16.10
""") == [("PIZZA MARGHERITA", 11.49), ("WATER", 2.99)]
    assert _priced("""MARKET
FOOD
APPLES 1.20
PEARS 2.30
SUBTOTAL 3.50
NON-FOOD
SOAP 1.00
SPONGE 0.50
TOWELS 2.50
SUBTOTAL 4.00
TOTAL 7.50
""") == [("APPLES", 1.2), ("PEARS", 2.3), ("SOAP", 1.0), ("SPONGE", 0.5), ("TOWELS", 2.5)]
    assert _priced("""DINER
BURGER 9.50
FRIES 3.25
SUBTOTAL 12.75
10% SVC CHG 1.28
TENDERLOIN SAUCE 0.50
TOTAL 14.53
""") == [("BURGER", 9.5), ("FRIES", 3.25)]


def test_an_amount_that_adds_up_the_items_above_ends_the_list_whatever_its_label() -> None:
    assert _priced("""VIRU RESTORAN
Cola XL 0.00
Big Mac 60.00
Ketsup 3.00
KOKKU 63.00
EEK 100.00
Tagasi 37.00
""") == [("Cola XL", 0.0), ("Big Mac", 60.0), ("Ketsup", 3.0)]


def test_a_total_word_below_the_sum_so_far_is_not_the_total() -> None:
    assert _priced("""WALMART
SC CA PEACH 0.68 X
NESTLE WATER 3.48 N
TOTAL03 3.54 N
DEODORANT 3.97 X
SUBTOTAL 11.67
TOTAL 12.37
""") == [("SC CA PEACH", 0.68), ("NESTLE WATER", 3.48), ("DEODORANT", 3.97)]


def test_a_total_keyword_inside_a_product_name_is_an_item() -> None:
    assert _priced("""BREWERY
1 16oz NUT BROWN $2.00
13oz SUMMER WIT $2.00
MODE 3
1 BLUE BURGER $10.00
SUB-TOTAL $14.00
TOTAL $15.00
""") == [("16oz NUT BROWN", 2.0), ("13oz SUMMER WIT", 2.0), ("BLUE BURGER", 10.0)]
    assert _priced("""PHARMACY
1 ALOE SANITIZER 2Z 1.99T
1 LIST TOTAL CARE 2.77T
1 POUCH 18CT 1.57T
SUBTOTAL 6.33
TOTAL 6.84
""") == [("ALOE SANITIZER 2Z", 1.99), ("LIST TOTAL CARE", 2.77), ("POUCH 18CT", 1.57)]


def test_a_total_with_its_own_words_between_items_stays_a_total() -> None:
    assert _priced("""DINER
BURGER 9.50
FRIES 3.25
TOTAL AMOUNT DUE 12.75
TIP 2.00
TOTAL 14.75
""") == [("BURGER", 9.5), ("FRIES", 3.25)]


def test_a_price_printed_with_one_decimal_among_two_decimal_prices() -> None:
    assert _priced("""SHOP
UT WISI ENIM $2.99
NIBH EUISMOD $1.30
RDOL MAGNA $17.0
TALIQUAM ERAT $5.10
TOTAL $26.39
""") == [("UT WISI ENIM", 2.99), ("NIBH EUISMOD", 1.3), ("RDOL MAGNA", 17.0), ("TALIQUAM ERAT", 5.1)]


def test_a_pack_size_line_between_a_name_and_its_amounts_keeps_the_name() -> None:
    assert _priced("""DUTY FREE SHOP
405042 NESTLE FAVORITES 20 SNACK
247G (12)
$8.99 1 $8.99
TOTAL $8.99
""") == [("NESTLE FAVORITES 20 SNACK", 8.99)]


def test_receipts_printed_without_decimals() -> None:
    assert _priced("""MAGASIN CHIN LEE
Facture au comptant
Item Qty Amount
TOMATO BASIL SOUP 199
SEV PURI TACOS 225
CRISPY ALOO CUP 250
Sub Total 674.00
""") == [("TOMATO BASIL SOUP", 199.0), ("SEV PURI TACOS", 225.0), ("CRISPY ALOO CUP", 250.0)]


def test_an_amount_left_of_the_amount_column_is_not_an_item() -> None:
    from app.recognition.receipt_parser import TextLine, parse_receipt

    def line(text: str, right: float) -> TextLine:
        return TextLine(text, x_span=(10.0, right), height=20.0)

    parsed = parse_receipt([line("DINER", 200), line("Table 4 Guests 2.00", 250), line("BURGER 9.50", 500),
                            line("FRIES 3.25", 498), line("COLA 2.00", 501), line("TOTAL 14.75", 500)])
    assert [(i.raw_text, i.price) for i in parsed.items] == [("BURGER", 9.5), ("FRIES", 3.25), ("COLA", 2.0)]


def test_keywords_in_other_scripts_end_the_item_list() -> None:
    assert _priced("""МАГАЗИН
ХЛЯБ 1,80
МЛЯКО 2,49
ОБЩО 4,29
В БРОЙ 10,00
РЕСТО 5,71
""") == [("ХЛЯБ", 1.8), ("МЛЯКО", 2.49)]


def test_odd_counts_never_raise() -> None:
    assert _priced("SHOP\n0 MILK 1.00\n00 x BREAD 2.00\n0x 0.00 0.00\nTOTAL 3.00\n") == [
        ("MILK", 1.0), ("BREAD", 2.0), ("0x 0.00", 0.0)]


def test_a_total_before_any_item_does_not_end_the_list() -> None:
    assert _priced("""meijer
****SAVINGS TODAY****
TOTAL NON-COUPON SAVINGS 3.00*
7033062846 CANDLE LIGHTER 3.99 CT
7600121069 CANDLES 3.99 CT
TOTAL TAX 0.50
TOTAL 8.48
""") == [("CANDLE LIGHTER", 3.99), ("CANDLES", 3.99)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [("2 Kingfisher .70.00", ("2 Kingfisher", 70.0, False)), ("Garlic Naan .22.00", ("Garlic Naan", 22.0, False)),
     ("OAKDELL EGGS .88 FS", ("OAKDELL EGGS", 0.88, False))],
)
def test_a_dot_ocr_reads_before_an_amount_is_dropped(line: str, expected: tuple[str, float, bool]) -> None:
    assert split_price(line) == expected


@pytest.mark.parametrize("line", ["Table 51/1 9.38 PM", "Printed 12:30pm", "Jul03'12 02.34 A.M."])
def test_a_clock_time_is_no_price(line: str) -> None:
    assert split_price(line) is None


def test_amounts_in_thousands_groups_are_whole_numbers() -> None:
    assert _priced("""COFFEE HOUSE
Iced Coffee Condensed Milk 29,000
Lime Juice 39,000
Sub-total 68,000
Total 68,000
""") == [("Iced Coffee Condensed Milk", 29000.0), ("Lime Juice", 39000.0)]


def test_a_total_with_cents_keeps_the_decimal_reading() -> None:
    assert _priced("""CRAB FACTORY
BALTIMORE MD 21202
Terminal ID: 01257838 9391
SERVER #: 17
BATCH #:296 AUTH :105462
AMOUNT $83.51
TOTAL $97.11
""") == []


def test_a_row_of_only_a_quantity_and_unit_price_takes_the_name_above() -> None:
    assert _priced("""GROCER
BANANAS
1.08lb @ 0.37/lb 0.40
SENSODYNE REPAIR
Qty 4 @ $9.30 ea 37.20
TOTAL 37.60
""") == [("BANANAS", 0.4), ("SENSODYNE REPAIR", 37.2)]


def test_a_name_row_heads_the_nameless_price_row_below_it_not_the_one_above() -> None:
    assert _priced("""FISH BAR
Salad J.P £1.00
£0.00 £0.00
Diet Coke
£1.50 £3.00
Cake £1.50
Total: £5.50
""") == [("Salad J.P", 1.0), ("£0.00", 0.0), ("Diet Coke", 3.0), ("Cake", 1.5)]


@pytest.mark.parametrize(
    ("line", "name"),
    [("RAVA IDLI 1.00*110.00 110.00", "RAVA IDLI"), ("CD GLORIA 139.90 40% 83.94", "CD GLORIA"),
     ("E 5844 LACTAID FF 4.99", "LACTAID FF"), ("8:3556 KNONUY NIB 4.99", "KNONUY NIB"),
     ("1000 ISLAND DRESSING 2.49", "1000 ISLAND DRESSING"), ("Martin Ray PN Glass 30.00 plu", "Martin Ray PN Glass")],
)
def test_numbers_around_a_name_that_are_no_part_of_it(line: str, name: str) -> None:
    assert [n for n, _ in _priced(f"SHOP\n{line}\nTOTAL 999.00\n")] == [name]


def test_an_item_costing_what_the_items_before_it_cost_together_is_no_total_under_a_larger_subtotal() -> None:
    assert [p for _, p in _priced("""LURE
Diet Coca Cola 3.00
Chowder & Salad 7.95
Add Salmon 5.00
Lobster 15.95
Mahi Mahi 14.95
Subtotal 46.85
Total 50.00
""")] == [3.0, 7.95, 5.0, 15.95, 14.95]


def test_a_weight_row_whose_lb_ocr_read_as_1b_takes_the_name_above() -> None:
    assert _priced("""GROCER
GRANNY SMITH APPLES
0.81 1b @ 0.99/ 1b 0.80
RADISHES 1LB 1.49 本
TOTAL 2.29
""") == [("GRANNY SMITH APPLES", 0.8), ("RADISHES 1LB", 1.49)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [("1.000 STK 20.99 19", ("1.000 STK", 20.99, False)), ("HOT SOUP $4.50 11", ("HOT SOUP", 4.5, False))],
)
def test_a_tax_rate_or_class_read_as_two_digits_may_follow_the_price(line: str, expected: tuple[str, float, bool],
                                                                      ) -> None:
    assert split_price(line) == expected


def test_an_article_row_with_only_count_and_unit_takes_the_name_above() -> None:
    assert _priced("""BAUMARKT
4078500017343 Kunststoff-Ventil
1.000 STK 20.99 19
4078500023542 Blumenrechen
1.000 STK 11.99 19
SUMME EUR 32.98
""") == [("Kunststoff-Ventil", 20.99), ("Blumenrechen", 11.99)]


def test_prices_of_five_or_six_digits_and_price_cut_rows() -> None:
    assert _priced("""BABEL
1 BREADED SHRIMP 25000.00
1 MINERAL WATER 6500.00
4125001715 TORTILLA CHP
was 3.29 now 2.99 F
SUBTOTAL 34499.00
""") == [("BREADED SHRIMP", 25000.0), ("MINERAL WATER", 6500.0), ("TORTILLA CHP", 2.99)]


def test_a_payment_word_inside_a_product_name_above_the_total() -> None:
    assert _priced("""HALLMARK
CARD THANKS CLASSIC 5.99 T
GIFT BAG LARGE 2.49 T
SUBTOTAL 8.48
VISA 8.48
""") == [("CARD THANKS CLASSIC", 5.99), ("GIFT BAG LARGE", 2.49)]
    assert _priced("""SHOP
TISSUES 2.99
Cash 5.00
CHANGE 2.01
TOTAL 2.99
""") == [("TISSUES", 2.99)]


def test_seconds_after_a_time_are_no_tax_rate() -> None:
    assert split_price("Cashier USER Time 16.57 00") is None


def test_counts_and_unit_prices_left_of_the_amount_leave_the_name() -> None:
    assert _priced("""TAJ
Nan 1x 212 2.12 A
RAVA IDLI 1.00\u00b7110.00 110.00
VORTEX98 48.421@ 1.599 77.43
DIVERS 20% 30.00
TOTAL 219.55
""") == [("Nan", 2.12), ("RAVA IDLI", 110.0), ("VORTEX98", 77.43), ("DIVERS 20%", 30.0)]


def test_the_sum_broken_down_by_category_after_the_items_is_no_item() -> None:
    assert _priced("""FISH HOUSE
1 Crab Special 21.95
1 PBR 2.50
1 Stella 4.00
food 21.95
liquor 6.50
Tax 2.53
Total Due 30.98
""") == [("Crab Special", 21.95), ("PBR", 2.5), ("Stella", 4.0)]
    assert _priced("""PUB
Jameson 8.00
Tomato Juice 3.00
Guinness 6.00
Stella 5.00
Sub-total: 23.00
""") == [("Jameson", 8.0), ("Tomato Juice", 3.0), ("Guinness", 6.0), ("Stella", 5.0)]


def test_the_amount_printed_again_at_the_end_of_the_name_leaves_it() -> None:
    assert _priced("""CAFE
B10 SEV PURI TACOS 225 225.00
CACERES 14\u00d700 14.00
Lamb Biryani 1x B.81 8.81
Pepsi 2 2.00
TOTAL 250.81
""") == [("B10 SEV PURI TACOS", 225.0), ("CACERES", 14.0), ("Lamb Biryani", 8.81), ("Pepsi 2", 2.0)]


def test_a_count_of_one_between_words_starts_the_name() -> None:
    assert _priced("""MERCADO
WAXED PARR 1 PAPEL VEGETAL 1.35
smoKED SALMON1 SALMON AHUMADO 1.88
Cocktai1 Juice 20.90
Size: 1 Gallon Milk 4.00
TOTAL 28.13
""") == [("PAPEL VEGETAL", 1.35), ("SALMON AHUMADO", 1.88), ("Cocktai1 Juice", 20.9), ("Size: 1 Gallon Milk", 4.0)]


def test_rows_of_numbers_under_a_description_header_take_the_name_below() -> None:
    assert _priced("""ONE WORLD MARKET
Item Qty Price Total
Description
107100041 1 2.00 2.00
INARI 2PCS
107100069 1 9.95 9.95
TODAY'S SPECIAL KITCHEN
Subtotal 11.95
Total 11.95
""") == [("INARI 2PCS", 2.0), ("TODAY'S SPECIAL KITCHEN", 9.95)]


@pytest.mark.parametrize(("line", "expected"), [("Organic 10. 00", ("Organic", 10.0, False)),
                                                ("Hotate 3. .50", ("Hotate", 3.5, False))])
def test_an_amount_split_after_its_point_is_joined(line: str, expected: tuple[str, float, bool]) -> None:
    assert split_price(line) == expected


def test_a_line_number_and_code_and_a_repeated_letter_word_leave_the_name() -> None:
    assert _priced("""CAFE
3: 0942 Rdol magna 17.00
EEEEE 275113 SWIRLPOPS 8.59
TOTAL 25.59
""") == [("Rdol magna", 17.0), ("SWIRLPOPS", 8.59)]


def test_a_tax_flag_before_the_amount_leaves_the_name() -> None:
    assert _priced("""DINER
CHEESE BURGER T1 4.50
COATS T2$10.00
TOTAL 14.50
""") == [("CHEESE BURGER", 4.5), ("COATS", 10.0)]


def test_a_column_header_or_a_date_left_of_an_amount_is_no_item() -> None:
    assert _priced("""GAS STATION
Sep 1, 2017 3:05:24 PM PAX 2.00
Date:14/02/18 No. 9.00
PRICE/GAL 3.47
Quantity 13.81
UNLEADED REGULAR 47.92
TOTAL 47.92
""") == [("UNLEADED REGULAR", 47.92)]


def test_the_units_line_over_a_weight_sold_is_no_name_and_the_name_above_it_is() -> None:
    assert _items("""ALDI
MOSER ROTH PREMIUM 1,09 C
BANANEN LOSE C
kg EUR/kg EURO
0,158 1,19 0,19
KAMILLENTEE 0,59 C
SUMME 1,87
""") == [("MOSER ROTH PREMIUM", None, None, 1.09, None), ("BANANEN LOSE C", 0.158, "kg", 0.19, 1.19),
         ("KAMILLENTEE", None, None, 0.59, None)]


def test_a_unit_price_times_a_count_after_the_name_is_the_quantity_when_they_make_the_amount() -> None:
    assert _items("""LIDL
Jacobs Krönung Aroma 3,29 x 2 6,58 A
Bulgur-Kräuter 0,89 x 2 1,78 A
Tischtuch 120 x 2 4,99 B
Summe 13,35
""") == [("Jacobs Krönung Aroma", 2.0, "pcs", 6.58, 3.29), ("Bulgur-Kräuter", 2.0, "pcs", 1.78, 0.89),
         ("Tischtuch 120 x 2", None, None, 4.99, None)]


def test_a_german_column_header_with_a_tax_column_letter_names_no_item() -> None:
    assert _priced("""ROLLER
Pos Artikel-Nr. Menge €/Stk €/Ges M
1 23530028 03 2,00 14,99 29,98 1
Duschvorhang
2 0277003401 2,00 14,99 29,98 1
WC-Garnitur
Summe 59,96
""") == [("Duschvorhang", 29.98), ("WC-Garnitur", 29.98)]


def test_rows_after_a_total_whose_label_ocr_misread_are_no_items() -> None:
    assert _priced("""Westfalen Tankstelle
*000005 Super bleifrei 34,00 EUR A
Gesantbetrag 34,00 EUR
** Kundenbe eg ** 34,00
""") == [("Super bleifrei", 34.0)]


def test_a_mark_after_the_amount_read_as_a_times_sign_or_a_plus_leaves_the_price() -> None:
    assert _priced("""MARKTKAUF
YC CHICKEN TIKKA 3,99 B
SALATBAR 2,42×B
PFAND 0,25×C
2260064603 TROJAN CONDOMS 2.83 +N
SUMME EUR 9,49
""") == [("YC CHICKEN TIKKA", 3.99), ("SALATBAR", 2.42), ("TROJAN CONDOMS", 2.83)]


def test_an_amount_printed_alone_with_no_name_beside_it_is_no_item() -> None:
    assert _priced("""CAFE
Tax Invoice
$69.60
Veggie Burger $14.90
Chicken Supreme $25.90
Amount : 0.01
Tip:
25.00
Total $40.80
""") == [("Veggie Burger", 14.9), ("Chicken Supreme", 25.9)]
    assert _priced("""DINER
PANCAKES
$7.50
TOTAL 7.50
""") == [("PANCAKES", 7.5)]


def test_the_volume_pumped_and_its_price_per_unit_are_no_items() -> None:
    assert _priced("""GAS STATION
Pump 01
UNLEADED REGULAR
Gallons 13.240
Price/g $3.939
FUEL SALE $52.15
Total $52.15
""") == [("FUEL SALE", 52.15)]


def test_a_second_row_repeating_the_one_item_is_its_sum_when_the_total_pays_for_one() -> None:
    assert _priced("""POST OFFICE
Canada - First-Class $3.81
Issue PVI: $3.81
Total: $3.81
""") == [("Canada - First-Class", 3.81)]
    assert _priced("""DINER
2 Breakfast Buffet 38.00
Food 38.00
Tax 2.41
TOTAL 40.41
""") == [("Breakfast Buffet", 38.0)]
    assert _priced("""BUFFET
BUFFET + BEV 32.99
BUFFET + BEV 32.99
Discount 9.90
TOTAL 56.08
""") == [("BUFFET + BEV", 32.99), ("BUFFET + BEV", 32.99)]


def test_a_note_row_under_a_name_row_without_an_amount_carries_the_items_price() -> None:
    assert _priced("""KOHL'S
BOYS8-20 LNG BT 039304109751 9.20 T1
ItemPrice 46.00 YouSave 36.80
B8-20 TOP 789138077879
ItemPrice 32.00 YouSave 25.60 6.40 T1
SUBTOTAL 15.60
""") == [("BOYS8-20 LNG BT", 9.2), ("B8-20 TOP", 6.4)]


def test_a_return_receipt_gives_no_items_returned_goods_leave_the_pantry_alone() -> None:
    assert _priced("""KOHLS
GIRLS7-16 DRESS 885872871558 33.99-A
GIRLS7-16 DRESS 888481966097 33.99-A
SUBTOTAL 67.98-
TOTAL $72.57-
""") == []


@pytest.mark.parametrize("line", ["Serv Chrg @10% 5.50", "SV CHG 10% 8.73", "ServicesCHR 27.00", "Service Chs 11.15"])
def test_a_service_charge_however_abbreviated_is_no_item(line: str) -> None:
    assert _priced(f"""CAFE
Full Platter-E 55.00 S
{line}
GST 06% 3.63
Total: 64.13
""") == [("Full Platter-E", 55.0)]


def test_a_subtotal_printed_as_two_words_that_ocr_garbled_is_no_item() -> None:
    assert classify("Sub Tatal: 159.20") is Kind.SUBTOTAL
    assert classify("TO TAL 4.50") is Kind.TOTAL
    assert classify("SUB SANDWICH 4.50") is Kind.OTHER
    assert _priced("""SHOE SHOP
VLNEO HOOPS LO II 199.00
Sub Tatal: 199.00
Total: 199.00
""") == [("VLNEO HOOPS LO II", 199.0)]


def test_an_offer_row_of_unit_prices_under_an_item_is_no_item() -> None:
    assert _priced("""SUPERMARKET
3 ORANGES (FLORIDA) 0.59 TFW
0.20 EA 5 FOR 0.99
2 GRAPEFRUIT(LARGE) 1.38 TFW
SUBTOTAL 1.97
""") == [("ORANGES (FLORIDA)", 0.59), ("GRAPEFRUIT(LARGE)", 1.38)]
    assert _priced("""GROCER
GRANNY SMITH APPLES
0.81 1b @ 0.99/ 1b 0.80
TOTAL 0.80
""") == [("GRANNY SMITH APPLES", 0.8)]


def test_the_same_item_twice_is_two_purchases_even_when_coupons_pay_for_one() -> None:
    assert _priced("""METRO
CASHM.BATH.TISS 2.99 H
CASHM.BATH.TISS. 2.99 H
BALANCE 2.24
""") == [("CASHM.BATH.TISS", 2.99), ("CASHM.BATH.TISS.", 2.99)]


@pytest.mark.parametrize("line", ["H-HST 13% .26", "GST 6% 1.20", "SGST@9% 4.50", "ДДС 20% 1,20"])
def test_a_sales_tax_abbreviation_with_its_rate_is_a_tax_line(line: str) -> None:
    assert classify(line) is Kind.TAX


@pytest.mark.parametrize("line", ["HEALTHY CA (2%) 0.78", "DIVERS 20% 30.00", "ECHTER RUM 40%VOL. 5,69"])
def test_a_rate_in_a_product_name_is_no_tax(line: str) -> None:
    assert classify(line) is Kind.OTHER


def test_an_amount_alone_under_a_quantity_line_it_matches_is_that_lines_item() -> None:
    assert [(i.price, i.quantity, i.unit_price) for i in parse_text("""SHOP
MILK
2 x 1,29
2,58
BROT 1,99
SUMME 4,57
""").items] == [(2.58, 2.0, 1.29), (1.99, None, None)]


def test_a_half_portion_under_an_item_is_an_item_of_its_own() -> None:
    assert _priced("""PIZZERIA
MARGHERITA 12.00
1/2 6.00
TOTAL 18.00
""") == [("MARGHERITA", 12.0), ("1/2", 6.0)]


def test_amounts_alone_on_rows_next_to_each_other_are_items_whose_names_ocr_lost() -> None:
    assert _priced("""FISH HOUSE
Diet Coca Cola 3.00
7.95
2.00
Add Salmon 5.00
Subtotal 17.95
""") == [("Diet Coca Cola", 3.0), ("7.95", 7.95), ("2.00", 2.0), ("Add Salmon", 5.0)]
