#!/usr/bin/env python3
"""Labelled corpus for the PII detectors' precision/recall test.

Writes JSON lines to stdout, one sample per line:

    {"text": "...", "spans": [{"start": 12, "end": 29, "class": "email"}, ...]}

Offsets are UTF-8 byte offsets into "text" (what Rust's str indexes with),
end exclusive. Positive values come from Faker (PyPI) in several locales;
look-alike negatives (order ids, timestamps, Luhn-failing digit runs,
version strings, UUIDs, tracking numbers, prices, EANs, ISBNs, MACs, IBANs
and SSNs with broken checks) carry no span. Deterministic for a given seed
and Faker version (pinned in requirements.txt beside this file).

    target/test-venv/bin/python masking/tests/corpus/generate.py --count 2000 --seed 13
"""

import argparse
import json
import random
import sys

from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL"]

# Words around the values, some non-ASCII so that byte and code-point
# offsets differ.
LEADS = {
    "email": ["Contact:", "E-Mail an", "écrire à", "mail", "Kontakt →", "reply-to"],
    "card_number": ["Card", "Karte", "carte n°", "paid with", "PAN", "kaart"],
    "iban": ["IBAN", "Überweisung auf", "virement vers", "rekening", "pay to"],
    "phone": ["Tel.", "call", "Téléphone :", "bel", "phone", "☎"],
    "national_id": ["SSN", "social security no.", "SSN:"],
    "ip_address": ["from", "client", "Adresse", "remote_addr=", "IP"],
    None: ["order", "Bestellung", "ref", "at", "version", "commande", "id", "tracking", "total", "EAN"],
}
TRAILS = [".", ",", "", ";", " ✓", " —", "!", " (ok)"]
FILLERS = ["Grüße aus Köln", "merci beaucoup", "naïve café", "see below", "bedankt",
           "客户备注", "status: ok", "as discussed", "Größe M", "à bientôt"]


def digits(rng, n, first="0123456789"):
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def luhn_ok(s):
    ds = [int(c) for c in s if c.isdigit()][::-1]
    total = 0
    for i, d in enumerate(ds):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def group(s, sizes, sep):
    out, i = [], 0
    for n in sizes:
        if i >= len(s):
            break
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(out)


def positive(fake, locale, rng):
    """(class, value) of one personal-data value."""
    classes = ["email", "card_number", "iban", "phone", "ip_address"]
    if locale == "en_US":
        classes.append("national_id")
    cls = rng.choice(classes)
    if cls == "email":
        return cls, rng.choice([fake.email, fake.free_email, fake.company_email])()
    if cls == "card_number":
        v = fake.credit_card_number()
        r = rng.random()
        if r < 0.2:
            v = group(v, [4, 6, 5] if len(v) == 15 else [4, 4, 4, 4], " ")
        elif r < 0.3:
            v = group(v, [4, 4, 4, 4], "-")
        return cls, v
    if cls == "iban":
        v = fake.iban()
        if rng.random() < 0.4:
            v = group(v, [4] * 9, " ")
        # About one in ten as people type them, in lower case: chosen by
        # the value, not the generator, so the rest of the corpus stays
        # what it was.
        if sum(v.encode()) % 10 == 0:
            v = v.lower()
        return cls, v
    if cls == "phone":
        return cls, fake.phone_number()
    if cls == "national_id":
        return cls, fake.ssn()
    return cls, fake.ipv6() if rng.random() < 0.35 else fake.ipv4()


def negative(fake, rng):
    """A look-alike that is not personal data."""
    kind = rng.randrange(16)
    if kind == 0:
        return f"ORD-{digits(rng, 16, '3456')}-{digits(rng, 2)}"
    if kind == 1:
        return rng.choice([f"#{digits(rng, 9)}", f"INV-{rng.randint(2015, 2026)}-{digits(rng, 6)}",
                           f"PO{digits(rng, 10)}"])
    if kind == 2:
        dt = fake.date_time()
        return rng.choice([dt.isoformat() + "Z", dt.isoformat(), dt.strftime("%Y-%m-%d %H:%M:%S"),
                           dt.strftime("%d/%m/%Y"), dt.strftime("%d.%m.%Y %H:%M")])
    if kind == 3:
        return str(int(fake.date_time().timestamp() * 1000))
    if kind == 4:
        # Card-length digit runs that fail Luhn.
        while True:
            v = digits(rng, rng.randint(13, 19), "123456789")
            if not luhn_ok(v):
                return v
    if kind == 5:
        a, b, c, d, e = (rng.randint(0, 20) for _ in range(5))
        return rng.choice([f"{a}.{b}.{c}", f"v{a}.{b}.{c}.{d}", f"{a}.{b}.{c}.{d}.{e}",
                           f"version {a}.{b}.{c}.{d}", f"10.0.{rng.randint(10000, 22631)}.{rng.randint(1, 5000)}",
                           f"{a}.{b}.{c}.{d}"])
    if kind == 6:
        return fake.uuid4()
    if kind == 7:
        return rng.choice([
            "1Z" + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(16)),
            group("94" + digits(rng, 20), [4] * 6, " "),
            digits(rng, 12),
        ])
    if kind == 8:
        return rng.choice([fake.pricetag(), f"€ {rng.randint(1, 9)}.{digits(rng, 3)},{digits(rng, 2)}",
                           f"{rng.randint(1, 999)},{digits(rng, 2)} €"])
    if kind == 9:
        return fake.ean13()
    if kind == 10:
        return fake.isbn13()
    if kind == 11:
        return fake.mac_address()
    if kind == 12:
        # An IBAN whose check digits are wrong.
        v = fake.iban()
        cd = (int(v[2:4]) + rng.randint(1, 96)) % 97
        return v[:2] + f"{max(cd, 2):02d}" + v[4:]
    if kind == 13:
        return rng.choice(["000", "666", str(rng.randint(900, 999))]) + f"-{digits(rng, 2)}-{digits(rng, 4)}"
    if kind == 14:
        return digits(rng, 10, "123456789")
    return fake.time()


def sample(faker, rng):
    locale = rng.choice(LOCALES)
    fake = faker[locale]
    items = []
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2])):
        items.append(positive(fake, locale, rng))
    for _ in range(rng.choice([0, 1, 1, 2])):
        items.append((None, negative(fake, rng)))
    if not items:
        items.append((None, negative(fake, rng)))
    rng.shuffle(items)

    text, spans = "", []

    def add(s):
        nonlocal text
        text += s

    if rng.random() < 0.5:
        add(rng.choice(FILLERS) + ": ")
    for i, (cls, value) in enumerate(items):
        if i:
            add(rng.choice([" ", ", ", " und ", " et ", "; ", " — "]))
        add(rng.choice(LEADS[cls]) + " ")
        wrap = rng.random() < 0.15
        if wrap:
            add("(")
        start = len(text.encode("utf-8"))
        add(value)
        end = len(text.encode("utf-8"))
        if wrap:
            add(")")
        if cls is not None:
            spans.append({"start": start, "end": end, "class": cls})
        add(rng.choice(TRAILS))
    if rng.random() < 0.3:
        add(" " + rng.choice(FILLERS))
    return {"text": text, "spans": spans}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    Faker.seed(args.seed)
    faker = Faker(LOCALES)
    rng = random.Random(args.seed)
    out = sys.stdout
    for _ in range(args.count):
        out.write(json.dumps(sample(faker, rng), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
