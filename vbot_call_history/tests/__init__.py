from . import (
    test_i18n,
    test_incoming_tour,
    test_matching,
    test_migration,
    test_recording,
    test_security,
    test_settings,
    test_sync,
    test_tour,
    test_webhook,
    test_webhook_simulator,
)
