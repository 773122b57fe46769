"""Generated customers for the reference policies, as an Arrow table.

Deterministic: customer i is the same in every run. The mix reaches every
outcome of the three reference policies: children to pensioners, every
supported language and one without, stays with staff, manager and concierge
requests (and none), loan requests of every type (and none).
"""

import datetime

import pyarrow as pa

LANGUAGES = ["pt", "pt-BR", "fr", "sv", "hu", "de", "id", None]
PRODUCTS = [
    [],
    ["live-cash-account"],
    ["student-account"],
    ["student-account", "student-loan"],
    ["credit-card"],
    ["credit-card", "personal-loan"],
    ["mortgage"],
    ["savings-account"],
    ["pension"],
    ["pension", "wealth-management"],
]
REQUESTERS = ["staff", "manager", "concierge"]
LOAN_TYPES = ["mortgage", "student", "car", "personal", "boat"]

STAY = pa.struct(
    [
        ("recovery_spent_usd", pa.float64()),
        ("requested_recovery_usd", pa.float64()),
        ("requested_by", pa.string()),
    ]
)
LOAN = pa.struct([("type", pa.string()), ("amount_usd", pa.int64())])
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("language", pa.string()),
        ("products", pa.list_(pa.string())),
        ("stay", STAY),
        ("loan_request", LOAN),
        ("segment", pa.string()),
    ]
)


def customer(i):
    """Customer number i as a dict of column values."""
    born = datetime.date(1931, 1, 1) + datetime.timedelta(days=(i * 7919) % 30000)
    stay = None
    if i % 3:
        stay = {
            "recovery_spent_usd": float((i * 37) % 2400),
            "requested_recovery_usd": float((i * 13) % 900) + 0.5,
            "requested_by": REQUESTERS[i % len(REQUESTERS)],
        }
    loan = None
    if i % 4:
        loan = {"type": LOAN_TYPES[i % len(LOAN_TYPES)], "amount_usd": 1000 + (i * 4099) % 500000}
    return {
        "id": f"C-{i:07d}",
        "name": f"Customer {i}",
        "birth_date": born,
        "language": LANGUAGES[i % len(LANGUAGES)],
        "products": PRODUCTS[i % len(PRODUCTS)],
        "stay": stay,
        "loan_request": loan,
        "segment": "retail" if i % 2 else "private",
    }


def table(count, start=0, chunk=100_000):
    """Customers start .. start+count as one table (built chunk by chunk)."""
    batches = []
    for first in range(start, start + count, chunk):
        rows = [customer(i) for i in range(first, min(first + chunk, start + count))]
        batches.append(pa.RecordBatch.from_pylist(rows, schema=SCHEMA))
    return pa.Table.from_batches(batches, schema=SCHEMA)
