"""A response's answers as staff see them, in the answers found by a word and in the export
rows: its text answers with long numbers masked, and who answered (a customer's masked name;
staff stay anonymous)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from mobile_contracts.v1.identity import Role
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import mask_long_numbers, masked_for
from workbench.security.vault import FieldCipher
from workbench.surveys.submission import texts_aad  # how submissions encrypt texts

STAFF = "员工（匿名）"


def open_texts(cipher: FieldCipher, response_id: uuid.UUID, blob: bytes | None) -> dict[str, str]:
    """A response's text answers by question key, as shown to staff: long numbers masked (a
    phone or ID number typed into a comment; `mask_long_numbers`, as the app's snippets are);
    {} when it has none or they cannot be read. Term search reads the stored terms, so it still
    finds what was typed."""
    if not blob:
        return {}
    plain = cipher.decrypt_or_none(
        blob, aad=texts_aad(response_id), column="survey_responses.texts_enc", row=response_id
    )
    if plain is None:
        return {}
    try:
        texts = msgspec.json.decode(plain, type=dict[str, str])
    except msgspec.DecodeError:
        return {}
    return {key: mask_long_numbers(text) for key, text in texts.items()}


def respondent(cipher: FieldCipher, role: Role, row: Any) -> str:
    """Who answered, as this role may see it: a customer's masked name; staff stay anonymous."""
    if row["user_id"] is not None or row["name_enc"] is None:
        return STAFF
    name = cipher.decrypt_or_none(
        row["name_enc"], aad=personal_data_aad("name", row["external_id"]),
        column="customers.name_enc", row=row["external_id"],
    )  # fmt: skip
    if name is None:
        return "*"
    return masked_for(role, name=name, phone="", id_number="")[0]
