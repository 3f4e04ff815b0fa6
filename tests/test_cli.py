import pytest

from denoise.cli import main, parse


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


@pytest.fixture
def corpus_file(tmp_path, training_text):
    path = tmp_path / "plays.txt"
    path.write_text(training_text[:60_000], encoding="utf-8")
    return path


def test_corrupt_list_shows_every_op_and_recipe(capsys):
    from denoise.corruption.recipe import available_recipes
    from denoise.corruption.registry import OPS

    main(["corrupt", "--list"])
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in OPS)
    assert all(f"  {name} " in out for name in available_recipes())
    assert "rate=0.15" in out and "density=0.15" in out


def test_corrupt_jsonl_for_t5_and_roberta(tmp_path, capsys, corpus_file, tokenizer):
    import json

    from denoise.corruption.span import merge_on_sentinels

    tokenizer.save(tmp_path / "tok")
    base = [
        "--input",
        str(corpus_file),
        "--tokenizer",
        str(tmp_path / "tok"),
        "--block-size",
        "64",
        "--jsonl",
    ]
    main(["corrupt", "t5", *base, "--seed", "3"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) > 100 and set(records[0]) == {"original", "source", "target"}
    for r in records:
        assert merge_on_sentinels(r["source"], r["target"], tokenizer.sentinel_ids).tolist() == r["original"]
    main(["corrupt", "roberta", *base, "--limit", "5"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 5
    for r in records:
        restored = [t if t != -100 else s for s, t in zip(r["source"], r["target"])]
        assert restored == r["original"] and sum(t != -100 for t in r["target"]) == round(64 * 0.15)


def test_corrupt_shows_text_side_by_side(tmp_path, capsys, corpus_file, tokenizer):
    tokenizer.save(tmp_path / "tok")
    main(
        ["corrupt", "bart", "--input", str(corpus_file), "--tokenizer", str(tmp_path / "tok"), "--limit", "2"]
    )
    out = capsys.readouterr().out
    assert out.count("source") == 2 and "<mask>" in out and " | " in out


def test_corrupt_refuses_an_incompatible_family(tmp_path, capsys, corpus_file, tokenizer):
    tokenizer.save(tmp_path / "tok")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "corrupt",
                "bart",
                "--family",
                "bert",
                "--input",
                str(corpus_file),
                "--tokenizer",
                str(tmp_path / "tok"),
            ]
        )
    assert exit_info.value.code == 2
    assert "op 'infill' changes the sequence length" in capsys.readouterr().err


def test_tokenizer_train_can_reuse_a_saved_sentence_model(tmp_path, corpus_file, tokenizer):
    from denoise.tokenizer import Tokenizer

    tokenizer.splitter.save(tmp_path / "punkt.json")
    main(
        [
            "tokenizer",
            "train",
            "--input",
            str(corpus_file),
            "--vocab-size",
            "700",
            "--out",
            str(tmp_path / "t"),
            "--sentence-model",
            str(tmp_path / "punkt.json"),
        ]
    )
    assert Tokenizer.load(tmp_path / "t").splitter.state() == tokenizer.splitter.state()


def test_settings_may_follow_options():
    args = parse(["pretrain", "r.yaml", "--out", "o", "training.max_steps=3", "seed=1"])
    assert args.settings == ["r.yaml", "training.max_steps=3", "seed=1"]
    assert str(args.out) == "o"


def test_unknown_options_are_still_refused(capsys):
    with pytest.raises(SystemExit):
        parse(["pretrain", "r.yaml", "--outt", "o"])
    assert "--outt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["corrupt", "bert", "x=1"])
