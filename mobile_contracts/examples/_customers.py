"""Request examples of customers: the feeds of the bank's systems (customers, holdings,
conversions, products), an RM's notes, and the table of recommendation rules."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import NOTE_ID, BodyExample
from mobile_contracts.v1 import customers, funnels

CUSTOMER_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    customers.CustomerFeed: {
        "two_customers": BodyExample(
            "Two customers from the core banking system",
            {
                "customers": [
                    {
                        "external_id": "C000123",
                        "name": "张三",
                        "id_number": "11010519491231002X",
                        "phone": "13812345678",
                        "owner_login": "rm01",
                        "risk_level": "C3",
                        "segment": "mass_affluent",
                        "tags": ["retiree", "vip"],
                        "aum": "2500000.50",
                    },
                    {
                        "external_id": "C000124",
                        "name": "李娜",
                        "id_number": "310104197805234820",
                        "phone": "13916082745",
                        "owner_login": "rm01",
                        "risk_level": "C2",
                    },
                ]
            },
            "Up to 10,000 rows; each row is checked on its own (only the first five fields and"
            " `risk_level` are required).",
        )
    },
    customers.HoldingFeed: {
        "positions": BodyExample(
            "Two positions of a customer",
            {
                "holdings": [
                    {
                        "customer_external_id": "C000123",
                        "product_code": "WM90",
                        "amount": "500000.00",
                        "as_of": "2026-03-31",
                    },
                    {
                        "customer_external_id": "C000123",
                        "product_code": "BOND01",
                        "amount": "120000.25",
                        "as_of": "2026-03-31",
                    },
                ]
            },
        )
    },
    funnels.ConversionFeed: {
        "conversions": BodyExample(
            "A purchase and a consultation",
            {
                "conversions": [
                    {
                        "external_id": "TXN-20261202-000123",
                        "customer_external_id": "C000123",
                        "product_code": "WM90",
                        "kind": "purchase",
                        "amount": "200000.00",
                        "occurred_at": "2026-12-02T10:15:00+08:00",
                    },
                    {
                        "external_id": "CRM-88231",
                        "customer_external_id": "C000124",
                        "product_code": "WM90",
                        "kind": "consult",
                        "occurred_at": "2026-12-02T14:40:00+08:00",
                    },
                ]
            },
            "`external_id` is the bank system's own id: resending it changes nothing.",
        )
    },
    customers.ProductFeed: {
        "products": BodyExample(
            "A wealth product and a capped pension product",
            {
                "products": [
                    {
                        "code": "WM90",
                        "name": "稳享90天理财",
                        "category": "wealth",
                        "risk_level": "R2",
                    },
                    {
                        "code": "PENS01",
                        "name": "个人养老金理财",
                        "category": "pension",
                        "risk_level": "R2",
                        "max_holding": "12000",
                        "active": True,
                    },
                ]
            },
        )
    },
    customers.NoteCreate: {
        "visit": BodyExample(
            "A visit note made offline (the app chose the id)",
            {"id": NOTE_ID, "kind": "visit", "text": "上门拜访，介绍了稳健型理财，客户下周再约。"},
            "Resending the same `id` and text answers the stored note and creates nothing new.",
        ),
        "call": BodyExample(
            "A call note", {"kind": "call", "text": "电话回访，客户对定期存款感兴趣。"}
        ),
    },
    customers.RecommendationRules: {
        "two_rules": BodyExample(
            "Retirees get pension products; fund holders an index fund",
            {
                "rules": [
                    {
                        "name": "养老客群配养老金",
                        "when": {"tag": "retiree"},
                        "recommend": {"category": "pension"},
                        "weight": 40,
                    },
                    {
                        "name": "持有基金的客户看指数基金",
                        "when": {"holds_category": "fund"},
                        "recommend": {"product_code": "IDX300"},
                        "weight": 15,
                    },
                ]
            },
            "The whole table: rules left out are deleted.",
        )
    },
}
