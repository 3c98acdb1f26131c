"""Submitting a task form: every field type with good and bad values, and the photos and
signatures uploaded for it (cleaned, watermarked; non-images and bombs refused)."""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageStat

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import (
    EVERY_TYPE_FIELDS,
    TASKS,
    attach,
    create_template,
    field,
    image_bytes,
    issue,
    issue_tasks,
    stored_answers,
    task_state,
    upload,
)

pytestmark = pytest.mark.usefixtures("demo_bank")


@dataclass
class Setup:
    client: Any
    db: Any
    rm01: dict[str, str]
    task: uuid.UUID  # rm01's, in progress, form EVERY_TYPE_FIELDS
    other_task: uuid.UUID  # another of rm01's tasks, in progress, same form
    own_customer: uuid.UUID  # rm01's
    foreign_customer: uuid.UUID  # rm02's


@pytest.fixture
async def setup(client, db) -> Setup:
    admin = await headers_of(client, "admin")
    await feed(
        client,
        admin,
        "customers",
        [
            customer_row("C-1", name="张小三", owner="rm01", seq=1),
            customer_row("C-2", name="李四", owner="rm02", seq=2),
        ],
    )
    ids = await customer_ids(db)
    template = await create_template(client, admin, *EVERY_TYPE_FIELDS, name="Every type")
    first = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    second = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    for task_id in (first, second):
        started = await client.post(f"{TASKS}/{task_id}/start", headers=rm01)
        assert started.status_code == 200, started.text
    return Setup(client, db, rm01, first, second, ids["C-1"], ids["C-2"])


async def submit(s: Setup, values: Any, task_id: uuid.UUID | None = None) -> Any:
    return await s.client.post(
        f"{TASKS}/{task_id or s.task}/submit", json={"values": values}, headers=s.rm01
    )


async def assert_refused(s: Setup, values: Any, paths: list[str]) -> list[dict[str, str]]:
    """The submission is refused with exactly these paths, and the task is unchanged."""
    before = await task_state(s.db, s.task)
    response = await submit(s, values)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "task.invalid_submission"
    assert sorted(e["path"] for e in problem["errors"]) == sorted(paths), problem["errors"]
    after = await task_state(s.db, s.task)
    assert after == before
    assert after["status"] == "in_progress"
    assert after["form_values"] is None
    assert after["form_values_enc"] is None
    errors: list[dict[str, str]] = problem["errors"]
    return errors


# ---- good values ------------------------------------------------------------------------------


async def test_good_values_of_every_type_are_stored(setup, settings):
    s = setup
    photos = [await attach(s.client, s.rm01, s.task) for _ in range(2)]
    signature = await attach(s.client, s.rm01, s.task, kind="signature")
    values = {
        "notes": "ten chars!",  # exactly max_length
        "amount": 100,  # exactly max
        "visit_date": "2026-02-28",
        "outcome": "later",
        "products": ["bond", "fund"],
        "photos": photos,
        "place": {"lat": 39.9042, "lng": 116.4074},
        "signature": signature,
        "referral": str(s.own_customer).upper(),
    }
    response = await submit(s, values)
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["status"] == "done"
    stored = {**values, "referral": str(s.own_customer)}
    assert task["values"] == stored
    assert await stored_answers(s.db, settings, s.task) == stored


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"notes": "", "products": [], "photos": [], "amount": None},  # empty = not answered
        {"amount": 1},
        {"amount": 37.5},
        {"place": {"lat": -90, "lng": 180}},
        {"place": {"lat": 90.0, "lng": -180.0}},
        {"products": ["deposit"]},
        {"visit_date": "2024-02-29"},
    ],
    ids=["nothing", "empty values", "min", "float", "edge 1", "edge 2", "one option", "leap"],
)
async def test_optional_and_boundary_values_pass(setup, values):
    response = await submit(setup, values)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"


# ---- bad values -------------------------------------------------------------------------------

BAD_VALUES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "text too long": ({"notes": "eleven char"}, ["$.values.notes"]),
    "text not a string": ({"notes": 12}, ["$.values.notes"]),
    "text a list": ({"notes": ["a"]}, ["$.values.notes"]),
    "number below min": ({"amount": 0.5}, ["$.values.amount"]),
    "number above max": ({"amount": 101}, ["$.values.amount"]),
    "number a bool": ({"amount": True}, ["$.values.amount"]),
    "number a string": ({"amount": "5"}, ["$.values.amount"]),
    "number an object": ({"amount": {"value": 5}}, ["$.values.amount"]),
    "number too large for a float": ({"amount": 10**400}, ["$.values.amount"]),
    "number a huge negative": ({"amount": -(10**400)}, ["$.values.amount"]),
    "date day out of range": ({"visit_date": "2026-02-30"}, ["$.values.visit_date"]),
    "date month 13": ({"visit_date": "2026-13-01"}, ["$.values.visit_date"]),
    "date dd/mm/yyyy": ({"visit_date": "22/11/2026"}, ["$.values.visit_date"]),
    "date with a time": ({"visit_date": "2026-11-22T10:00"}, ["$.values.visit_date"]),
    "date unpadded": ({"visit_date": "2026-1-5"}, ["$.values.visit_date"]),
    "date a word": ({"visit_date": "tomorrow"}, ["$.values.visit_date"]),
    "date a number": ({"visit_date": 20261122}, ["$.values.visit_date"]),
    "choice not an option": ({"outcome": "maybe"}, ["$.values.outcome"]),
    "choice wrong case": ({"outcome": "YES"}, ["$.values.outcome"]),
    "choice a list": ({"outcome": ["yes"]}, ["$.values.outcome"]),
    "multi_choice non-option": ({"products": ["fund", "gold"]}, ["$.values.products"]),
    "multi_choice repeated": ({"products": ["fund", "bond", "fund"]}, ["$.values.products"]),
    "multi_choice not a list": ({"products": "fund"}, ["$.values.products"]),
    "multi_choice objects": ({"products": [{"fund": 1}]}, ["$.values.products"]),
    "location lat out of range": ({"place": {"lat": 90.5, "lng": 0}}, ["$.values.place"]),
    "location lng out of range": ({"place": {"lat": 0, "lng": -180.1}}, ["$.values.place"]),
    "location missing lng": ({"place": {"lat": 39.9}}, ["$.values.place"]),
    "location strings": ({"place": {"lat": "39.9", "lng": "116.4"}}, ["$.values.place"]),
    "location bools": ({"place": {"lat": True, "lng": False}}, ["$.values.place"]),
    "location a list": ({"place": [39.9, 116.4]}, ["$.values.place"]),
    "photo not a uuid": ({"photos": ["not-a-uuid"]}, ["$.values.photos"]),
    "photo a number": ({"photos": 5}, ["$.values.photos"]),
    "photo unknown id": ({"photos": [str(uuid.uuid4())]}, ["$.values.photos"]),
    "signature not a uuid": ({"signature": "scribble"}, ["$.values.signature"]),
    "signature unknown id": ({"signature": str(uuid.uuid4())}, ["$.values.signature"]),
    "customer not a uuid": ({"referral": "C-1"}, ["$.values.referral"]),
    "customer random uuid": ({"referral": str(uuid.uuid4())}, ["$.values.referral"]),
    "customer an object": ({"referral": {"id": 1}}, ["$.values.referral"]),
    "unknown key": ({"notes": "ok", "colour": "red"}, ["$.values.colour"]),
    "several at once": (
        {"notes": 1, "amount": 1000, "outcome": "maybe", "bogus": True, "place": {}},
        [
            "$.values.notes",
            "$.values.amount",
            "$.values.outcome",
            "$.values.bogus",
            "$.values.place",
        ],
    ),
}


@pytest.mark.parametrize("case", BAD_VALUES, ids=list(BAD_VALUES))
async def test_bad_values_are_refused_per_field_and_nothing_is_stored(setup, case):
    values, paths = BAD_VALUES[case]
    await assert_refused(setup, values, paths)


async def test_unknown_keys_are_named_in_the_error(setup):
    errors = await assert_refused(setup, {"Notes": "x"}, ["$.values.Notes"])
    assert errors[0]["message"] == "not a field of this form"


async def test_thousands_of_unknown_keys_list_the_first_fifty_and_count_them_all(setup):
    s = setup
    values = {f"k{n}": n for n in range(5000)}
    response = await submit(s, values)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "task.invalid_submission"
    assert [e["path"] for e in problem["errors"]] == [f"$.values.k{n}" for n in range(50)]
    assert problem["detail"] == "5000 answer(s) need fixing (the first 50 are listed)"
    assert len(response.content) < 10_000
    assert (await task_state(s.db, s.task))["form_values"] is None


async def test_a_few_errors_are_all_listed_without_a_note(setup):
    response = await submit(setup, {"bogus": 1, "amount": 0})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "2 answer(s) need fixing"


async def test_values_must_be_an_object(setup):
    for body in ({"values": ["notes"]}, {"values": "notes"}, {}):
        response = await setup.client.post(
            f"{TASKS}/{setup.task}/submit", json=body, headers=setup.rm01
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "request.validation_failed"
    assert (await task_state(setup.db, setup.task))["form_values"] is None


async def test_another_rms_customer_is_refused(setup):
    errors = await assert_refused(
        setup, {"referral": str(setup.foreign_customer)}, ["$.values.referral"]
    )
    assert errors[0]["message"] == "not one of your customers"


async def test_a_photo_of_another_task_is_refused(setup):
    s = setup
    elsewhere = await attach(s.client, s.rm01, s.other_task)
    await assert_refused(s, {"photos": [elsewhere]}, ["$.values.photos"])
    mine = await attach(s.client, s.rm01, s.task)
    await assert_refused(s, {"photos": [mine, elsewhere]}, ["$.values.photos"])
    # The other task may use it.
    ok = await submit(s, {"photos": [elsewhere]}, task_id=s.other_task)
    assert ok.status_code == 200, ok.text


async def test_a_signature_is_not_a_photo_and_a_photo_not_a_signature(setup):
    s = setup
    photo = await attach(s.client, s.rm01, s.task)
    signature = await attach(s.client, s.rm01, s.task, kind="signature")
    await assert_refused(s, {"photos": [signature]}, ["$.values.photos"])
    await assert_refused(s, {"signature": photo}, ["$.values.signature"])
    await assert_refused(
        s, {"photos": [signature], "signature": photo}, ["$.values.photos", "$.values.signature"]
    )
    # One signature, not a list of them.
    await assert_refused(s, {"signature": [signature, signature]}, ["$.values.signature"])
    ok = await submit(s, {"photos": [photo], "signature": signature})
    assert ok.status_code == 200, ok.text


async def test_more_photos_than_the_field_allows_are_refused(setup):
    s = setup
    photos = [await attach(s.client, s.rm01, s.task) for _ in range(3)]
    errors = await assert_refused(s, {"photos": photos}, ["$.values.photos"])
    assert "2" in errors[0]["message"]
    ok = await submit(s, {"photos": photos[:2]})
    assert ok.status_code == 200, ok.text


async def test_a_photo_field_min_bounds_the_count_of_photos(client, db):
    """The form contract: `min`/`max` bound numbers and the count of photos."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("photos", "photo", min=2, max=3))
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    s = Setup(client, db, rm01, task, task, uuid.uuid4(), uuid.uuid4())
    photos = [await attach(client, rm01, task) for _ in range(4)]
    await assert_refused(s, {"photos": photos[:1]}, ["$.values.photos"])
    await assert_refused(s, {"photos": photos}, ["$.values.photos"])
    ok = await submit(s, {"photos": photos[:2]})
    assert ok.status_code == 200, ok.text


async def test_a_number_without_bounds_is_still_a_sensible_number(client, db):
    """The README's numbers are bounded: with no min/max, within ±10^15 (what a template may
    set, and what a float holds to the unit); a 300-digit answer is refused, not stored."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("count", "number"))
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    s = Setup(client, db, rm01, task, task, uuid.uuid4(), uuid.uuid4())
    for huge in (10**300, 10**15 + 1, -(10**16), 1.5e15):
        await assert_refused(s, {"count": huge}, ["$.values.count"])
    ok = await submit(s, {"count": -(10**15)})
    assert ok.status_code == 200, ok.text
    assert ok.json()["values"] == {"count": -(10**15)}


async def test_a_required_text_of_spaces_only_is_no_answer(client, db):
    admin = await headers_of(client, "admin")
    template = await create_template(
        client, admin, field("summary", "text", required=True), field("memo", "text")
    )
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    s = Setup(client, db, rm01, task, task, uuid.uuid4(), uuid.uuid4())
    for blank in ("   ", "\t\n", "\u3000", "\u200b\u2060"):  # an ideographic space; zero-width
        errors = await assert_refused(s, {"summary": blank, "memo": "x"}, ["$.values.summary"])
        assert errors[0]["message"] == "required"
    # An optional text of spaces only is no answer either: nothing is stored for it.
    ok = await submit(s, {"summary": " 见了客户 ", "memo": "  "})
    assert ok.status_code == 200, ok.text
    assert ok.json()["values"] == {"summary": " 见了客户 "}


async def test_required_fields_must_be_answered(client, db):
    admin = await headers_of(client, "admin")
    fields = [dict(f, required=True) for f in EVERY_TYPE_FIELDS]
    template = await create_template(client, admin, *fields, field("memo", "text"))
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    s = Setup(client, db, rm01, task, task, uuid.uuid4(), uuid.uuid4())
    every_required = [f"$.values.{f['key']}" for f in EVERY_TYPE_FIELDS]

    errors = await assert_refused(s, {}, every_required)
    assert {e["message"] for e in errors} == {"required"}
    # Empty strings, empty lists and nulls do not answer a required field either.
    await assert_refused(
        s,
        {"notes": "", "products": [], "photos": [], "amount": None, "memo": "fine"},
        every_required,
    )
    # Answering some leaves only the others.
    await assert_refused(
        s,
        {"notes": "x", "amount": 0, "visit_date": "2026-11-22", "outcome": "yes"},
        ["$.values.amount", *every_required[4:]],  # 0 is an answer, but below min
    )


# ---- photo and signature uploads --------------------------------------------------------------


def _brightness(img: Image.Image, box: tuple[int, int, int, int]) -> float:
    return float(ImageStat.Stat(img.convert("L").crop(box)).mean[0])


async def _download(s: Setup, attachment_id: str, task_id: uuid.UUID | None = None) -> Any:
    response = await s.client.get(
        f"{TASKS}/{task_id or s.task}/attachments/{attachment_id}", headers=s.rm01
    )
    assert response.status_code == 200, response.text
    return response


async def test_photo_is_stored_as_jpeg_without_exif_and_watermarked(setup):
    s = setup
    original = Image.new("RGB", (1200, 900), (200, 200, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneCo"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    buf = io.BytesIO()
    original.save(buf, "JPEG", exif=exif, quality=95)
    raw = buf.getvalue()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # it really carries GPS

    response = await upload(s.client, s.rm01, s.task, raw)
    assert response.status_code == 201, response.text
    meta = response.json()
    assert meta["kind"] == "photo"
    assert meta["content_type"] == "image/jpeg"
    assert (meta["width"], meta["height"]) == (1200, 900)

    stored = await _download(s, meta["id"])
    assert stored.headers["content-type"].startswith("image/jpeg")
    data = stored.content
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    assert len(data) == meta["byte_size"]
    for marker in (b"Exif", b"PhoneCo"):
        assert marker not in data
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "JPEG"
    assert dict(img.getexif()) == {}
    assert "exif" not in img.info
    # The bottom band is darkened (watermark), the rest is the original light grey.
    width, height = img.size
    bottom = (0, height - height // 25, width, height)
    top = (0, 0, width, height // 2)
    assert _brightness(original, bottom) - _brightness(img, bottom) > 60
    assert abs(_brightness(original, top) - _brightness(img, top)) < 5
    assert img.convert("L").crop(bottom).getextrema()[1] > 200  # white text in the band
    row = await s.db.fetchrow(
        "select kind, content_type, uploaded_by, sha256 from task_attachments where id = $1",
        uuid.UUID(meta["id"]),
    )
    assert (row["kind"], row["content_type"], row["sha256"]) == (
        "photo",
        "image/jpeg",
        meta["sha256"],
    )


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_png_and_webp_photos_are_accepted_and_stored_as_jpeg(setup, fmt):
    s = setup
    raw = image_bytes(fmt, (500, 400))
    response = await upload(
        s.client, s.rm01, s.task, raw, filename=f"p.{fmt.lower()}", content_type=f"image/{fmt}"
    )
    assert response.status_code == 201, response.text
    img = Image.open(io.BytesIO((await _download(s, response.json()["id"])).content))
    assert img.format == "JPEG"
    assert img.size == (500, 400)


async def test_signature_is_stored_as_png_without_watermark(setup):
    s = setup
    original = Image.new("RGB", (600, 200), (200, 200, 200))
    buf = io.BytesIO()
    original.save(buf, "PNG")
    response = await upload(
        s.client, s.rm01, s.task, buf.getvalue(), kind="signature", filename="s.png",
        content_type="image/png",
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/png"
    img = Image.open(io.BytesIO((await _download(s, response.json()["id"])).content))
    assert img.format == "PNG"
    bottom = (0, 180, 600, 200)
    assert abs(_brightness(original, bottom) - _brightness(img, bottom)) < 2


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (40, 40), 1).save(buf, "GIF")
    return buf.getvalue()


def _bomb_png() -> bytes:
    """A valid 10x10 PNG whose IHDR declares 100,000 x 100,000 pixels (CRC fixed up)."""
    data = bytearray(image_bytes("PNG", (10, 10), "white"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


REFUSED_UPLOADS = {
    "gif": (_gif(), "a.gif", "image/gif", "attachment.format_not_allowed"),
    "text file": (b"hello, this is not an image\n" * 20, "a.txt", "text/plain", None),
    "text named jpg": (b"plain text pretending to be a photo", "a.jpg", "image/jpeg", None),
    "empty file": (b"", "a.jpg", "image/jpeg", None),
    "truncated jpeg": (image_bytes("JPEG", (800, 600))[:400], "a.jpg", "image/jpeg", None),
    "decompression bomb": (_bomb_png(), "a.png", "image/png", "attachment.too_large"),
}


@pytest.mark.parametrize("case", REFUSED_UPLOADS, ids=list(REFUSED_UPLOADS))
async def test_non_images_and_bombs_are_refused(setup, case):
    raw, filename, content_type, code = REFUSED_UPLOADS[case]
    s = setup
    response = await upload(
        s.client, s.rm01, s.task, raw, filename=filename, content_type=content_type
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == (code or "attachment.not_an_image")
    assert await s.db.fetchval("select count(*) from task_attachments") == 0


async def test_an_unknown_attachment_kind_is_refused(setup):
    s = setup
    response = await upload(s.client, s.rm01, s.task, image_bytes(), kind="video")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "attachment.bad_kind"
    assert await s.db.fetchval("select count(*) from task_attachments") == 0


async def test_an_upload_over_the_configured_size_is_refused(make_client, db):
    client = await make_client(max_photo_bytes=5_000)
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("photos", "photo"))
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    small = image_bytes("JPEG", (40, 30))
    big = image_bytes("PNG", (400, 300), "white") + b"\0" * 5_000
    assert len(small) < 5_000 < len(big)
    refused = await upload(client, rm01, task, big, filename="b.png", content_type="image/png")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "attachment.too_large"
    assert (await upload(client, rm01, task, small)).status_code == 201
    assert await db.fetchval("select count(*) from task_attachments") == 1


async def test_attachments_only_for_open_tasks(setup):
    s = setup
    assert (await submit(s, {"notes": "done"})).status_code == 200
    response = await upload(s.client, s.rm01, s.task, image_bytes())
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "task.illegal_transition"
    assert response.json()["current_status"] == "done"
    assert await s.db.fetchval("select count(*) from task_attachments") == 0


async def test_an_attachment_is_read_only_through_its_own_task(setup):
    s = setup
    photo = await attach(s.client, s.rm01, s.task)
    wrong = await s.client.get(f"{TASKS}/{s.other_task}/attachments/{photo}", headers=s.rm01)
    assert wrong.status_code == 404
    unknown = await s.client.get(f"{TASKS}/{s.task}/attachments/{uuid.uuid4()}", headers=s.rm01)
    assert unknown.status_code == 404


async def test_photos_of_customer_tasks_are_uploaded_too(client, db):
    """A task for a customer: the stamp carries the masked ID number; the upload works."""
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("C-9", name="王五", owner="rm01", seq=9)])
    template = await create_template(client, admin, field("photos", "photo", required=True))
    [(login, task, customer)] = await issue_tasks(
        client, db, admin, template["id"], customer_ids=list((await customer_ids(db)).values())
    )
    assert login == "rm01"
    assert customer is not None
    rm01 = await headers_of(client, "rm01")
    photo = await attach(client, rm01, task)
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    done = await client.post(
        f"{TASKS}/{task}/submit", json={"values": {"photos": [photo]}}, headers=rm01
    )
    assert done.status_code == 200, done.text
    assert done.json()["values"] == {"photos": [photo]}


async def test_a_text_answer_that_would_read_otherwise_is_refused_and_lines_are_kept(client, db):
    admin = await headers_of(client, "admin")
    template = await create_template(
        client, admin, field("summary", "text", required=True), field("memo", "text")
    )
    task = (await issue(client, db, admin, template["id"], org_unit="team-east-1"))["rm01"]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"{TASKS}/{task}/start", headers=rm01)).status_code == 200
    s = Setup(client, db, rm01, task, task, uuid.uuid4(), uuid.uuid4())
    for garbled in ("😀\u202e反向文本", "见了\u2066客户\u2069", "备注\x1b[2J"):
        errors = await assert_refused(
            s, {"summary": "见了客户", "memo": garbled}, ["$.values.memo"]
        )
        assert "direction override" in errors[0]["message"]
    text = "第一行\r\n第二行\n\t缩进"
    ok = await submit(s, {"summary": text})
    assert ok.status_code == 200, ok.text
    assert ok.json()["values"] == {"summary": text}
