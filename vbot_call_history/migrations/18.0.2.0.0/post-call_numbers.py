"""Calls show their number in one national format (``0912 345 678``): fill it for the
calls stored before, one UPDATE per thousand distinct numbers."""

from odoo.addons.vbot_call_history.services.phone import national_format

_BATCH = 1000


def migrate(cr, version):
    cr.execute(
        "SELECT DISTINCT customer_number FROM vbot_call"
        " WHERE customer_display IS NULL AND customer_number IS NOT NULL"
    )
    numbers = [row[0] for row in cr.fetchall()]
    for start in range(0, len(numbers), _BATCH):
        batch = [(number, national_format(number)) for number in numbers[start : start + _BATCH]]
        rows = ", ".join(["(%s, %s)"] * len(batch))
        cr.execute(
            f"""
            UPDATE vbot_call AS c SET customer_display = v.shown
              FROM (VALUES {rows}) AS v(number, shown)
             WHERE c.customer_number = v.number AND c.customer_display IS NULL
            """,
            [value for pair in batch for value in pair],
        )
