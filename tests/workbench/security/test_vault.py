"""Field encryption (AES-GCM, key id inside each value, record-bound) and blind indexes."""

from __future__ import annotations

import pytest

from tests.customers_data import CUSTOMERS, customer_row, feed, headers_of
from workbench.security.vault import BlindIndex, DecryptionError, FieldCipher, Vault, key_id
from workbench.settings import DataKey

OLD = DataKey("data-1", b"1" * 32)
NEW = DataKey("data-2", b"2" * 32)
AAD = "customer.phone:C-1"


def test_round_trip_and_fresh_nonce_every_time():
    cipher = FieldCipher((OLD,))
    sealed = cipher.encrypt("13812345678", aad=AAD)
    assert cipher.decrypt(sealed, aad=AAD) == "13812345678"
    assert b"13812345678" not in sealed
    again = cipher.encrypt("13812345678", aad=AAD)
    assert again != sealed  # equal plaintexts do not give equal ciphertexts
    assert cipher.decrypt(again, aad=AAD) == "13812345678"
    assert key_id(sealed) == "data-1"
    chinese = cipher.encrypt("欧阳娜娜", aad="customer.name:C-1")
    assert "欧阳娜娜".encode() not in chinese
    assert cipher.decrypt(chinese, aad="customer.name:C-1") == "欧阳娜娜"
    assert cipher.decrypt(cipher.encrypt("", aad=AAD), aad=AAD) == ""


@pytest.mark.parametrize(
    "other_aad",
    [
        "customer.phone:C-2",  # another customer's record
        "customer.id_number:C-1",  # another column of the same record
        "customer.phone:C-1 ",
        "",
    ],
)
def test_ciphertext_is_bound_to_its_record_and_field(other_aad):
    cipher = FieldCipher((OLD,))
    sealed = cipher.encrypt("13812345678", aad=AAD)
    with pytest.raises(DecryptionError):
        cipher.decrypt(sealed, aad=other_aad)


def test_tampering_is_detected():
    cipher = FieldCipher((OLD,))
    sealed = cipher.encrypt("13812345678", aad=AAD)
    for position in (len(sealed) - 1, len(sealed) - 20, 2 + len("data-1") + 3):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            cipher.decrypt(bytes(tampered), aad=AAD)
    with pytest.raises(DecryptionError):
        cipher.decrypt(sealed[:-1], aad=AAD)
    with pytest.raises(DecryptionError):
        cipher.decrypt(sealed[:20], aad=AAD)
    with pytest.raises(DecryptionError):
        cipher.decrypt(b"\x02" + sealed[1:], aad=AAD)  # unknown format
    with pytest.raises(DecryptionError):
        cipher.decrypt(b"", aad=AAD)


def test_a_value_under_one_key_id_does_not_decrypt_under_another_key():
    # Same kid, different key material (e.g. a wrongly restored key): refused, not garbage.
    sealed = FieldCipher((OLD,)).encrypt("13812345678", aad=AAD)
    impostor = FieldCipher((DataKey("data-1", b"9" * 32),))
    with pytest.raises(DecryptionError):
        impostor.decrypt(sealed, aad=AAD)


def test_key_rotation_old_values_still_decrypt_with_the_old_key_configured():
    before = FieldCipher((OLD,))
    old_value = before.encrypt("11010519491231002X", aad=AAD)

    rotated = FieldCipher((NEW, OLD))
    assert rotated.current_kid == "data-2"
    assert rotated.decrypt(old_value, aad=AAD) == "11010519491231002X"
    assert rotated.needs_rotation(old_value)
    new_value = rotated.encrypt("11010519491231002X", aad=AAD)
    assert key_id(new_value) == "data-2"
    assert not rotated.needs_rotation(new_value)

    only_new = FieldCipher((NEW,))
    assert only_new.decrypt(new_value, aad=AAD) == "11010519491231002X"
    with pytest.raises(DecryptionError):
        only_new.decrypt(old_value, aad=AAD)
    # The old key alone cannot read what the new key wrote.
    with pytest.raises(DecryptionError):
        before.decrypt(new_value, aad=AAD)
    assert not before.needs_rotation(old_value)
    assert before.needs_rotation(new_value)


def test_a_cipher_needs_a_key():
    with pytest.raises(ValueError, match="key"):
        FieldCipher(())


def test_blind_index_is_stable_purpose_separated_and_key_dependent():
    index = BlindIndex(b"b" * 32)
    first = index("phone", "13812345678")
    assert first == index("phone", "13812345678")
    assert first == BlindIndex(b"b" * 32)("phone", "13812345678")  # another process, same key
    assert len(first) == 16
    assert b"13812345678" not in first
    assert index("phone", "13812345679") != first
    # The same text under another purpose is another index: a name never matches a phone.
    assert index("name", "13812345678") != first
    assert index("name", "张") != index("surname", "张")
    # Purpose and value cannot be shifted into each other through the separator.
    assert index("phone", "x") != index("phon", "ex")
    # Without the key the index cannot be recomputed (or brute-forced).
    assert BlindIndex(b"c" * 32)("phone", "13812345678") != first


def test_vault_from_settings_uses_the_first_key_and_the_blind_index_key():
    vault = Vault.from_settings((NEW, OLD), b"b" * 32)
    assert vault.cipher.current_kid == "data-2"
    assert key_id(vault.cipher.encrypt("x", aad=AAD)) == "data-2"
    assert vault.blind_index("phone", "13812345678") == BlindIndex(b"b" * 32)(
        "phone", "13812345678"
    )


@pytest.mark.usefixtures("demo_bank")
async def test_after_rotation_the_api_still_reads_old_values_and_writes_new_ones(make_client, db):
    before = await make_client()  # data-1 only (the test settings)
    admin = await headers_of(before, "admin")
    rows = [customer_row("ROT-1", name="张小三", mobile="13812345678", seq=1)]
    await feed(before, admin, "customers", rows)
    assert key_id(bytes(await db.fetchval("select name_enc from customers"))) == "data-1"

    rotated = await make_client(
        data_keys=(DataKey("data-2", b"2" * 32), DataKey("data-1", b"d" * 32))
    )
    rm01 = await headers_of(rotated, "rm01")
    listed = (await rotated.get(CUSTOMERS, params={"q": "13812345678"}, headers=rm01)).json()
    assert [(c["name"], c["phone"]) for c in listed["items"]] == [("张*三", "138****5678")]
    # Blind indexes do not depend on the data key: the same feed is still "unchanged" ...
    admin = await headers_of(rotated, "admin", device_no="admin-2")
    assert (await feed(rotated, admin, "customers", rows))["unchanged"] == 1
    # ... and new values are written under the new key.
    await feed(rotated, admin, "customers", [customer_row("ROT-2", name="李四", seq=2)])
    new_blob = await db.fetchval("select name_enc from customers where external_id = 'ROT-2'")
    assert key_id(bytes(new_blob)) == "data-2"
