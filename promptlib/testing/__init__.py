"""Testing prompts without a network: a mock provider, snapshots, template test cases."""

from promptlib.testing._batch_emulator import BatchEmulator
from promptlib.testing._cassette import Cassette, ReplayMissError
from promptlib.testing._cassette_file import CassetteError
from promptlib.testing._fake import fake_from_schema
from promptlib.testing._mock import MockCall, MockProvider, MockStream
from promptlib.testing._script import Failure

__all__ = [
    "BatchEmulator",
    "Cassette",
    "CassetteError",
    "Failure",
    "MockCall",
    "MockProvider",
    "MockStream",
    "ReplayMissError",
    "fake_from_schema",
]
