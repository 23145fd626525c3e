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
