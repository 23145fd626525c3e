"""Words that mark the non-item lines of a receipt, in the languages the catalog covers.

`*_WORDS` match whole words of a folded line (short or ambiguous words: 'bar' must
not match 'barilla'); `*_PARTS` match anywhere in the line with spaces removed
(long, distinctive words that OCR may glue to their neighbours: 'SUMMEEUR').
"""

from __future__ import annotations

TOTAL_WORDS = frozenset({
    "total", "totaal", "totale", "summe", "sum", "suma", "razem", "gesamt", "gesamtbetrag", "importe",
    "montant", "amount", "balance", "endbetrag", "due", "payer", "zahlen", "pagar", "pagare", "betalen",
    "zaplaty", "zaplacenia", "tot",
})
TOTAL_PARTS = ("total", "summe", "suma", "totaal", "razem", "zuzahlen", "gesamtsumme", "summeeur",
               "totaleur", "totalttc", "netapayer", "apagar",
               "tebetalen", "dozaplaty", "amountdue", "balancedue", "totalapagar", "totaleeuro",
               "totalcomplessivo", "sumapln", "endsumme", "grandtotal", "totalgeral")
SUBTOTAL_WORDS = frozenset({"subtotal", "zwischensumme", "subtotale", "subtotaal", "soustotal", "zwsumme"})
SUBTOTAL_PARTS = ("subtotal", "zwischensumme", "soustotal", "subtotaal")
TAX_WORDS = frozenset({
    "tax", "taxes", "vat", "mwst", "ust", "tva", "iva", "btw", "ptu", "netto", "brutto", "steuer",
    "net", "ht", "ttc", "imponibile", "imposta", "base", "vat%", "sprzedaz", "opodatkowana", "podatek",
})
TAX_PARTS = ("mehrwertsteuer", "salestax", "steuerbetrag", "nettobetrag", "bruttobetrag", "imponibile")
PAYMENT_WORDS = frozenset({
    "cash", "card", "visa", "mastercard", "maestro", "amex", "bar", "bargeld", "gegeben", "ruckgeld",
    "change", "especes", "cb", "carte", "efectivo", "tarjeta", "cambio", "contanti", "carta", "resto",
    "pin", "contant", "wisselgeld", "dinheiro", "troco", "multibanco", "gotowka", "karta", "reszta",
    "paid", "payment", "tendered", "girocard", "ec", "kreditkarte", "bancomat", "pinnen", "betaald",
    "rendu", "paye", "pagado", "pagato", "zaplacono", "wplata", "debit", "credit", "kartenzahlung",
    "entregado", "devolucion", "vuelto",
})
PAYMENT_PARTS = ("ruckgeld", "rueckgeld", "wisselgeld", "mastercard", "girocard", "kartenzahlung",
                 "eckarte", "cartebancaire", "bezahlung")
DISCOUNT_WORDS = frozenset({
    "rabatt", "discount", "savings", "saving", "saved", "remise", "reduction", "descuento", "sconto",
    "korting", "desconto", "rabat", "coupon", "bonus", "payback", "clubcard", "promo",
    "promocja", "aktion", "nachlass", "ahorro", "risparmio", "voordeel", "oszczednosc",
    "promotion", "offerta", "oferta", "kortingsbon", "loyalty", "punkte", "points", "punti", "puntos",
})
DISCOUNT_PARTS = ("preisvorteil", "yousaved", "sietsparen", "ihrevorteil", "rabatt", "discount")
DEPOSIT_WORDS = frozenset({"pfand", "deposit", "consigne", "statiegeld", "kaucja", "leergut", "envase",
                           "vasilhame", "vuoto", "einweg", "mehrweg"})
DEPOSIT_PARTS = ("pfand", "statiegeld", "leergut")
# Header lines that are not the merchant's name.
NOT_MERCHANT_WORDS = frozenset({
    "tel", "phone", "fax", "www", "http", "https", "str", "strasse", "street", "rue", "calle", "via",
    "straat", "rua", "ul", "ulica", "kasse", "bon", "beleg", "receipt", "ticket", "recibo", "scontrino",
    "bonnr", "datum", "date", "fecha", "data", "uhrzeit", "time", "hora", "ora", "tijd", "godz",
    "nip", "ustid", "siret", "cif", "piva", "kvk", "nif", "welcome", "willkommen", "bienvenue",
    "bienvenido", "benvenuto", "welkom", "bemvindo", "witamy", "thank", "danke", "merci", "gracias",
    "grazie", "bedankt", "obrigado", "dziekujemy", "filiale",
    "cashier", "kassierer", "caissier", "cajero", "cassiere", "kassa", "kasjer",
})

# Header-field lexicons (`receipt_header`): phrases in every language the app speaks, matched on
# folded text with spaces and punctuation removed (OCR drops spaces: 'ROUNDEDTOTAL'). Phrases of
# five or more letters, and Thai ones, match anywhere in a line; shorter ones only as whole words.
TOTAL_STRONG = (
    "grand total", "rounded total", "after rounding", "after rnd", "aft rnd", "total after round", "total amt",
    "total amount rm", "total rounded", "round total", "nett total", "net total", "total amount", "total payable",
    "amount payable", "amount due", "balance due", "total due", "total incl", "total gst incl",
    "total gst inclusive", "total inclusive", "total with gst", "total with tax", "incl gst", "inclusive gst",
    "total including", "total rm", "total myr", "total sales incl", "total after", "to pay", "please pay",
    "total to pay", "total inr", "net payable", "bill amount", "zu zahlen", "rechnungssumme", "rechnungsbetrag",
    "gesamtbetrag", "gesamtsumme", "endbetrag", "endsumme", "summe eur", "total eur", "a payer", "net a payer",
    "total ttc", "total a pagar", "importe total", "valor total", "total geral", "valor a pagar",
    "totale complessivo", "totale euro", "totale eur", "da pagare", "te betalen", "totaal te betalen", "do zaplaty",
    "suma pln", "razem pln", "k uhrade", "celkem kc", "celkem czk", "genel toplam", "odenecek tutar",
    "toplam tutar", "итого к оплате", "к оплате", "всего к оплате", "до сплати", "до оплати", "сума до сплати",
    "всичко", "обща сума", "за плащане", "сума за плащане", "укупно", "ukupno", "za uplatu", "ยอดสุทธิ",
    "ยอดรวมสุทธิ", "รวมทั้งสิ้น", "รวมเงิน", "ยอดชำระ", "jumlah besar", "jumlah keseluruhan", "jumlah bayaran",
    "jumlah perlu dibayar",
)
TOTAL_PLAIN = (
    "total", "totaal", "totale", "tot", "ttl", "summe", "suma", "sum", "razem", "gesamt", "betrag", "montant",
    "importe", "amount", "balance", "celkem", "toplam", "tutar", "итого", "итог", "всего", "сума", "сумма", "укупно",
    "разом", "รวม", "ยอดรวม", "jumlah", "amt", "nett", "net amount", "bedrag",
)
NOT_TOTAL = (
    "supplies",
    "sub total", "subtotal", "sub ttl", "zwischensumme", "zw summe", "sous total", "subtotale", "subtotaal",
    "suma czesciowa", "mezisoucet", "ara toplam", "ara tutar", "промежуточный", "проміжна", "междинна", "excl",
    "exclusive", "excluding", "before", "without", "w o gst", "bez dph", "netto", "exkl", "ohne", "hors", "sin iva",
    "senza", "without tax", "total gst", "total tax", "total vat", "total qty", "total quantity", "total item",
    "total items", "total disc", "total discount", "total saving", "total savings", "total points", "total pts",
    "original total", "original price", "total tendered", "total paid", "total before", "total number", "you save",
    "total saved", "included in total", "incl in total", "tax included", "vat included", "gst included",
)
TAX_LINE = (
    "gst", "tax", "vat", "sst", "mwst", "ust", "tva", "iva", "btw", "ptu", "dph", "kdv", "ндс", "пдв", "ддс",
    "ภาษี", "service charge", "svc chg", "service tax", "steuer", "imposta", "podatek", "cgst", "sgst", "igst",
    "cess",
)
CHANGE_LINE = (
    "change", "kembalian", "baki", "ruckgeld", "rueckgeld", "wechselgeld", "rendu", "monnaie", "cambio", "vuelto",
    "resto", "troco", "wisselgeld", "reszta", "vraceno", "vratit", "para ustu", "сдача", "решта", "здача", "кусур",
    "kusur", "ресто", "เงินทอน",
)
TENDERED_LINE = (
    "cash", "tunai", "tendered", "tender", "bar", "gegeben", "especes", "efectivo", "contanti", "contant",
    "dinheiro", "gotowka", "hotove", "hotovost", "nakit", "наличные", "готівка", "в брой", "готовина", "gotovina",
    "เงินสด", "received", "paid", "amount paid", "bezahlt", "pagado", "pagato", "betaald", "zaplacono", "recibido",
    "entregado",
)
CARD_LINE = (
    "card", "visa", "mastercard", "master", "maestro", "amex", "debit", "credit", "girocard", "ec karte",
    "kartenzahlung", "karte", "carte", "tarjeta", "carta", "karta", "kart", "карта", "картка", "บัตร", "upi",
    "paytm", "gpay", "touch n go", "tng", "ewallet", "boost", "grabpay", "nets", "eftpos",
)
ROUNDING_LINE = (
    "rounding", "round adj", "round off", "roundoff", "rnd adj", "adjustment", "adj", "pembundaran", "penggenapan",
    "rundung", "arrondi", "redondeo", "arrotondamento", "afronding", "zaokraglenie", "zaokrouhleni", "yuvarlama",
    "округление", "заокруглення", "закръгляне", "zaokruzivanje", "ปัดเศษ",
)
DISCOUNT_LINE = (
    "discount", "disc", "savings", "saving", "you saved", "you save", "saved", "was", "rabatt", "remise",
    "descuento", "sconto", "korting", "desconto", "rabat", "sleva", "indirim", "скидка", "знижка", "отстъпка",
    "popust", "ส่วนลด", "diskaun", "promo", "coupon", "voucher", "preisvorteil",
)
COUNT_LINE = (
    "points", "point", "pts", "punkte", "item count", "no of items", "qty", "items", "item", "anzahl",
    "artikel", "pcs", "szt", "adet", "шт", "รายการ", "bil", "units", "quantity", "loyalty",
    "member", "balance pts", "bonus",
)
DATE_WORDS = (
    "date", "datum", "fecha", "data", "tarih", "дата", "วันที่", "tarikh", "dated", "dt", "datum:", "date time",
    "bill date", "inv date", "datum prodeje", "data sprzedazy", "fecha emision",
)
NOT_PURCHASE_DATE = (
    "exp", "expiry", "expires", "valid", "gultig", "bis", "due", "mhd", "vence", "vencimiento", "scadenza",
    "geldig", "waznosc", "wazny", "platnost", "son kullanma", "годен", "срок", "дійсний", "валиден", "warranty",
    "garantie", "garantia", "best before", "use by", "until", "return by", "ablauf",
)
LEGAL_FORMS = (
    "sdn bhd", "sdn bnd", "bhd", "berhad", "s b", "enterprise", "trading", "gmbh", "ag", "ohg", "e k", "ltd",
    "limited", "llc", "inc", "corp", "co", "plc", "pvt", "s a", "sa", "s l", "sl", "s r l", "srl", "spa", "s p a",
    "sas", "sarl", "bv", "b v", "nv", "n v", "sp z o o", "spzoo", "sp j", "s r o", "sro", "a s", "ooo", "ооо",
    "оао", "зао", "пао", "ао", "тов", "фоп", "пп", "еоод", "оод", "ад", "ет", "doo", "d o o", "д о о", "ltda",
    "lda", "ab", "oy", "บริษัท", "จำกัด", "หจก",
)
BUSINESS_NOUNS = (
    "company", "restaurant", "restoran", "cafe", "store", "market", "mart", "supermarket", "shop", "pharmacy",
    "bakery", "markt", "apotheke", "kedai", "pasaraya", "hardware", "stationery", "bookstore", "hypermarket",
    "supermercado", "boulangerie", "backerei", "drogerie", "tankstelle", "magazin", "sklep", "магазин", "аптека",
    "ресторан", "кафе", "eczane", "lokanta", "ร้าน",
)
NOT_MERCHANT = (
    "store number", "customer", "vendeur", "server", "guest", "served by", "host",
    "owned by", "dimiliki oleh", "formerly known", "licensee of", "operated by", "a member of", "franchisee",
    "tel", "phone", "fax", "www", "http", "email", "e mail", "mail", "gst", "gst id", "gst no", "gst reg", "reg no",
    "co reg", "company no", "roc", "sst", "tax invoice", "invoice", "simplified", "receipt", "official receipt",
    "cash bill", "cash sale", "bill", "rechnung", "kassenbon", "beleg", "bon", "quittung", "paragon", "fiskalny",
    "uctenka", "doklad", "fis", "fatura", "makbuz", "чек", "касов", "фискален", "квитанция", "квитанція",
    "фіскальний", "racun", "рачун", "ใบเสร็จ", "ใบกำกับ", "resit", "factura", "ticket", "recibo", "scontrino",
    "fattura", "kvittering", "bonnr", "welcome", "willkommen", "bienvenue", "bienvenido", "benvenuto", "welkom",
    "witamy", "vitejte", "hos geldiniz", "добро", "ласкаво", "thank", "danke", "merci", "gracias", "grazie",
    "bedankt", "obrigado", "dziekujemy", "dekujeme", "tesekkur", "спасибо", "дякуємо", "благодарим", "ขอบคุณ",
    "terima kasih", "cashier", "kassierer", "kasse", "caissier", "cajero", "cassiere", "kasjer", "pokladna",
    "kasiyer", "касир", "кассир", "nip", "ustid", "ust id", "steuer nr", "st nr", "siret", "cif", "nif", "piva",
    "p iva", "kvk", "ico", "dic", "vkn", "инн", "ипн", "єдрпоу", "еик", "pib", "jalan", "jln", "lorong", "taman",
    "street", "road", "avenue", "str", "strasse", "rue", "calle", "via", "straat", "rua", "ul", "ulica", "ulice",
    "cad", "sok", "mah", "ул", "вул", "бул", "thanon", "ถนน", "no", "lot", "date", "time", "datum", "uhrzeit",
    "table", "pax", "order", "server", "document", "doc no", "member", "copy",
)
# Company forms and place names that only one currency area prints (used when no code or symbol was read,
# or only a bare '$').
CURRENCY_HINTS = {
    "MYR": ("sdn bhd", "sdn bnd", "berhad", "malaysia", "jalan", "selangor", "kuala lumpur", "johor",
            "penang", "pulau pinang", "melaka", "petaling jaya", "shah alam", "ipoh", "sabah", "sarawak",
            "kedah", "perak", "pahang", "negeri sembilan", "terengganu", "kelantan", "putrajaya", "cyberjaya",
            "ringgit"),
    "PLN": ("sp z o o", "spzoo", "sp j", "sp k", "polska", "ptu", "paragon fiskalny"),
    "CZK": ("s r o", "ceska republika", "dph", "uctenka", "eet"),
    "TRY": ("a s", "ltd sti", "turkiye", "kdv", "fis no"),
    "RUB": ("ооо", "оао", "зао", "пао", "россия", "инн", "кассовый чек"),
    "UAH": ("тов", "фоп", "україна", "пдв", "фіскальний"),
    "BGN": ("еоод", "оод", "българия", "ддс", "касов бон"),
    "RSD": ("d o o", "д о о", "srbija", "србија", "pib", "пиб"),
    "THB": ("บริษัท", "จำกัด", "ประเทศไทย", "เลขประจำตัวผู้เสียภาษี"),
    "INR": ("pvt ltd", "gstin", "cgst", "sgst", "igst", "india"),
}
SUBTOTAL_LINE = (
    "sub total", "subtotal", "sub ttl", "zwischensumme", "zw summe", "sous total", "subtotale", "subtotaal",
    "suma czesciowa", "mezisoucet", "ara toplam", "ara tutar", "промежуточный итог", "проміжний підсумок",
    "междинна сума", "medjuzbir", "meduzbir", "jumlah kecil", "ยอดรวมย่อย",
)
# Words of a street address (beside a postcode or a house number, they mark the shop's address lines).
ADDRESS_WORDS = (
    "jalan", "jln", "lorong", "taman", "persiaran", "lebuh", "bandar", "seksyen", "kampung", "street", "road",
    "avenue", "ave", "blvd", "boulevard", "lane", "drive", "plaza", "floor", "mall", "str", "strasse", "weg",
    "platz", "allee", "rue", "avenue", "calle", "avenida", "plaza", "via", "viale", "piazza", "straat", "laan",
    "plein", "rua", "ulica", "ul", "aleja", "ulice", "namesti", "cadde", "sokak", "mahalle", "mah", "ул",
    "улица", "проспект", "пр", "вул", "вулиця", "бул", "булевард", "thanon", "ถนน", "ซอย", "แขวง", "เขต",
)
# Lines that end the address block under the shop's name.
NOT_ADDRESS = (
    "tel", "phone", "fax", "www", "http", "email", "gst", "sst", "reg no", "co reg", "company no", "roc",
    "tax invoice", "invoice", "receipt", "cash bill", "bill", "rechnung", "beleg", "bon", "paragon", "uctenka",
    "fis", "чек", "касов", "ใบเสร็จ", "ticket", "recibo", "scontrino", "factura", "date", "datum", "time",
    "cashier", "kasse", "table", "order", "document", "ustid", "ust id", "steuer nr", "st nr", "nip", "nif",
    "cif", "vat", "mwst", "welcome", "willkommen", "thank", "danke", "opening", "offnungszeiten", "hours",
)
