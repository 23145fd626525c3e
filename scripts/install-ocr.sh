#!/usr/bin/env bash
# Installs what the local recognizer and the generated receipts need from Debian's packages:
# Tesseract's language data (tesseract-ocr-<lang>: Cyrillic and Thai receipts are read with it) and
# the fonts the generated corpus draws Latin, Cyrillic (DejaVu) and Thai (TLWG) receipts with.
# Runs apt-get only as root with apt-get present and something missing; otherwise says what to
# install and exits 0, so the service still starts (it falls back to PP-OCR and logs what is missing).
# Silent when everything is there.
#   scripts/install-ocr.sh          install what is missing
#   scripts/install-ocr.sh --check  only say what is missing
set -uo pipefail
LANGS="eng deu fra spa ita nld por pol ces tur bul ukr rus srp tha osd"
DIRS="${TESSDATA_PREFIX:-} ${TESSDATA_PREFIX:+$TESSDATA_PREFIX/tessdata} /usr/share/tesseract-ocr/5/tessdata /usr/share/tesseract-ocr/4.00/tessdata /usr/share/tessdata"
# package:file pairs for the corpus fonts
FONTS="fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
fonts-tlwg-typo-ttf:/usr/share/fonts/truetype/tlwg/TlwgTypo.ttf
fonts-tlwg-garuda-ttf:/usr/share/fonts/truetype/tlwg/Garuda.ttf"

missing=""
for lang in $LANGS; do
  found=""
  for dir in $DIRS; do
    [ -f "$dir/$lang.traineddata" ] && found=1 && break
  done
  [ -n "$found" ] || missing="$missing tesseract-ocr-$lang"
done
for pair in $FONTS; do
  [ -f "${pair#*:}" ] || missing="$missing ${pair%%:*}"
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" != "--check" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-ocr: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
    exit 0
  fi
  echo "install-ocr: apt-get failed; Cyrillic and Thai receipts will not be read" >&2
  exit 0
fi
echo "install-ocr: missing Debian packages; as root run:"
echo "  apt-get update && apt-get install -y$missing"
echo "(without the tesseract-ocr-* data, Cyrillic and Thai receipts are not read and Latin ones use PP-OCR alone;"
echo " without the fonts, the generated Cyrillic and Thai receipts cannot be drawn)"
exit 0
