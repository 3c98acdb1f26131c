"""What a brochure version says, and the hash an approval is bound to.

The content is everything an RM presents: title, product, talk track, tags and the page images
(by the SHA-256 of each normalised image, in order). Its hash is taken over a canonical encoding,
so a save that changes nothing keeps the hash (and the approval), and a one-byte change in any
part, a page image included, gives another hash (and voids the approval).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import msgspec


@dataclass(frozen=True)
class Content:
    title: str
    product_code: str
    talk_track: str
    tags: tuple[str, ...]
    pages: tuple[bytes, ...]  # SHA-256 of each page's image, in page order

    @classmethod
    def of(
        cls, *, title: str, product_code: str, talk_track: str, tags: list[str], pages: list[bytes]
    ) -> Content:
        """Normalised as stored: trimmed NFC text, tags without duplicates, in order given."""
        clean_tags = list(dict.fromkeys(_text(t) for t in tags if _text(t)))
        return cls(
            title=_text(title),
            product_code=product_code.strip(),
            talk_track=unicodedata.normalize("NFC", talk_track).strip(),
            tags=tuple(clean_tags),
            pages=tuple(pages),
        )

    def digest(self) -> bytes:
        canonical = msgspec.json.encode(
            {
                "title": self.title,
                "product_code": self.product_code,
                "talk_track": self.talk_track,
                "tags": sorted(self.tags),
                "pages": [page.hex() for page in self.pages],
            }
        )
        return hashlib.sha256(canonical).digest()


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()
