"""Testing prompts without a network: a mock provider, snapshots, template test cases."""

from promptlib.testing._cassette import Cassette, ReplayMissError
from promptlib.testing._cassette_file import CassetteError
from promptlib.testing._fake import fake_from_schema
from promptlib.testing._mock import MockCall, MockProvider
from promptlib.testing._script import Failure

__all__ = [
    "Cassette",
    "CassetteError",
    "Failure",
    "MockCall",
    "MockProvider",
    "ReplayMissError",
    "fake_from_schema",
]
