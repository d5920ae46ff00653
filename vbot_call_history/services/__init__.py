"""VBot service layer: plain Python (no ``odoo`` import), testable without a database.

``client``   HTTP to VBot's Open API: auth, one ``_request`` choke-point, paging, recordings.
``mapping``  a call group of the API -> plain field values, bounded and cleaned.
``phone``    Vietnamese phone numbers -> E.164 and the keys that match calls to contacts.
``windows``  planning of sync windows, local days, retry and backoff delays, time budgets.
``urlpolicy`` where credentials may go: allowed hosts, strict URL parsing, address checks.
"""
