#!/usr/bin/env bash
# Installs the Tesseract language data the local recognizer reads Cyrillic and Thai (and checks
# Latin) receipts with: Debian's tesseract-ocr-<lang> packages. Runs apt-get only as root with
# apt-get present and something missing; otherwise says what to install and exits 0, so the
# service still starts (it falls back to PP-OCR and logs what is missing).
#   scripts/install-ocr.sh          install what is missing
#   scripts/install-ocr.sh --check  only say what is missing
set -uo pipefail
LANGS="eng deu fra spa ita nld por pol ces tur bul ukr rus srp tha osd"
DIRS="${TESSDATA_PREFIX:-} ${TESSDATA_PREFIX:+$TESSDATA_PREFIX/tessdata} /usr/share/tesseract-ocr/5/tessdata /usr/share/tesseract-ocr/4.00/tessdata /usr/share/tessdata"

missing=""
for lang in $LANGS; do
  found=""
  for dir in $DIRS; do
    [ -f "$dir/$lang.traineddata" ] && found=1 && break
  done
  [ -n "$found" ] || missing="$missing tesseract-ocr-$lang"
done
if [ -z "$missing" ]; then
  echo "install-ocr: Tesseract language data present"
  exit 0
fi
if [ "${1:-}" != "--check" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-ocr: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
    exit 0
  fi
  echo "install-ocr: apt-get failed; Cyrillic and Thai receipts will not be read" >&2
  exit 0
fi
echo "install-ocr: missing Tesseract language data; as root run:"
echo "  apt-get update && apt-get install -y$missing"
echo "(without it, Cyrillic and Thai receipts are not read; Latin ones use PP-OCR)"
exit 0
