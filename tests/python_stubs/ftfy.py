"""Test stand-in for ftfy: fix_text as ftfy's default fixes for text without mojibake (Unicode
NFC, Latin ligatures spelled out, full-width ASCII made half-width, curly quotes straightened),
the same subset model/clip_tokenizer.ts ports."""

import re
import unicodedata


def fix_text(text, **kwargs):
    t = unicodedata.normalize("NFC", text)
    t = re.sub("[\ufb00-\ufb06]", lambda m: unicodedata.normalize("NFKC", m.group(0)), t)
    t = re.sub("[\uff01-\uff5e]", lambda m: chr(ord(m.group(0)) - 0xFEE0), t).replace("\u3000", " ")
    t = re.sub("[\u2018\u2019\u201a\u201b]", "'", t)
    t = re.sub("[\u201c\u201d\u201e\u201f]", '"', t)
    return t
