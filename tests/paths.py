"""Where the tests' files are: the repository, its recipes, and the fixtures shipped with the tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = FIXTURES / "task_samples"  # small task files of every format
LEGACY_MODELS = FIXTURES / "legacy_models"  # written by denoise before families and task kinds were records
