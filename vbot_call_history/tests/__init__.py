from . import (
    test_followup,
    test_i18n,
    test_matching,
    test_members,
    test_migration,
    test_recording,
    test_sales_tour,
    test_security,
    test_settings,
    test_sync,
    test_tour,
    test_unknown_numbers,
)
