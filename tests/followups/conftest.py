from tests.comms.conftest import consented, dncl, identity, live  # noqa: F401  (shared outreach fixtures)
