from tests.comms.conftest import dncl, identity, live  # noqa: F401  (shared outreach fixtures)
