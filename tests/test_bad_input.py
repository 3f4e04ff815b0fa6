"""What a careless user meets: one row per bad input or fault, run through the command line.

Every row must end in exit code 2 with one line naming the bad value and what to do, print no traceback, and
leave every file that existed before exactly as it was (hashed before and after).
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from denoise.cli import main
from denoise.outputs import output_folder
from tests.file_hashes import hashes
from tests.paths import SAMPLES
from tests.train_helpers import tiny


@dataclass(frozen=True)
class World:
    """Files a user already has: a corpus, a tokenizer, a prepared corpus, a finished run, its model in
    transformers' format, a folder of their own files, and a plain file."""

    root: Path
    corpus: Path
    tokenizer: Path
    prepared: Path
    run: Path
    hf: Path
    foreign: Path
    file: Path
    finetuned: Path

    @property
    def model(self) -> Path:
        return self.run / "model"


@pytest.fixture(scope="module")
def world(tmp_path_factory, tokenizer, corpus_documents) -> World:
    from denoise.data.prepare import prepare_corpus
    from denoise.models.checkpoint import load_model
    from denoise.models.hf import to_hf
    from denoise.train.config import load_config
    from denoise.train.loop import pretrain

    root = tmp_path_factory.mktemp("world")
    corpus = root / "corpus.txt"
    corpus.write_text("\n\n".join(corpus_documents[:60]) + "\n", encoding="utf-8")
    tokenizer_dir = root / "tokenizer"
    with output_folder(tokenizer_dir, "tokenizer train", "world") as folder:
        tokenizer.save(folder)
    prepared = root / "prepared"
    prepare_corpus([str(corpus)], tokenizer, prepared, block_size=64)
    run = root / "run"
    pretrain(load_config(None, tiny(str(prepared), steps=2)), run, progress=False)
    to_hf(load_model(run / "model"), root / "hf")
    foreign = root / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("two years of work\n")
    file = root / "notes.txt"
    file.write_text("a file, not a folder\n")
    finetuned = root / "finetuned"
    with output_folder(finetuned, "finetune", "another recipe") as folder:
        (folder / "eval.json").write_text("{}\n")
    return World(root, corpus, tokenizer_dir, prepared, run, root / "hf", foreign, file, finetuned)


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[World, Path], list[str]]  # given the world and a fresh folder for the case's own files
    message: str  # a regular expression the error must match


def pretrain_with(*settings: str) -> Callable[[World, Path], list[str]]:
    def argv(w: World, tmp: Path) -> list[str]:
        return ["pretrain", *tiny(str(w.prepared)), *settings, "--out", str(tmp / "run"), "--no-progress"]

    return argv


def finetune_with(
    *settings: str,
    init: Callable[[World, Path], Path] = lambda w, tmp: w.run,
    out: Callable[[World, Path], Path] = lambda w, tmp: tmp / "task",
) -> Callable[[World, Path], list[str]]:
    def argv(w: World, tmp: Path) -> list[str]:
        sample = str(SAMPLES / "sentiment.tsv")
        task = [f"task.train={sample}", f"task.test={sample}", "task.text_column=sentence", "max_steps=1"]
        return [
            "finetune",
            f"init={init(w, tmp)}",
            *task,
            *settings,
            "--out",
            str(out(w, tmp)),
            "--no-progress",
        ]

    return argv


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def cut(path: Path, out: Path) -> Path:
    """A copy of ``path`` cut to half its length."""
    return write(out, path.read_bytes()[: path.stat().st_size // 2])


def broken_model(w: World, tmp: Path) -> Path:
    """A copy of the run's model folder whose weights are cut short."""
    shutil.copytree(w.model, tmp / "model")
    cut(w.model / "model.safetensors", tmp / "model" / "model.safetensors")
    return tmp / "model"


def broken_run(w: World, tmp: Path) -> Path:
    """A copy of the run whose model's weights are cut short."""
    shutil.copytree(w.run, tmp / "run")
    cut(w.model / "model.safetensors", tmp / "run" / "model" / "model.safetensors")
    return tmp / "run"


def broken_hf(w: World, tmp: Path) -> Path:
    """A copy of the transformers checkpoint whose weights are cut short."""
    shutil.copytree(w.hf, tmp / "hf")
    cut(w.hf / "model.safetensors", tmp / "hf" / "model.safetensors")
    return tmp / "hf"


def gzipped_text(w: World) -> bytes:
    return gzip.compress(w.corpus.read_bytes())


def prepare(*inputs: Callable[[World, Path], Path], extra: tuple[str, ...] = ()):
    def argv(w: World, tmp: Path) -> list[str]:
        files = [str(make(w, tmp)) for make in inputs]
        return [
            "prepare",
            "--input",
            *files,
            "--tokenizer",
            str(w.tokenizer),
            "--out",
            str(tmp / "out"),
            *extra,
        ]

    return argv


def file_of(name: str, data: Callable[[World], bytes | str]) -> Callable[[World, Path], Path]:
    return lambda w, tmp: write(tmp / name, data(w))


LATIN1 = b"A fine first line.\n\nThe caf\xe9 is open.\n"

CASES = [
    # -- folders that must not be replaced -------------------------------------------------------------------
    Case(
        "convert --to-hf into the model's own folder",
        lambda w, tmp: ["convert", "--to-hf", str(w.model), "--out", str(w.model)],
        r"holds the input",
    ),
    Case(
        "convert --to-hf into the run holding the model",
        lambda w, tmp: ["convert", "--to-hf", str(w.model), "--out", str(w.run), "--overwrite"],
        r"holds the input",
    ),
    Case(
        "convert --from-hf into the checkpoint's own folder",
        lambda w, tmp: ["convert", "--from-hf", str(w.hf), "--out", str(w.hf), "--overwrite"],
        r"holds the input",
    ),
    Case(
        "convert into a folder of the user's own files",
        lambda w, tmp: ["convert", "--to-hf", str(w.model), "--out", str(w.foreign), "--overwrite"],
        r"thesis holds files that denoise did not write",
    ),
    Case(
        "convert into another denoise output",
        lambda w, tmp: ["convert", "--to-hf", str(w.model), "--out", str(w.prepared)],
        r"prepared already holds the output of `denoise prepare`.*--overwrite",
    ),
    Case(
        "pretrain into a finished run",
        lambda w, tmp: ["pretrain", *tiny(str(w.prepared), steps=2), "--out", str(w.run)],
        r"already holds a finished run; pass --resume.*--overwrite",
    ),
    Case(
        "pretrain --resume --overwrite",
        lambda w, tmp: ["pretrain", *tiny(str(w.prepared)), "--out", str(w.run), "--resume", "--overwrite"],
        r"pass one of them",
    ),
    Case(
        "pretrain into the prepared corpus it reads",
        lambda w, tmp: ["pretrain", *tiny(str(w.prepared)), "--out", str(w.prepared), "--overwrite"],
        r"holds the input",
    ),
    Case(
        "pretrain --out naming a file",
        lambda w, tmp: ["pretrain", *tiny(str(w.prepared)), "--out", str(w.file)],
        r"notes.txt is a file; name a folder",
    ),
    Case(
        "pretrain --out under a file",
        lambda w, tmp: ["pretrain", *tiny(str(w.prepared)), "--out", str(w.file / "run")],
        r"run lies under .*notes\.txt, which is a file",
    ),
    Case(
        "finetune into another fine-tuning run",
        finetune_with(out=lambda w, tmp: w.finetuned),
        r"already holds the output of `denoise finetune`.*--overwrite",
    ),
    Case(
        "finetune into the run it starts from",
        finetune_with("--overwrite", out=lambda w, tmp: w.run),
        r"holds the input",
    ),
    Case(
        "tokenizer train over an existing tokenizer",
        lambda w, tmp: [
            "tokenizer",
            "train",
            "--input",
            str(w.corpus),
            "--vocab-size",
            "500",
            "--out",
            str(w.tokenizer),
        ],
        r"tokenizer already holds the output of `denoise tokenizer train`.*--overwrite",
    ),
    Case(
        "tokenizer train into the run's tokenizer",
        lambda w, tmp: [
            "tokenizer",
            "train",
            "--input",
            str(w.corpus),
            "--vocab-size",
            "500",
            "--out",
            str(w.run / "tokenizer"),
        ],
        r"lies inside .*run, the output of `denoise pretrain`",
    ),
    Case(
        "prepare --overwrite over the user's own files",
        lambda w, tmp: [
            "prepare",
            "--input",
            str(w.corpus),
            "--tokenizer",
            str(w.tokenizer),
            "--out",
            str(w.foreign),
            "--overwrite",
        ],
        r"thesis holds files that denoise did not write",
    ),
    Case(
        "prepare other text into a prepared corpus",
        lambda w, tmp: [
            "prepare",
            "--input",
            str(write(tmp / "other.txt", "Other text.\n\nMore of it.\n")),
            "--tokenizer",
            str(w.tokenizer),
            "--out",
            str(w.prepared),
            "--block-size",
            "64",
        ],
        r"prepared already holds.*--overwrite",
    ),
    Case(
        "prepare into the folder of its input",
        lambda w, tmp: [
            "prepare",
            "--input",
            str(w.corpus),
            "--tokenizer",
            str(w.tokenizer),
            "--out",
            str(w.root),
        ],
        r"holds the input",
    ),
    Case(
        "stack a run into itself",
        lambda w, tmp: ["stack", str(w.run), "--out", str(w.run), "--overwrite"],
        r"holds the input",
    ),
    Case(
        "compare into the user's own files",
        lambda w, tmp: ["compare", "recipes/compare_tiny.yaml", "--out", str(w.foreign)],
        r"did not write",
    ),
    # -- numbers out of range --------------------------------------------------------------------------------
    Case("clip_norm -1", pretrain_with("optimizer.clip_norm=-1"), r"optimizer\.clip_norm.*-1"),
    Case("min_lr_ratio 5", pretrain_with("optimizer.min_lr_ratio=5"), r"optimizer\.min_lr_ratio.*5"),
    Case(
        "weight_decay -0.1", pretrain_with("optimizer.weight_decay=-0.1"), r"optimizer\.weight_decay.*-0\.1"
    ),
    Case("warmup_steps -1", pretrain_with("optimizer.warmup_steps=-1"), r"optimizer\.warmup_steps.*-1"),
    Case("sharding zero3", pretrain_with("training.sharding=zero3"), r"training\.sharding.*zero3.*fsdp"),
    Case(
        "a span head on BART",
        pretrain_with("model.family=bart", "model.span_head=true"),
        r"model\.span_head.*'bart'",
    ),
    Case(
        "sharded checkpoints without sharding",
        pretrain_with("training.sharded_checkpoints=true"),
        r"training\.sharded_checkpoints.*training\.sharding=fsdp",
    ),
    Case(
        "shard_processes without sharding",
        pretrain_with("training.shard_processes=2"),
        r"training\.shard_processes=2.*training\.sharding=fsdp",
    ),
    Case(
        "fsdp in fp16",
        pretrain_with("training.sharding=fsdp", "training.precision=fp16"),
        r"training\.sharding=fsdp.*fp16.*training\.precision=bf16",
    ),
    Case("lr -1", pretrain_with("optimizer.lr=-1"), r"optimizer\.lr.*-1"),
    Case("lr 0", pretrain_with("optimizer.lr=0"), r"optimizer\.lr.*0"),
    Case("betas [2, 3]", pretrain_with("optimizer.betas=[2,3]"), r"optimizer\.betas.*2"),
    Case("eps 0", pretrain_with("optimizer.eps=0"), r"optimizer\.eps.*0"),
    Case("max_steps -5", pretrain_with("training.max_steps=-5"), r"training\.max_steps.*-5"),
    Case("max_steps 0", pretrain_with("training.max_steps=0"), r"training\.max_steps.*0"),
    Case("num_layers 0", pretrain_with("model.num_layers=0"), r"model\.num_layers.*0"),
    Case("num_heads 0", pretrain_with("model.num_heads=0"), r"model\.num_heads.*0"),
    Case("dropout 2", pretrain_with("model.dropout=2"), r"model\.dropout.*2"),
    Case("threads -1", pretrain_with("training.threads=-1"), r"training\.threads.*-1"),
    Case("num_workers -1", pretrain_with("data.num_workers=-1"), r"data\.num_workers.*-1"),
    Case("global_batch 0", pretrain_with("training.global_batch=0"), r"training\.global_batch.*0"),
    Case(
        "a mask rate of 0",
        pretrain_with("corruption={name: nothing, steps: [{op: mask, rate: 0.0}]}"),
        r"mask.*rate must be in \(0, 1\], got 0",
    ),
    Case("qa doc_stride -5", finetune_with("qa.doc_stride=-5"), r"qa\.doc_stride.*-5"),
    Case("finetune lr -1", finetune_with("optimizer.lr=-1"), r"optimizer\.lr.*-1"),
    Case("finetune epochs 0", finetune_with("epochs=0"), r"epochs.*0"),
    Case(
        "corrupt --limit -1",
        lambda w, tmp: [
            "corrupt",
            "bert",
            "--input",
            str(w.corpus),
            "--tokenizer",
            str(w.tokenizer),
            "--limit",
            "-1",
        ],
        r"--limit: must be at least 1, got -1",
    ),
    Case(
        "tokenizer train --vocab-size 0",
        lambda w, tmp: [
            "tokenizer",
            "train",
            "--input",
            str(w.corpus),
            "--vocab-size",
            "0",
            "--out",
            str(tmp / "t"),
        ],
        r"--vocab-size: must be at least 1, got 0",
    ),
    Case(
        "prepare --block-size -1",
        lambda w, tmp: ["prepare", "--input", str(w.corpus), "--block-size", "-1", "--out", str(tmp / "o")],
        r"--block-size: must be at least 1, got -1",
    ),
    Case(
        "prepare --num-proc 0",
        lambda w, tmp: ["prepare", "--input", str(w.corpus), "--num-proc", "0", "--out", str(tmp / "o")],
        r"--num-proc: must be at least 1, got 0",
    ),
    # -- broken files and files of the wrong kind ------------------------------------------------------------
    Case(
        "a truncated .txt.gz",
        prepare(lambda w, tmp: write(tmp / "corpus.txt.gz", gzipped_text(w)[:2000])),
        r"corpus\.txt\.gz.*(truncated|corrupt)",
    ),
    Case(
        "a garbled .txt.gz",
        prepare(
            lambda w, tmp: write(
                tmp / "corpus.txt.gz", gzipped_text(w)[:100] + b"\x00" * 500 + gzipped_text(w)[600:]
            )
        ),
        r"corpus\.txt\.gz.*(truncated|corrupt)",
    ),
    Case(
        "a .txt.gz that is not gzip",
        prepare(lambda w, tmp: write(tmp / "corpus.txt.gz", w.corpus.read_bytes())),
        r"corpus\.txt\.gz.*(gzip|corrupt)",
    ),
    Case(
        "a JSONL line that is not JSON",
        prepare(
            lambda w, tmp: write(
                tmp / "rows.jsonl", '{"text": "One."}\n{"text": "Two."\n{"text": "Three."}\n'
            )
        ),
        r"rows\.jsonl.*line 2",
    ),
    Case(
        "a JSONL text that is a number",
        prepare(lambda w, tmp: write(tmp / "rows.jsonl", '{"text": "One."}\n{"text": 2}\n')),
        r"rows\.jsonl.*line 2.*text",
    ),
    Case(
        "a .parquet that is not one",
        prepare(lambda w, tmp: write(tmp / "rows.parquet", "text\nnot parquet at all\n")),
        r"rows\.parquet.*[Pp]arquet",
    ),
    Case(
        "a non-UTF-8 .txt for tokenizer train",
        lambda w, tmp: [
            "tokenizer",
            "train",
            "--input",
            str(write(tmp / "l.txt", LATIN1)),
            "--vocab-size",
            "400",
            "--out",
            str(tmp / "t"),
        ],
        r"l\.txt: line 3.*not UTF-8.*--encoding-errors replace",
    ),
    Case(
        "a broken tokenizer folder",
        lambda w, tmp: [
            "prepare",
            "--input",
            str(w.corpus),
            "--tokenizer",
            str(cut(w.tokenizer / "spm.model", tmp / "tok" / "spm.model").parent),
            "--out",
            str(tmp / "o"),
        ],
        r"tok",
    ),
    Case(
        "a model folder given as a tokenizer",
        lambda w, tmp: [
            "prepare",
            "--input",
            str(w.corpus),
            "--tokenizer",
            str(w.model),
            "--out",
            str(tmp / "o"),
        ],
        r"model",
    ),
    Case(
        "a truncated model.safetensors in embed",
        lambda w, tmp: ["embed", str(broken_model(w, tmp)), "--demo"],
        r"model\.safetensors is cut short",
    ),
    Case(
        "a truncated model.safetensors in convert",
        lambda w, tmp: ["convert", "--to-hf", str(broken_model(w, tmp)), "--out", str(tmp / "hf")],
        r"model\.safetensors is cut short",
    ),
    Case(
        "a truncated model.safetensors as finetune's init",
        finetune_with(init=broken_run),
        r"model\.safetensors is cut short",
    ),
    Case(
        "a truncated transformers checkpoint",
        lambda w, tmp: ["convert", "--from-hf", str(broken_hf(w, tmp)), "--out", str(tmp / "m")],
        r"model\.safetensors is cut short",
    ),
    Case(
        "tagging given a .tsv table",
        finetune_with("task.kind=tagging"),
        r"sentiment\.tsv.*tagging",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_exits_2_naming_it_and_changes_nothing(case, world, tmp_path, capsys):
    argv = case.argv(world, tmp_path)
    before, own = hashes(world.root), hashes(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert re.search(r"^denoise( [a-z]+)*: error: ", last), err
    assert re.search(case.message, last), last
    assert hashes(world.root) == before
    after = hashes(tmp_path)
    assert {path: after.get(path) for path in own} == own  # the case's own files too (caches may appear)


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one_and_resume_goes_on(
    world, tmp_path, capsys, monkeypatch
):
    import torch

    from denoise.train.checkpoints import complete_checkpoints, problem

    out = tmp_path / "run"
    argv = ["pretrain", *tiny(str(world.prepared), "training.checkpoint_interval=1", steps=3)]
    argv += ["--out", str(out), "--no-progress"]
    save = torch.save

    def filling_up(state, path, *args, **kwargs):
        if "step-00000002" in str(path):  # what torch's archive writer says when the disk is full
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 93120 vs 93012")
        return save(state, path, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(torch, "save", filling_up)
        with pytest.raises(SystemExit) as exited:
            main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "is the disk full?" in err and "--resume" in err
    kept = complete_checkpoints(out)
    assert [c.name for c in kept] == ["step-00000001"] and problem(kept[0]) is None
    main([*argv, "--resume"])
    assert [c.name for c in complete_checkpoints(out)] == ["step-00000002", "step-00000003"]


def refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["tokenizer train", "prepare", "pretrain"])
def test_the_advice_for_text_that_is_not_utf8_works_as_written(command, world, tmp_path, capsys):
    latin1 = write(tmp_path / "latin1.txt", LATIN1 + world.corpus.read_bytes())
    argv = {
        "tokenizer train": ["tokenizer", "train", "--input", str(latin1), "--vocab-size", "500"],
        "prepare": ["prepare", "--input", str(latin1), "--tokenizer", str(world.tokenizer)],
        "pretrain": [
            "pretrain",
            *tiny("", steps=1)[1:],
            f"data.corpus=[{latin1}]",
            f"data.tokenizer={world.tokenizer}",
        ],
    }[command] + ["--out", str(tmp_path / "out")]
    err = refused(argv, capsys)
    advice = "--encoding-errors replace" if command != "pretrain" else "data.encoding_errors=replace"
    assert advice in err, err
    main(argv + advice.split(" ") if command != "pretrain" else argv + [advice])
    assert (tmp_path / "out").is_dir()


def test_the_advice_to_pass_overwrite_works_and_replaces_only_denoise_outputs(world, tmp_path, capsys):
    tokenizer = tmp_path / "tokenizer"
    shutil.copytree(world.tokenizer, tokenizer)
    argv = [
        "tokenizer",
        "train",
        "--input",
        str(world.corpus),
        "--vocab-size",
        "500",
        "--out",
        str(tokenizer),
    ]
    assert "pass --overwrite" in refused(argv, capsys)
    main([*argv, "--overwrite"])
    from denoise.tokenizer import Tokenizer

    assert Tokenizer.load(tokenizer).vocab_size == 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer"]  # nothing left beside it


def test_the_advice_to_resume_a_finished_run_works(world, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(world.run, run)
    argv = ["pretrain", *tiny(str(world.prepared), steps=3), "--out", str(run), "--no-progress"]
    assert "pass --resume to extend it (with a larger training.max_steps)" in refused(argv, capsys)
    main([*argv, "--resume"])
    assert "3 steps" in capsys.readouterr().out
