"""How tills print in each locale of the generated corpus, grouped by script.

`LOCALES` are the nine locales of the original corpus, in their original order: `generate(seed)`
without a script draws from them, so existing seeds keep their receipts. `SCRIPTS` groups every
locale (those nine, plus cs, tr, en-IN, ru, uk, bg, sr and th) by the script its item names are
printed in, for the per-script sets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Locale:
    """How one country's tills print: words, number and date format, currency.

    The fields after `street` have defaults that reproduce the original nine locales; the newer
    locales use them for currency marks around the total, local unit words, price levels, tax
    rates and a Buddhist-era year.
    """

    lang: str
    currency: str
    decimal: str
    date_format: str
    total: str
    tax: str
    payment: str
    change: str
    merchants: tuple[str, ...]
    street: str
    script: str = "latin"
    money: tuple[str, ...] = ()  # formats for the total's amount, one drawn per receipt ('{} Kč'); () prints it bare
    kg: str = "kg"  # the weight unit on weighed lines
    per_kg: str = ""  # the currency mark of a unit price per kg; '' prints the ISO code
    units: tuple[str, str, str] = ("G", "KG", "L")  # how pack sizes spell grams, kilograms and litres
    price_scale: float = 1.0  # item prices are drawn in 0.39..9.99 times this
    tax_rate: int = 0  # 0: the original table by currency
    buddhist_year: bool = False  # Thai tills often print the year of the Buddhist era (CE + 543)


LOCALES = (
    Locale("de", "EUR", ",", "%d.%m.%Y", "SUMME EUR", "MwSt", "Geg. BAR", "Rueckgeld",
           ("FRISCHMARKT Berlin", "Edeka Nord", "Bio Laden Sonnenschein"), "Hauptstr. 12, 10115 Berlin"),
    Locale("en", "GBP", ".", "%d/%m/%Y", "TOTAL GBP", "VAT", "CASH", "CHANGE",
           ("Corner Grocer", "Greenfield Foods", "Market Street Stores"), "12 High Street, Leeds"),
    Locale("en", "USD", ".", "%m/%d/%Y", "TOTAL USD", "SALES TAX", "CASH", "CHANGE",
           ("Fresh Mart", "Sunny Side Market", "Pine Valley Grocery"), "455 Main St, Springfield"),
    Locale("fr", "EUR", ",", "%d/%m/%Y", "TOTAL EUR", "TVA", "ESPECES", "RENDU",
           ("Marche Central", "Epicerie du Coin", "Primeurs de Lyon"), "8 rue de la Paix, Lyon"),
    Locale("es", "EUR", ",", "%d/%m/%Y", "TOTAL EUR", "IVA", "EFECTIVO", "CAMBIO",
           ("Supermercado Sol", "Mercado Central", "Fruteria La Huerta"), "Calle Mayor 5, Madrid"),
    Locale("it", "EUR", ",", "%d/%m/%Y", "TOTALE EUR", "IVA", "CONTANTI", "RESTO",
           ("Alimentari Rossi", "Supermercato Verde", "Mercato Fresco"), "Via Roma 21, Milano"),
    Locale("nl", "EUR", ",", "%d-%m-%Y", "TOTAAL EUR", "BTW", "CONTANT", "WISSELGELD",
           ("Buurtsuper De Hoek", "Versmarkt Utrecht", "Groenteman Jansen"), "Dorpsstraat 3, Utrecht"),
    Locale("pt", "EUR", ",", "%d-%m-%Y", "TOTAL EUR", "IVA", "DINHEIRO", "TROCO",
           ("Mercearia Lisboa", "Supermercado Atlantico", "Frutaria Central"), "Rua Augusta 40, Lisboa"),
    Locale("pl", "PLN", ",", "%Y-%m-%d", "SUMA PLN", "PTU", "GOTOWKA", "RESZTA",
           ("Sklep Spozywczy Ania", "Market Pod Lipami", "Delikatesy Centrum"), "ul. Dluga 7, Krakow"),
)

MORE_LATIN = (
    Locale("cs", "CZK", ",", "%d.%m.%Y", "CELKEM", "DPH", "HOTOVOST", "VRÁCENO",
           ("Potraviny U Nádraží", "Večerka Vinohrady", "Zelenina Brno"), "Vinohradská 12, Praha 2",
           money=("{} Kč", "{} CZK"), per_kg="Kč", price_scale=25.0, tax_rate=12),
    Locale("tr", "TRY", ",", "%d.%m.%Y", "TOPLAM", "KDV", "NAKİT", "PARA ÜSTÜ",
           ("Öz Bakkal", "Yeşil Market", "Anadolu Gıda"), "Atatürk Cad. No:12, Ankara",
           money=("₺{}", "{} TL", "*{} TL"), per_kg="TL", price_scale=30.0, tax_rate=10),
    Locale("en-IN", "INR", ".", "%d/%m/%Y", "TOTAL", "GST", "CASH", "CHANGE",
           ("Sri Lakshmi Stores", "Fresh Basket Mart", "Annapurna Provisions"), "12 MG Road, Bengaluru",
           money=("₹{}", "Rs. {}", "₹ {}"), per_kg="Rs", price_scale=60.0, tax_rate=5),
)

CYRILLIC = (
    Locale("ru", "RUB", ".", "%d.%m.%Y", "ИТОГ", "НДС", "НАЛИЧНЫМИ", "СДАЧА",
           ("Продукты у дома", "Магазин Ромашка", "Гастроном Центральный"), "ул. Ленина, 15, Москва",
           script="cyrillic", money=("={} ₽", "{} руб.", "≡{} руб"), kg="кг", per_kg="руб",
           units=("Г", "КГ", "Л"), price_scale=80.0, tax_rate=10),
    Locale("uk", "UAH", ".", "%d.%m.%Y", "СУМА", "ПДВ", "ГОТІВКА", "РЕШТА",
           ("Продукти Київ", "Магазин Сонечко", "Гастроном Хрещатик"), "вул. Шевченка, 10, Київ",
           script="cyrillic", money=("{} грн", "{} ГРН"), kg="кг", per_kg="грн",
           units=("Г", "КГ", "Л"), price_scale=25.0, tax_rate=20),
    Locale("bg", "BGN", ".", "%d.%m.%Y", "ОБЩА СУМА", "ДДС", "В БРОЙ", "РЕСТО",
           ("Магазин Здраве", "Хранителни стоки Вита", "Супермаркет Родина"), "ул. Витоша 22, София",
           script="cyrillic", money=("{} лв", "{} лв."), kg="кг", per_kg="лв",
           units=("Г", "КГ", "Л"), price_scale=2.0, tax_rate=20),
    Locale("sr", "RSD", ",", "%d.%m.%Y.", "УКУПНО", "ПДВ", "ГОТОВИНА", "ПОВРАЋАЈ",
           ("Продавница Код Милана", "Маркет Нови Сад", "Пекара и маркет Зора"), "Кнеза Михаила 5, Београд",
           script="cyrillic", money=("{} дин", "{} дин."), kg="кг", per_kg="дин",
           units=("Г", "КГ", "Л"), price_scale=120.0, tax_rate=10),
)

THAI = (
    Locale("th", "THB", ".", "%d/%m/%Y", "รวมทั้งสิ้น", "ภาษีมูลค่าเพิ่ม", "เงินสด", "เงินทอน",
           ("ร้านสะดวกซื้อ ศรีสุข", "มินิมาร์ท บ้านสวน", "ตลาดสด ร่มเย็น"), "123 ถ.สุขุมวิท กรุงเทพฯ",
           script="thai", money=("{} บาท", "฿{}"), kg="กก.", per_kg="บาท",
           units=("กรัม", "กก.", "ลิตร"), price_scale=25.0, tax_rate=7, buddhist_year=True),
)

SCRIPTS: dict[str, tuple[Locale, ...]] = {"latin": LOCALES + MORE_LATIN, "cyrillic": CYRILLIC, "thai": THAI}
