"""Customers, products, holdings and notes shaped like the scale model, really encrypted.

    python -m bench.generate_customers --database-url URL --fraction 1.0 [--big-rm-customers 5000]
                                       [--data-key KID:BASE64 --blind-index-key BASE64]

On top of bench.generate's org tree and users (run first, idempotently): 2,000,000 × fraction
customers, 400 per RM on average but uneven (log-normal), except the designated RM `rm000001`, who
gets exactly --big-rm-customers (the scale model's "up to 5,000"); 8 holdings per customer over a
catalogue of 200 products; ~2 notes per customer on the timeline.

Personal data is encrypted and blind-indexed exactly as the product's bank feed does it
(workbench.customers.feeds: the same Vault, AAD and normalization functions), so an API started
with the same WORKBENCH_DATA_KEYS / WORKBENCH_BLIND_INDEX_KEY decrypts, masks and finds these
customers. Without --data-key/--blind-index-key fresh keys are made and printed.

Encryption runs in --processes worker processes; the main process COPYs their chunks
(asyncpg `copy_records_to_table`), one transaction per chunk. Idempotent: a customer's external id
is `bc<RM number>-<k>`, and each RM is topped up to its target; a database holding customers
encrypted under other keys is refused. The database must already be migrated (or pass --migrate).

This is benchmark tooling, not product code, so its SQL lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import concurrent.futures
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import sys
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from bench import generate
from workbench import migrate
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import (
    id_check_digit,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    surname,
)
from workbench.ids import uuid7
from workbench.security.vault import DecryptionError, Vault
from workbench.settings import DataKey
from workbench.timeline.service import text_aad as timeline_text_aad

# The scale model at fraction 1.0.
CUSTOMERS = 2_000_000
BIG_RM_LOGIN = "rm000001"
BIG_RM_CUSTOMERS = 5_000
MAX_PER_RM = 20_000  # external ids and the unique ID-number/phone mapping assume fewer
HOLDINGS_PER_CUSTOMER = 8
NOTES_PER_CUSTOMER = 2.0  # on average, over the last 400 days
CHUNK = 5_000  # customers per COPY transaction

EXTERNAL_ID_PREFIX = "bc"  # bc<RM number:06d>-<k:05d>
_LOCK = 0x5742_4355_5354  # advisory lock: two generators on one database take turns
_RM_LOGIN = re.compile(r"^rm(\d{6})$")

# Surnames by frequency (per mille, roughly the national shares), a few compound ones.
_SURNAMES = [
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 45), ("杨", 31), ("黄", 22),
    ("赵", 20), ("吴", 20), ("周", 19), ("徐", 16), ("孙", 15), ("马", 14), ("朱", 13),
    ("胡", 13), ("郭", 12), ("何", 12), ("高", 11), ("林", 11), ("罗", 10), ("郑", 10),
    ("梁", 9), ("谢", 8), ("宋", 8), ("唐", 8), ("许", 7), ("韩", 7), ("冯", 7), ("邓", 7),
    ("曹", 7), ("彭", 6), ("曾", 6), ("肖", 6), ("田", 6), ("董", 5), ("袁", 5), ("潘", 5),
    ("于", 5), ("蒋", 5), ("蔡", 5), ("余", 5), ("杜", 5), ("叶", 4), ("程", 4), ("苏", 4),
    ("魏", 4), ("吕", 4), ("丁", 4), ("任", 4), ("沈", 4), ("欧阳", 1), ("司马", 1), ("诸葛", 1),
]  # fmt: skip
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯鹏辉晨"
    "建国文博思雨欣怡佳琪子涵梓轩浩然一诺嘉俊志远婷雪梅兰松林海波颖慧"
)
# 40 county codes (Beijing, Shanghai, Shenzhen, Hangzhou, Chengdu, Nanjing, Wuhan, Guangzhou).
_REGIONS = [
    f"{city}{county:02d}"
    for city in ("1101", "3101", "4403", "3301", "5101", "3201", "4201", "4401")
    for county in (2, 4, 5, 6, 7)
]
_MOBILE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "177", "180", "181", "182", "186", "187", "188", "189",
]  # fmt: skip
# Tags (codes, as the demo bank uses them) and the share of customers carrying each.
TAGS = [
    ("mobile_active", 0.45), ("credit_card", 0.40), ("payroll", 0.30), ("social_security", 0.20),
    ("fund_sip", 0.12), ("mortgage", 0.15), ("retiree", 0.10), ("insurance_interest", 0.10),
    ("etc", 0.10), ("wealth_maturing", 0.08), ("pension_account", 0.08), ("dormant", 0.07),
    ("young_professional", 0.07), ("child_education", 0.06), ("business_owner", 0.05),
    ("new_customer", 0.05), ("car_loan", 0.04), ("high_potential", 0.04), ("vip", 0.03),
    ("precious_metal", 0.03), ("fx", 0.03), ("cross_border", 0.02),
]  # fmt: skip
_RISK_WEIGHTS = (5, 20, 40, 25, 10)  # C1..C5
_NOTE_KINDS = [("note.call", 45), ("note.chat", 30), ("note.visit", 20), ("note.other", 5)]
_NOTE_TEXTS = [
    "电话回访，客户对理财到期续作有兴趣，约下周面谈。",
    "微信沟通基金定投，客户希望降低波动。",
    "上门拜访，了解家庭资产配置与子女教育规划。",
    "客户咨询大额存单利率，已发送产品说明。",
    "提醒客户风险测评即将到期。",
    "节日问候，客户反馈满意。",
]

# The product catalogue: 200 products over categories, R1..R5, some capped per customer.
PRODUCTS = 200
_CATEGORIES = [
    # category, Chinese label, risk levels it spans, share of the catalogue
    ("cash", "现金管理", (1,), 0.06),
    ("deposit", "定期存款", (1, 2), 0.14),
    ("wealth", "银行理财", (2, 3), 0.25),
    ("fund", "公募基金", (2, 3, 4, 5), 0.30),
    ("insurance", "保险", (1, 2), 0.08),
    ("pension", "养老金", (2,), 0.05),
    ("precious_metal", "贵金属", (3,), 0.05),
    ("private", "私募", (5,), 0.07),
]


# ---- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """The personal-data keys the generator and the API under test must share."""

    data_key_id: str
    data_key: bytes
    blind_index_key: bytes

    @classmethod
    def fresh(cls, kid: str = "bench") -> Keys:
        return cls(kid, os.urandom(32), os.urandom(32))

    @classmethod
    def parse(cls, data_key: str, blind_index_key: str) -> Keys:
        """`kid:base64` and `base64`, as WORKBENCH_DATA_KEYS (first key) / _BLIND_INDEX_KEY."""
        kid, sep, b64 = data_key.split(",")[0].strip().partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", kid):
            raise ValueError("--data-key must look like kid:base64")
        try:
            key = base64.b64decode(b64, validate=True)
            bidx = base64.b64decode(blind_index_key.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("keys must be base64") from None
        if len(key) != 32 or len(bidx) != 32:
            raise ValueError("keys must decode to 32 bytes")
        return cls(kid, key, bidx)

    def env(self) -> dict[str, str]:
        return {
            "WORKBENCH_DATA_KEYS": f"{self.data_key_id}:{base64.b64encode(self.data_key).decode()}",
            "WORKBENCH_BLIND_INDEX_KEY": base64.b64encode(self.blind_index_key).decode(),
        }

    def vault(self) -> Vault:
        return Vault.from_settings(
            (DataKey(self.data_key_id, self.data_key),), self.blind_index_key
        )


# ---- shape -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerShape:
    fraction: float
    customers: int
    big_rm_login: str
    big_rm_customers: int
    products: int = PRODUCTS
    holdings_per_customer: int = HOLDINGS_PER_CUSTOMER
    notes_per_customer: float = NOTES_PER_CUSTOMER

    @classmethod
    def at(cls, fraction: float, *, big_rm_customers: int = BIG_RM_CUSTOMERS) -> CustomerShape:
        if fraction <= 0:
            raise ValueError("fraction must be positive")
        if not 0 <= big_rm_customers <= MAX_PER_RM:
            raise ValueError(f"big_rm_customers must be between 0 and {MAX_PER_RM}")
        return cls(
            fraction=fraction,
            customers=max(1, round(CUSTOMERS * fraction)),
            big_rm_login=BIG_RM_LOGIN,
            big_rm_customers=big_rm_customers,
        )


def customers_per_rm(shape: CustomerShape, rm_logins: Sequence[str]) -> dict[str, int]:
    """Target count per RM: the big RM exactly, the others share the rest unevenly.

    Log-normal weights (σ 0.6), stable per login, so the smallest RMs have a few dozen customers
    at 400 on average; nobody has more than the big RM (the scale model's "up to 5,000").
    """
    others = [login for login in rm_logins if login != shape.big_rm_login]
    plan = {shape.big_rm_login: shape.big_rm_customers} if shape.big_rm_login in rm_logins else {}
    rest = max(0, shape.customers - sum(plan.values()))
    if not others:
        return plan
    cap = max(shape.big_rm_customers, math.ceil(rest / len(others)))
    weights = [random.Random(f"customers:{login}").lognormvariate(0.0, 0.6) for login in others]
    total = sum(weights)
    exact = [rest * w / total for w in weights]
    sizes = [min(cap, int(x)) for x in exact]
    short = rest - sum(sizes)
    order = sorted(range(len(others)), key=lambda i: -(exact[i] - int(exact[i])))
    i = 0
    while short > 0 and i < 10 * len(order):  # hand out the remainders, respecting the cap
        j = order[i % len(order)]
        if sizes[j] < cap:
            sizes[j] += 1
            short -= 1
        i += 1
    plan.update(zip(others, sizes, strict=True))
    return plan


# ---- synthetic people ------------------------------------------------------------------------

_ID_SPACE = len(_REGIONS) * 25_000 * 1_000  # region × birth day × sequence: 1e9 distinct numbers
_PHONE_SPACE = len(_MOBILE_PREFIXES) * 100_000_000
_ID_STEP = 1_000_000_007  # primes coprime with both spaces: n -> n·step mod space is a bijection
_PHONE_STEP = 999_999_937
_BIRTH_EPOCH = date(1940, 1, 1)


def person_number(rm_number: int, k: int) -> int:
    """A distinct number per (RM, k): the source of a unique ID number and phone."""
    return rm_number * MAX_PER_RM + k


def id_number_for(n: int) -> str:
    """A valid 18-character resident ID number, distinct for distinct n < 1e9."""
    m = (n * _ID_STEP) % _ID_SPACE
    region, rest = divmod(m, 25_000 * 1_000)
    day, seq = divmod(rest, 1_000)
    first17 = f"{_REGIONS[region]}{(_BIRTH_EPOCH + timedelta(days=day)):%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def phone_for(n: int) -> str:
    """A mainland mobile number, distinct for distinct n < 2.6e9."""
    m = (n * _PHONE_STEP) % _PHONE_SPACE
    prefix, rest = divmod(m, 100_000_000)
    return f"{_MOBILE_PREFIXES[prefix]}{rest:08d}"


_SURNAME_VALUES = [s for s, _ in _SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(w for _, w in _SURNAMES))


def name_for(rng: random.Random) -> str:
    family = rng.choices(_SURNAME_VALUES, cum_weights=_SURNAME_CUM)[0]
    return family + "".join(rng.choice(_GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))


def segment_for(aum: Decimal) -> str:
    if aum >= 6_000_000:
        return "private_banking"
    if aum >= 1_000_000:
        return "affluent"
    if aum >= 200_000:
        return "mass_affluent"
    return "mass"


def tags_for(rng: random.Random) -> list[str]:
    return sorted(tag for tag, share in TAGS if rng.random() < share)


def risk_for(rng: random.Random) -> int:
    return rng.choices((1, 2, 3, 4, 5), weights=_RISK_WEIGHTS)[0]


def aum_for(rng: random.Random) -> float:
    """Assets under management in CNY: log-normal, median ~150k, a long tail into the tens of
    millions (≈7 % affluent, ≈1 % private banking)."""
    return min(rng.lognormvariate(math.log(150_000), 1.25), 200_000_000.0)


# ---- products --------------------------------------------------------------------------------


def product_catalogue() -> list[tuple[str, str, str, int, Decimal | None, float]]:
    """(code, name, category, risk level, max holding, popularity) of every product."""
    rng = random.Random("products")
    rows = []
    n = 0
    for category, label, risks, share in _CATEGORIES:
        for i in range(round(PRODUCTS * share)):
            n += 1
            risk = risks[i % len(risks)]
            cap = None
            if category == "pension":
                cap = Decimal("12000.00")
            elif rng.random() < 0.15:
                cap = Decimal(rng.choice((1_000_000, 3_000_000, 5_000_000))).quantize(
                    Decimal("0.01")
                )
            popularity = 1.0 / (1 + i) ** 0.8  # within a category, a few products dominate
            rows.append(
                (f"BP{n:04d}", f"{label}{i + 1:03d}号", category, risk, cap, popularity * share)
            )
    return rows


# ---- the worker: encryption and row building (runs in --processes processes) ------------------

_worker_vault: Vault | None = None
_worker_products: list[tuple[str, int, Decimal | None, float]] = []


def _init_worker(keys: Keys, products: list[tuple[str, int, Decimal | None, float]]) -> None:
    global _worker_vault, _worker_products
    _worker_vault = keys.vault()
    _worker_products = products


@dataclass
class ChunkSpec:
    """Customers k_from..k_to-1 of some RMs: [(owner id, RM number, k_from, k_to)]."""

    seed: int
    segments: list[tuple[uuid.UUID, int, int, int]]
    now: datetime


def build_chunk(spec: ChunkSpec) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """(customers, holdings, timeline) records of one chunk, encrypted like the feed does."""
    vault = _worker_vault
    assert vault is not None, "worker not initialised"
    rng = random.Random(spec.seed)
    cipher, bidx = vault.cipher, vault.blind_index
    products = _worker_products
    # Products a customer of risk level r may hold (suitability), with popularity weights.
    by_risk = {
        r: (
            [p for p in products if p[1] <= r],
            list(itertools.accumulate(p[3] for p in products if p[1] <= r)),
        )
        for r in range(1, 6)
    }
    customers: list[tuple[Any, ...]] = []
    holdings: list[tuple[Any, ...]] = []
    notes: list[tuple[Any, ...]] = []
    now = spec.now
    today = now.date()
    cent = Decimal("0.01")
    for owner_id, rm_number, k_from, k_to in spec.segments:
        for k in range(k_from, k_to):
            n = person_number(rm_number, k)
            ext = f"{EXTERNAL_ID_PREFIX}{rm_number:06d}-{k:05d}"
            name = unicodedata.normalize("NFKC", name_for(rng)).strip()
            normalized = normalize_name(name)
            id_number = normalize_id_number(id_number_for(n)) or ""
            phone = normalize_phone(phone_for(n)) or ""
            risk = risk_for(rng)
            customer_id = uuid7()
            # Holdings: 8 distinct suitable products, the AUM split over them (caps respected).
            pool, cum_weights = by_risk[risk]
            chosen: dict[str, tuple[str, int, Decimal | None, float]] = {}
            want = min(HOLDINGS_PER_CUSTOMER, len(pool))
            while len(chosen) < want:
                for p in rng.choices(pool, cum_weights=cum_weights, k=2 * want):
                    chosen.setdefault(p[0], p)
            chosen = dict(itertools.islice(chosen.items(), want))
            aum_target = aum_for(rng)
            parts = [rng.expovariate(1.0) for _ in chosen]
            share = sum(parts)
            aum = Decimal(0)
            as_of = today - timedelta(days=rng.randint(0, 6))
            for p, part in zip(chosen.values(), parts, strict=True):
                amount = Decimal(aum_target * part / share).quantize(cent)
                if p[2] is not None and amount > p[2]:
                    amount = p[2]  # held at the cap: recommendations must skip it
                aum += amount
                holdings.append((customer_id, p[0], amount, as_of, now))
            created = now - timedelta(days=rng.uniform(30, 5 * 365))
            verified = created + timedelta(days=rng.uniform(0, 25)) if rng.random() < 0.3 else None
            customers.append(
                (
                    customer_id,
                    ext,
                    owner_id,
                    cipher.encrypt(name, aad=personal_data_aad("name", ext)),
                    cipher.encrypt(id_number, aad=personal_data_aad("id_number", ext)),
                    cipher.encrypt(phone, aad=personal_data_aad("phone", ext)),
                    bidx("name", normalized),
                    bidx("surname", surname(normalized)),
                    bidx("id_number", id_number),
                    bidx("phone", phone),
                    risk,
                    segment_for(aum),
                    tags_for(rng),
                    aum,
                    verified,
                    created,
                    now,
                )
            )
            # Notes: Poisson-ish count around NOTES_PER_CUSTOMER, over the last 400 days.
            for _ in range(_poisson(rng, NOTES_PER_CUSTOMER)):
                entry_id = uuid7()
                kind = rng.choices([k for k, _ in _NOTE_KINDS], [w for _, w in _NOTE_KINDS])[0]
                text = rng.choice(_NOTE_TEXTS)
                notes.append(
                    (
                        entry_id,
                        customer_id,
                        now - timedelta(days=rng.uniform(0, 400)),
                        kind,
                        owner_id,
                        cipher.encrypt(text, aad=timeline_text_aad(entry_id)),
                        "note",
                        f"{owner_id}:{entry_id}",
                    )
                )
    return customers, holdings, notes


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


CUSTOMER_COLUMNS = [
    "id", "external_id", "owner_id", "name_enc", "id_number_enc", "phone_enc", "name_bidx",
    "surname_bidx", "id_number_bidx", "phone_bidx", "risk_level", "segment", "tags", "aum",
    "verified_at", "created_at", "updated_at",
]  # fmt: skip
HOLDING_COLUMNS = ["customer_id", "product_code", "amount", "as_of", "updated_at"]
NOTE_COLUMNS = [
    "id", "customer_id", "occurred_at", "kind", "actor_id", "text_enc", "source", "source_id",
]  # fmt: skip


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class CustomerReport:
    shape: CustomerShape
    processes: int
    seconds: float = 0.0
    encrypt_and_copy_seconds: float = 0.0
    vacuum_analyze_seconds: float = 0.0
    customers_per_second: float | None = None
    rows_per_second: float | None = None
    added: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    big_rm: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def generate_customers(
    conn: asyncpg.Connection,
    *,
    fraction: float,
    keys: Keys,
    big_rm_customers: int = BIG_RM_CUSTOMERS,
    processes: int | None = None,
    progress: bool = True,
) -> CustomerReport:
    """Products, then every RM's missing customers (with holdings and notes), then VACUUM ANALYZE.

    The org tree and users must exist (bench.generate.generate). Chunks are committed one by one,
    in order, so an interrupted run leaves each RM with a prefix of its customers and the next
    run tops them up.
    """
    shape = CustomerShape.at(fraction, big_rm_customers=big_rm_customers)
    processes = processes or min(2, os.cpu_count() or 1)
    report = CustomerReport(shape=shape, processes=processes)
    started = time.perf_counter()
    await conn.execute("select pg_advisory_lock($1)", _LOCK)
    try:
        await _check_keys(conn, keys)
        catalogue = product_catalogue()
        report.added["products"] = await _products(conn, catalogue)
        rms = await conn.fetch(
            "select id, login from users where role = 'rm' and login ~ $1", _RM_LOGIN.pattern
        )
        plan = customers_per_rm(shape, sorted(r["login"] for r in rms))
        have = {
            r["owner_id"]: r["n"]
            for r in await conn.fetch(
                "select owner_id, count(*) as n from customers"
                " where external_id like $1 group by owner_id",
                f"{EXTERNAL_ID_PREFIX}%",
            )
        }
        now = datetime.now(UTC)
        segments = []
        for r in sorted(rms, key=lambda r: r["login"]):
            want, got = plan.get(r["login"], 0), have.get(r["id"], 0)
            if want > got:
                segments.append((r["id"], int(r["login"][2:]), got, want))
        chunks = list(_chunk(segments, CHUNK, now))
        todo = sum(k_to - k_from for _, _, k_from, k_to in segments)
        products = [(c[0], c[3], c[4], c[5]) for c in catalogue]
        copy_started = time.perf_counter()
        added = await _encrypt_and_copy(conn, chunks, keys, products, processes, todo, progress)
        report.added.update(added)
        report.encrypt_and_copy_seconds = round(time.perf_counter() - copy_started, 2)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK)
    vacuum_started = time.perf_counter()
    # The planner must see the real sizes, and a loaded table must not pay hint bits on first
    # read: as after autovacuum in service.
    await conn.execute("vacuum (analyze) products, customers, holdings, customer_timeline")
    report.vacuum_analyze_seconds = round(time.perf_counter() - vacuum_started, 2)
    report.seconds = round(time.perf_counter() - started, 2)
    if report.encrypt_and_copy_seconds > 0:
        rows = sum(added.values())
        report.customers_per_second = round(added["customers"] / report.encrypt_and_copy_seconds)
        report.rows_per_second = round(rows / report.encrypt_and_copy_seconds)
    report.totals = dict(
        await conn.fetchrow(
            """
            select (select count(*) from products) as products,
                   (select count(*) from customers) as customers,
                   (select count(*) from holdings) as holdings,
                   (select count(*) from customer_timeline) as timeline_entries,
                   (select count(*) from users where role = 'rm') as rms
            """
        )
    )
    report.big_rm = dict(
        await conn.fetchrow(
            """
            select u.login, u.id::text as user_id, count(c.id) as customers
              from users u left join customers c on c.owner_id = u.id
             where u.login = $1 group by u.login, u.id
            """,
            shape.big_rm_login,
        )
        or {}
    )
    return report


async def _check_keys(conn: asyncpg.Connection, keys: Keys) -> None:
    """Refuse to mix keys: existing bench customers must decrypt under the keys given."""
    row = await conn.fetchrow(
        "select external_id, name_enc, name_bidx from customers where external_id like $1 limit 1",
        f"{EXTERNAL_ID_PREFIX}%",
    )
    if row is None:
        return
    vault = keys.vault()
    try:
        name = vault.cipher.decrypt(
            row["name_enc"], aad=personal_data_aad("name", row["external_id"])
        )
    except DecryptionError:
        name = None
    if name is None or vault.blind_index("name", normalize_name(name)) != row["name_bidx"]:
        raise SystemExit(
            "bench.generate_customers: this database holds bench customers encrypted under other"
            " keys; pass the same --data-key/--blind-index-key, or use a fresh database"
        )


async def _products(conn: asyncpg.Connection, catalogue: list[tuple[Any, ...]]) -> int:
    rows = [(code, name, category, risk, cap) for code, name, category, risk, cap, _ in catalogue]
    async with conn.transaction():
        await conn.execute(
            "create temp table bench_products (like products including defaults) on commit drop"
        )
        await conn.copy_records_to_table(
            "bench_products",
            records=rows,
            columns=["code", "name", "category", "risk_level", "max_holding"],
        )
        status = await conn.execute(
            """
            insert into products (code, name, category, risk_level, max_holding)
            select code, name, category, risk_level, max_holding from bench_products
            on conflict do nothing
            """
        )
    return int(status.split()[-1])


def _chunk(segments: list[tuple[uuid.UUID, int, int, int]], size: int, now: datetime) -> Any:
    """Cut (owner, RM number, k_from, k_to) runs into chunks of about `size` customers."""
    current: list[tuple[uuid.UUID, int, int, int]] = []
    count = 0
    for owner_id, rm_number, k_from, k_to in segments:
        k = k_from
        while k < k_to:
            take = min(k_to - k, size - count)
            current.append((owner_id, rm_number, k, k + take))
            count += take
            k += take
            if count == size:
                yield ChunkSpec(seed=_seed(current), segments=current, now=now)
                current, count = [], 0
    if current:
        yield ChunkSpec(seed=_seed(current), segments=current, now=now)


def _seed(segments: list[tuple[uuid.UUID, int, int, int]]) -> int:
    """Stable per chunk start, so a re-run makes the same people."""
    return person_number(segments[0][1], segments[0][2])


async def _encrypt_and_copy(
    conn: asyncpg.Connection,
    chunks: list[ChunkSpec],
    keys: Keys,
    products: list[tuple[str, int, Decimal | None, float]],
    processes: int,
    todo: int,
    progress: bool,
) -> dict[str, int]:
    """Workers build and encrypt chunks; this process COPYs them in order, a transaction each."""
    added = {"customers": 0, "holdings": 0, "timeline_entries": 0}
    if not chunks:
        return added
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    last_report = started
    context = multiprocessing.get_context("spawn")  # no fork of an event loop or open sockets
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_init_worker,
        initargs=(keys, products),
    ) as pool:
        ahead = processes + 1  # chunks in flight while one is copied
        pending = [loop.run_in_executor(pool, build_chunk, c) for c in chunks[:ahead]]
        next_chunk = ahead
        while pending:
            customers, holdings, notes = await pending.pop(0)
            if next_chunk < len(chunks):
                pending.append(loop.run_in_executor(pool, build_chunk, chunks[next_chunk]))
                next_chunk += 1
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "customers", records=customers, columns=CUSTOMER_COLUMNS
                )
                await conn.copy_records_to_table(
                    "holdings", records=holdings, columns=HOLDING_COLUMNS
                )
                await conn.copy_records_to_table(
                    "customer_timeline", records=notes, columns=NOTE_COLUMNS
                )
            added["customers"] += len(customers)
            added["holdings"] += len(holdings)
            added["timeline_entries"] += len(notes)
            now = time.perf_counter()
            if progress and (now - last_report > 10 or not pending):
                last_report = now
                rate = added["customers"] / (now - started)
                rows = sum(added.values()) / (now - started)
                print(
                    f"  customers {added['customers']:,}/{todo:,}  {rate:,.0f} customers/s"
                    f"  {rows:,.0f} rows/s (with holdings and notes)",
                    file=sys.stderr,
                    flush=True,
                )
    return added


# ---- command line ----------------------------------------------------------------------------


async def _main(args: argparse.Namespace, keys: Keys) -> dict[str, Any]:
    if args.migrate:
        await migrate.migrate(args.database_url)
    elif pending := await migrate.pending(args.database_url):
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise SystemExit(f"bench.generate_customers: migrations pending ({names}); pass --migrate")
    conn = await asyncpg.connect(args.database_url, server_settings={"synchronous_commit": "off"})
    try:
        identity = await generate.generate(conn, fraction=args.fraction)
        customers = await generate_customers(
            conn,
            fraction=args.fraction,
            keys=keys,
            big_rm_customers=args.big_rm_customers,
            processes=args.processes,
        )
    finally:
        await conn.close()
    return {"identity": identity.as_dict(), "customers": customers.as_dict()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate_customers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL URL of a migrated database (default: $DATABASE_URL)",
    )
    parser.add_argument("--fraction", type=float, default=1.0, help="of the scale model")
    parser.add_argument(
        "--big-rm-customers",
        type=int,
        default=BIG_RM_CUSTOMERS,
        help=f"customers of {BIG_RM_LOGIN} (default {BIG_RM_CUSTOMERS:,})",
    )
    parser.add_argument(
        "--data-key",
        default=os.environ.get("WORKBENCH_DATA_KEYS"),
        help="kid:base64(32 bytes), the API's first WORKBENCH_DATA_KEYS entry (default: that"
        " variable; fresh and printed when unset)",
    )
    parser.add_argument(
        "--blind-index-key",
        default=os.environ.get("WORKBENCH_BLIND_INDEX_KEY"),
        help="base64(32 bytes), the API's WORKBENCH_BLIND_INDEX_KEY (default: that variable)",
    )
    parser.add_argument("--processes", type=int, default=None, help="encryption processes")
    parser.add_argument("--migrate", action="store_true", help="apply pending migrations first")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.fraction <= 0:
        parser.error("--fraction must be positive")
    if not 0 <= args.big_rm_customers <= MAX_PER_RM:
        parser.error(f"--big-rm-customers must be between 0 and {MAX_PER_RM}")
    if bool(args.data_key) != bool(args.blind_index_key):
        parser.error("give both --data-key and --blind-index-key, or neither")
    try:
        keys = Keys.parse(args.data_key, args.blind_index_key) if args.data_key else Keys.fresh()
    except ValueError as exc:
        parser.error(str(exc))
    if not args.data_key:
        print("fresh personal-data keys; start the API with:", file=sys.stderr)
        for name, value in keys.env().items():
            print(f"  {name}={value}", file=sys.stderr)
    document = asyncio.run(_main(args, keys))
    print(json.dumps(document, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
