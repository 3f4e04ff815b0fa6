import pytest

from denoise.cli import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "tokenizer" in out and "prepare" in out


def test_tokenizer_train_then_prepare(tmp_path, capsys, training_text):
    corpus = tmp_path / "plays.txt"
    corpus.write_text(training_text[:300_000], encoding="utf-8")
    main(
        ["tokenizer", "train", "--input", str(corpus), "--vocab-size", "1200", "--out", str(tmp_path / "tok")]
    )
    assert (tmp_path / "tok" / "spm.model").exists() and (tmp_path / "tok" / "punkt.json").exists()
    main(
        [
            "prepare",
            "--input",
            str(corpus),
            "--tokenizer",
            str(tmp_path / "tok"),
            "--block-size",
            "128",
            "--out",
            str(tmp_path / "blocks"),
        ]
    )
    out = capsys.readouterr().out
    blocks = int(out.split("blocks: ")[1].split()[0])
    fill = float(out.split("fill ratio: ")[1].split()[0])
    assert blocks > 100 and 0.99 < fill <= 1.0
    main(
        [
            "prepare",
            "--input",
            str(corpus),
            "--tokenizer",
            str(tmp_path / "tok"),
            "--block-size",
            "128",
            "--out",
            str(tmp_path / "blocks"),
        ]
    )
    assert "served from cache" in capsys.readouterr().out


def test_prepare_without_tokenizer_trains_and_caches_one(tmp_path, capsys, training_text):
    corpus = tmp_path / "plays.txt"
    corpus.write_text(training_text[:200_000], encoding="utf-8")
    args = ["prepare", "--input", str(corpus), "--vocab-size", "900", "--block-size", "64"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    second = capsys.readouterr().out
    assert "prepared in" in first and "served from cache" in second
    assert first.split("blocks: ")[1] == second.split("blocks: ")[1]
