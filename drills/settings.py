"""Settings of the processes a drill starts (gunicorn, Celery workers, helper children): the
test settings, with tasks sent to the broker instead of run in-process, and GHL pointed at the
drill's own stand-in. The broker's visibility timeout is cut from an hour to a few seconds so a
task of a SIGKILLed worker is delivered again within the drill, not an hour later; everything
else about redelivery is production's (late acks, reject on worker lost, prefetch 1)."""

import os

from saas_platform.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("DRILL_VISIBILITY", "10")),
    "unacked_restore_interval": 1,  # look for abandoned tasks every second...
    "unacked_restore_throttle": 1,  # ...really
}
GHL_API_BASE = os.environ.get("DRILL_GHL_BASE", GHL_API_BASE)  # noqa: F405
GHL_MARKETPLACE_BASE = GHL_API_BASE
GHL_RATE_KEY_PREFIX = os.environ.get("DRILL_RATE_PREFIX", "drill:ghl:rl")
CACHES["default"]["KEY_PREFIX"] = "drill"  # noqa: F405
