from . import test_i18n, test_matching, test_recording, test_settings, test_sync, test_tour
from . import test_sync_hostile
from . import test_sync_engine
from . import test_sync_concurrency
from . import test_sync_vietnamese, test_test_connection
