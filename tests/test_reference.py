"""The configuration reference in docs/ is the one the code writes, and it describes every key."""

from denoise.reference import page
from tests.paths import ROOT


def test_the_committed_reference_is_up_to_date():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == page(), (
        "docs/configuration.md is stale: python -m denoise.reference > docs/configuration.md"
    )


def test_every_key_is_described():
    undescribed = [line for line in page().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert not undescribed, f"keys without a comment in their dataclass: {undescribed}"
