from . import (
    test_i18n,
    test_matching,
    test_recording,
    test_settings,
    test_sync,
    test_sync_concurrency,
    test_sync_engine,
    test_sync_hostile,
    test_sync_vietnamese,
    test_test_connection,
    test_tour,
)
