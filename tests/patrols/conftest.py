from tests.cases.conftest import catalogue, clock  # noqa: F401  (a finding is a request)
