-- foodai 0005: products known by barcode (EAN-13 form), so one code is looked up once.
-- Rows come from Open Food Facts lookups (including "not found" answers, found = false,
-- so a miss is not asked again) and from users naming a scanned product (source 'user',
-- which later lookups never overwrite). catalog_key names our catalog item when known.
CREATE TABLE barcode_products (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{8,14}$'),
    source text NOT NULL CHECK (source IN ('openfoodfacts', 'user')),
    found boolean NOT NULL,
    name text,
    brand text,
    catalog_key text,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
