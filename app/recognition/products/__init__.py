"""Product photos: image model, regions of a pile, barcodes, and matching to the catalog.

The one entry point is `recognize_products(image, boxes, lang=...)`; `off` holds the optional
Open Food Facts lookup and its PostgreSQL cache. Heavy libraries (onnxruntime, OpenCV,
zxing-cpp) load on first use, never at import.
"""

from app.recognition.products.recognize import recognize_products

__all__ = ["recognize_products"]
