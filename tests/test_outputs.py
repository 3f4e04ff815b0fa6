import re

import pytest

from denoise.errors import DenoiseError
from denoise.outputs import MARKER, NEW, REPLACE, SAME, Marker, check_output, output_folder, read_marker
from tests.file_hashes import hashes


def written(folder, command="pretrain", run="a"):
    with output_folder(folder, command, run) as staging:
        (staging / "result.txt").write_text(f"{command} {run}")
    return folder


def test_a_new_or_empty_folder_is_taken(tmp_path):
    assert check_output(tmp_path / "new", "pretrain") == NEW
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", "pretrain") == NEW


def test_an_output_is_marked_with_its_command_and_run(tmp_path):
    out = written(tmp_path / "out")
    assert read_marker(out) == Marker("pretrain", "a")
    assert check_output(out, "pretrain", "a") == SAME
    assert check_output(out, "pretrain") == SAME  # any run of the command, which then checks the rest
    assert check_output(out, "pretrain", "b", overwrite=True) == REPLACE


@pytest.mark.parametrize("command, run", [("pretrain", "b"), ("finetune", "a")])
def test_another_run_or_command_needs_overwrite(tmp_path, command, run):
    out = written(tmp_path / "out")
    with pytest.raises(DenoiseError, match=re.escape(str(out)) + ".*`denoise pretrain` \\(a\\).*--overwrite"):
        check_output(out, command, run)


def test_files_denoise_did_not_write_are_never_replaced(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(DenoiseError, match="did not write"):
            check_output(out, "convert", "x", overwrite=overwrite)
    assert (out / "chapter1.tex").read_text() == "precious"


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DenoiseError, match="is a file"):
        check_output(tmp_path / "file", "prepare", flag="--out")


@pytest.mark.parametrize("inside", ["", "model"])
def test_an_output_never_holds_an_input(tmp_path, inside):
    out = written(tmp_path / "out", "convert", "x")
    source = out / inside
    source.mkdir(exist_ok=True)
    for overwrite in (False, True):
        with pytest.raises(DenoiseError, match="holds the input"):
            check_output(out, "convert", "y", inputs=[source], overwrite=overwrite)


def test_a_failed_write_leaves_the_old_output_as_it_was(tmp_path):
    out = written(tmp_path / "out")
    before = hashes(out)
    with pytest.raises(OSError):
        with output_folder(out, "pretrain", "b", overwrite=True) as staging:
            (staging / "result.txt").write_text("half")
            raise OSError(28, "No space left on device")
    assert hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_replaced_output_is_the_new_one(tmp_path):
    out = written(tmp_path / "out")
    with output_folder(out, "finetune", "c", overwrite=True) as staging:
        (staging / "eval.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "eval.json"])
    assert read_marker(out) == Marker("finetune", "c")


def test_legacy_outputs_are_recognised_by_their_command(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "manifest.json").write_text("{}")

    def legacy(folder):
        return Marker("prepare") if (folder / "manifest.json").exists() else None

    assert check_output(out, "prepare", legacy=legacy) == SAME
    with pytest.raises(DenoiseError, match="--overwrite"):
        check_output(out, "prepare", "fingerprint", legacy=legacy)


def test_a_garbled_marker_is_named(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text("{not json")
    with pytest.raises(DenoiseError, match=re.escape(MARKER)):
        check_output(out, "pretrain")


def test_no_output_is_written_inside_another(tmp_path):
    run = written(tmp_path / "run")
    (run / "tokenizer").mkdir()
    for overwrite in (False, True):
        with pytest.raises(DenoiseError, match="lies inside .*`denoise pretrain`"):
            check_output(run / "tokenizer", "tokenizer train", "t", overwrite=overwrite)


def test_a_grid_holds_the_outputs_of_other_commands(tmp_path):
    grid = written(tmp_path / "grid", "compare", "g")
    assert check_output(grid / "pretrain" / "cell", "pretrain") == NEW
