"""The ``denoise`` command. Each subcommand parses its arguments, sets what is the process's to set (torch's
threads), and calls one library function."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path

from denoise.errors import DenoiseError


def at_least(low: int):
    """An argparse type: an integer of at least ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def share(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value:g}")
    return value


def add_overwrite(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace {what} in --out written by another denoise command or run (the old one stays until the "
        "new one is complete); a folder of other files is never replaced",
    )


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        nargs="+",
        default=[],
        metavar="FILE",
        help="corpus files or folders (.txt with blank lines between documents, .jsonl, .parquet; "
        "'hub:NAME[:CONFIG]' for a hub dataset such as hub:wikipedia); default: the embedded corpus",
    )
    parser.add_argument("--text-column", default="text", help="text column of .jsonl/.parquet/hub inputs")


def use_threads(threads: int | None) -> None:
    """torch's intra-op threads for this process (a recipe's ``threads``); None leaves torch's default."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def cmd_tokenizer_train(args: argparse.Namespace) -> None:
    from denoise.data.sentences import SentenceSplitter
    from denoise.data.sources import describe_inputs
    from denoise.outputs import Marker, output_folder, run_id
    from denoise.tokenizer import Tokenizer, is_tokenizer_dir

    settings = {k: v for k, v in vars(args).items() if k not in ("run", "out", "overwrite", "input")}
    run = run_id(describe_inputs(args.input), settings)

    def legacy(folder: Path) -> Marker | None:
        return Marker("tokenizer train") if is_tokenizer_dir(folder) else None

    with output_folder(
        args.out, "tokenizer train", run, inputs=args.input, overwrite=args.overwrite, legacy=legacy
    ) as folder:
        splitter = SentenceSplitter.from_nltk(args.sentence_model) if args.sentence_model else None
        tokenizer = Tokenizer.train(
            args.input,
            args.vocab_size,
            folder,
            model_type=args.model_type,
            num_sentinels=args.num_sentinels,
            character_coverage=args.character_coverage,
            max_sentences=args.max_sentences,
            text_column=args.text_column,
            splitter=splitter,
            encoding_errors=args.encoding_errors,
        )
    print(f"tokenizer with {tokenizer.vocab_size} pieces ({args.model_type}) saved to {args.out}")


def cmd_prepare(args: argparse.Namespace) -> None:
    from denoise.data.prepare import default_corpus_dir, prepare_corpus
    from denoise.tokenizer import Tokenizer, cached_tokenizer

    if args.tokenizer:
        tokenizer = Tokenizer.load(args.tokenizer)
    else:
        print(
            f"no --tokenizer: using a {args.vocab_size}-piece tokenizer trained on the inputs (trained once, then cached)"
        )
        tokenizer = cached_tokenizer(
            args.input, args.vocab_size, text_column=args.text_column, encoding_errors=args.encoding_errors
        )
    out = args.out or default_corpus_dir(args.input, args.block_size)
    stats = prepare_corpus(
        args.input,
        tokenizer,
        out,
        block_size=args.block_size,
        num_proc=args.num_proc,
        text_column=args.text_column,
        encoding_errors=args.encoding_errors,
        streaming=args.streaming,
        overwrite=args.overwrite or args.out is None,
    )
    print(f"{out}: {stats.summary()}")
    print(f"blocks: {stats.blocks}")
    print(f"fill ratio: {stats.fill_ratio:.4f}")


def fraction(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def cmd_corrupt(args: argparse.Namespace) -> None:

    from denoise.corruption.base import Vocab
    from denoise.corruption.preview import catalogue, corrupt_rows, default_kind, show
    from denoise.corruption.recipe import Recipe
    from denoise.data.prepare import stream_blocks
    from denoise.models.families import family_named
    from denoise.tokenizer import Tokenizer, cached_tokenizer

    if args.list:
        print(catalogue())
        return
    if not args.recipe:
        raise DenoiseError("name a recipe (e.g. `denoise corrupt bart`) or pass --list to see them")
    recipe = Recipe.load(args.recipe)
    tokenizer = Tokenizer.load(args.tokenizer) if args.tokenizer else cached_tokenizer(args.input)
    vocab = Vocab.from_tokenizer(tokenizer)
    kind = family_named(args.family, "--family").kind if args.family else default_kind(recipe, vocab)
    blocks = stream_blocks(args.input, tokenizer, args.block_size, args.text_column)
    limit = args.limit if args.limit is not None else (None if args.jsonl else 4)
    rows = corrupt_rows(
        recipe, blocks, vocab, kind, args.block_size, seed=args.seed, limit=limit, progress=args.progress
    )
    for item in rows:
        if args.jsonl:
            print(json.dumps(item.record()))
        else:
            print(show(item, tokenizer) + "\n")


def cmd_convert(args: argparse.Namespace) -> None:
    from denoise.export import model_to_export, write_hf_folder
    from denoise.models.checkpoint import save_model
    from denoise.models.hf import copy_tokenizer_files, from_hf
    from denoise.outputs import output_folder

    source = args.from_hf or model_to_export(args.to_hf, args.backbone_only)
    run = f"{'from' if args.from_hf else 'to'} transformers: {source.resolve()}"
    with output_folder(args.out, "convert", run, inputs=[source], overwrite=args.overwrite) as folder:
        if args.from_hf:
            model = from_hf(source)
            save_model(model, folder)
            copied = copy_tokenizer_files(source, folder)
            done = f"denoise {type(model).__name__}; tokenizer files: {', '.join(copied) or 'none'}"
        else:
            written = write_hf_folder(source, folder)
            done = f"transformers checkpoint, model card; tokenizer files: {', '.join(written) or 'none'}"
    print(f"{source} -> {args.out} ({done})")


def cmd_publish(args: argparse.Namespace) -> None:
    from denoise.export import publish

    url = publish(
        args.source, args.repo, private=args.private, token=args.token, backbone_only=args.backbone_only
    )
    print(f"{args.source} -> https://huggingface.co/{args.repo} ({url})")


def cmd_stack(args: argparse.Namespace) -> None:
    from denoise.models.stacking import stack_run

    out = stack_run(args.source, args.out, overwrite=args.overwrite)
    print(
        f"{out}: {args.source}'s model with each layer stack repeated; pre-train it further with init={out}"
    )


def cmd_pretrain(args: argparse.Namespace) -> None:
    from denoise.train.config import load_config
    from denoise.train.loop import pretrain

    recipe, overrides = split_settings(args.settings)
    config = load_config(recipe, overrides)
    out = args.out or Path("runs") / config.name
    use_threads(config.training.threads)
    summary = pretrain(
        config, out, resume=args.resume, progress=not args.no_progress, overwrite=args.overwrite
    )
    if summary["first_loss"] is None:
        print(
            f"{out}: already at step {summary['steps']}; nothing to train (raise training.max_steps to go on)"
        )
    else:
        line = (
            f"{out}: {summary['steps']} steps, {summary['tokens']:,} tokens in {summary['seconds']:.0f} s; "
        )
        line += f"loss {summary['first_loss']:.3f} -> {summary['final_loss']:.3f}"
        if "eval_loss" in summary:
            line += f"; eval loss {summary['eval_loss']:.3f}, accuracy {summary['eval_accuracy']:.3f}"
        print(line)
        print_fills(summary)
    print(f"model: {out / 'model'}  tokenizer: {out / 'tokenizer'}  metrics: {out / 'metrics.jsonl'}")
    leave_process_group()


def leave_process_group() -> None:
    """A process that torchrun or accelerate launch started leaves its group once every process is done, so
    that none exits while the others' communication threads still reach it."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def print_fills(summary: dict) -> None:
    """How well the held-out masked tokens are guessed, beside always guessing the most frequent one, and
    the guesses in a few held-out blocks; for ELECTRA, how well the kept model tells replaced tokens, beside
    calling every token original, and the generator's guesses."""
    electra = "eval_detection_accuracy" in summary
    if electra:
        print(
            f"held-out replaced tokens (the model): {summary['eval_detection_accuracy']:.1%} of tokens told "
            f"right, against {1 - summary['eval_replaced']:.1%} by calling every token original"
        )
    if "eval_frequent_accuracy" in summary and "fills" in summary:
        print(
            f"held-out masked tokens{' (the generator)' if electra else ''}: {summary['eval_accuracy']:.1%} "
            f"guessed right, against {summary['eval_frequent_accuracy']:.1%} by always guessing the most "
            "frequent one"
        )
    for example in summary.get("fills", [])[:3]:
        print(f"  masked: {shorten(example['text'])}\n  guess:  {shorten(example['fill'])}")


def shorten(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def split_settings(settings: list[str]) -> tuple[str | None, list[str]]:
    recipes = [a for a in settings if "=" not in a]
    if len(recipes) > 1:
        raise DenoiseError(f"one recipe at most, got {recipes}; settings are key=value")
    return (recipes[0] if recipes else None), [a for a in settings if "=" in a]


def cmd_finetune(args: argparse.Namespace) -> None:

    from denoise.finetune.config import load_finetune_config
    from denoise.finetune.loop import finetune

    recipe, overrides = split_settings(args.settings)
    config = load_finetune_config(recipe, overrides)
    out = args.out or Path("runs") / config.name
    use_threads(config.threads)
    results = finetune(config, out, progress=not args.no_progress, overwrite=args.overwrite)
    kept = (
        f"the best dev score's weights, from step {results['best_step']}"
        if results["best_step"]
        else "the last weights"
    )
    print(f"kept {kept} (lr {results['lr']:g}; {results['history'][-1]['step']} steps trained)")
    for split in ("dev", "test"):
        if split in results:
            print(f"{split}: {json.dumps(results[split])}")
    print(f"{out}: model in {out / 'final'}, metrics in {out / 'eval.json'} ({results['seconds']:.0f} s)")


def cmd_baseline(args: argparse.Namespace) -> None:

    from denoise.finetune.baseline import baseline_scores
    from denoise.finetune.config import load_finetune_config

    print(json.dumps(baseline_scores(load_finetune_config(*split_settings(args.settings)))))


def cmd_compare(args: argparse.Namespace) -> None:
    from denoise.compare import compare, load_grid

    grid, overrides = split_settings(args.settings)
    if grid is None:
        raise DenoiseError("name a grid file, e.g. `denoise compare recipes/compare_tiny.yaml`")
    config = load_grid(grid, overrides)
    out = args.out or Path("runs") / config.name
    use_threads(config.threads)
    written = compare(config, out)
    print((out / "results.md").read_text())
    print("wrote " + ", ".join(str(path) for path in written.values()))


def cmd_evaluate(args: argparse.Namespace) -> None:

    from denoise.finetune.evaluate import evaluate_saved

    print(json.dumps(evaluate_saved(args.directory, args.split, args.data)))


def cmd_embed(args: argparse.Namespace) -> None:

    from denoise.embed import contextual_vectors, cosine_matrix, sense_separation
    from denoise.finetune.backbone import Backbone, load_backbone_model
    from denoise.finetune.config import FinetuneConfig

    model, tok = load_backbone_model(FinetuneConfig(init=str(args.model)))
    backbone = Backbone(model)
    if args.demo or not args.sentence:
        print("word   within-sense  across-senses   (mean cosine similarity of the word's vectors)")
        for word, scores in sense_separation(backbone, tok).items():
            print(f"{word:<6} {scores['within']:>12.3f}  {scores['across']:>13.3f}")
        return
    if not args.word:
        raise DenoiseError("give --word with --sentence (or --demo)")
    vectors = contextual_vectors(backbone, tok, args.sentence, args.word)
    if args.jsonl:
        for sentence, vector in zip(args.sentence, vectors.tolist()):
            print(json.dumps({"sentence": sentence, "word": args.word, "vector": vector}))
        return
    for sentence, row in zip(args.sentence, cosine_matrix(vectors).tolist()):
        print(" ".join(f"{x:6.3f}" for x in row), " ", sentence)


def add_encoding_errors(parser: argparse.ArgumentParser) -> None:
    from denoise.data.sources import ENCODING_ERRORS

    parser.add_argument(
        "--encoding-errors",
        choices=ENCODING_ERRORS,
        default="strict",
        help="what to do with bytes that are not UTF-8 in .txt inputs",
    )


def add_recipe_arguments(parser: argparse.ArgumentParser, recipe: str) -> None:
    parser.add_argument("settings", nargs="*", metavar=f"[{recipe}] [key=value]")
    parser.add_argument("--out", type=Path, help="output directory; default: runs/NAME")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="denoise", description="Denoising pre-training of language models (BERT, BART, T5, MASS)."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tokenizer = commands.add_parser(
        "tokenizer", help="train a SentencePiece tokenizer with denoise's special ids"
    )
    tokenizer_commands = tokenizer.add_subparsers(dest="tokenizer_command", metavar="ACTION", required=True)
    train = tokenizer_commands.add_parser("train", help="train on corpus files and save to a directory")
    _add_input_options(train)
    train.add_argument("--vocab-size", type=at_least(1), required=True)
    train.add_argument("--out", type=Path, required=True, help="output directory")
    train.add_argument("--model-type", choices=["unigram", "bpe"], default="unigram")
    train.add_argument(
        "--num-sentinels", type=at_least(0), default=100, help="number of <extra_id_N> sentinels"
    )
    train.add_argument(
        "--character-coverage", type=share, default=0.9995, help="share of characters the pieces cover"
    )
    train.add_argument(
        "--max-sentences", type=at_least(1), default=2_000_000, help="sentences sampled for training"
    )
    train.add_argument(
        "--sentence-model",
        help="an installed NLTK Punkt model (e.g. english) or a saved "
        "punkt.json to use instead of training one on the corpus",
    )
    add_encoding_errors(train)
    add_overwrite(train, "a tokenizer")
    train.set_defaults(run=cmd_tokenizer_train)

    prepare = commands.add_parser(
        "prepare", help="split, tokenize and pack a corpus into fixed-length blocks"
    )
    _add_input_options(prepare)
    prepare.add_argument(
        "--tokenizer", type=Path, help="tokenizer directory; default: train one on the inputs"
    )
    prepare.add_argument(
        "--vocab-size",
        type=at_least(1),
        default=8000,
        help="vocabulary of the tokenizer trained when no --tokenizer is given",
    )
    prepare.add_argument("--block-size", type=at_least(1), default=512)
    prepare.add_argument("--out", type=Path, help="output directory; default: under $DENOISE_CACHE")
    prepare.add_argument(
        "--num-proc", type=at_least(1), default=1, help="processes for splitting and tokenizing"
    )
    prepare.add_argument(
        "--streaming", action="store_true", help="read lazily in one process, for corpora larger than memory"
    )
    add_encoding_errors(prepare)
    add_overwrite(prepare, "a corpus")
    prepare.set_defaults(run=cmd_prepare)

    corrupt = commands.add_parser("corrupt", help="show what a corruption recipe does to a corpus")
    corrupt.add_argument("recipe", nargs="?", help="recipe name (see --list) or a recipe .yaml file")
    corrupt.add_argument("--list", action="store_true", help="list ops and recipes with their parameters")
    _add_input_options(corrupt)
    corrupt.add_argument("--tokenizer", type=Path, help="tokenizer directory; default: trained on the inputs")
    corrupt.add_argument("--seed", type=int, default=0)
    corrupt.add_argument("--block-size", type=at_least(1), default=128)
    corrupt.add_argument(
        "--progress",
        type=fraction,
        default=0.0,
        help="the fraction of a run at which the recipe's schedules are read (default: 0, the start)",
    )
    corrupt.add_argument(
        "--family",
        help="the model family (bert, bart, t5) to check the recipe against; default: an encoder-only "
        "model when the recipe can feed one",
    )
    corrupt.add_argument(
        "--limit", type=at_least(1), help="number of blocks (default: 4 shown, all with --jsonl)"
    )
    corrupt.add_argument(
        "--jsonl",
        action="store_true",
        help="one JSON object per block: original, source, "
        "target (token ids; labels with -100 for aligned recipes)",
    )
    corrupt.set_defaults(run=cmd_corrupt)

    convert = commands.add_parser("convert", help="convert checkpoints to and from transformers")
    direction = convert.add_mutually_exclusive_group(required=True)
    direction.add_argument(
        "--from-hf",
        type=Path,
        metavar="DIR",
        help="a transformers checkpoint directory (BERT, RoBERTa, ELECTRA, BART, T5, GPT-2)",
    )
    direction.add_argument(
        "--to-hf",
        type=Path,
        metavar="DIR",
        help="a denoise run or model directory (its tokenizer, in DIR/tokenizer or beside DIR, and a model "
        "card are written too)",
    )
    convert.add_argument("--out", type=Path, required=True, help="output directory")
    convert.add_argument(
        "--backbone-only",
        action="store_true",
        help="with --to-hf: export a fine-tuned model's backbone without its task head",
    )
    add_overwrite(convert, "a model")
    convert.set_defaults(run=cmd_convert)

    publish = commands.add_parser(
        "publish", help="export a model as `convert --to-hf` does and upload it to the Hugging Face Hub"
    )
    publish.add_argument("source", type=Path, help="a `denoise pretrain` run or a denoise model directory")
    publish.add_argument("--repo", required=True, help="the Hub repository, NAME or OWNER/NAME")
    publish.add_argument("--private", action="store_true", help="create the repository private")
    publish.add_argument("--token", help="a Hub token (default: the one `huggingface-cli login` saved)")
    publish.add_argument(
        "--backbone-only",
        action="store_true",
        help="export a fine-tuned model's backbone without its task head",
    )
    publish.set_defaults(run=cmd_publish)

    stack = commands.add_parser(
        "stack",
        help="a deeper model from a pre-training run: each layer stack copied on top of itself",
        description="Progressive stacking (Gong et al., 2019): a two-layer run becomes four layers "
        "ordered 0, 1, 0, 1, to pre-train further with init=OUT.",
    )
    stack.add_argument(
        "source", metavar="RUN", type=Path, help="a `denoise pretrain` output (model/ and tokenizer/)"
    )
    stack.add_argument("--out", type=Path, required=True, help="a new folder for the model and its tokenizer")
    add_overwrite(stack, "a model")
    stack.set_defaults(run=cmd_stack)

    pretrain = commands.add_parser(
        "pretrain",
        help="pre-train a model (no argument: a tiny masked LM on the embedded corpus, about 8 minutes on a CPU)",
        description="Pre-train from a recipe: defaults, then RECIPE.yaml, then key=value settings "
        "(e.g. training.max_steps=100 model.d_model=256). Runs under `accelerate launch` unchanged.",
    )
    add_recipe_arguments(pretrain, "RECIPE.yaml")
    pretrain.add_argument(
        "--resume", action="store_true", help="continue from the latest intact checkpoint in --out"
    )
    add_overwrite(pretrain, "a run")
    pretrain.set_defaults(run=cmd_pretrain)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune a pre-trained (or fresh) model on a task: classification, tagging, span QA, generation",
        description="Fine-tune from a task recipe: defaults, then TASK.yaml, then key=value settings, e.g. "
        "init=runs/tiny_bert (a pre-training run), init=DIR (a transformers checkpoint), init=scratch:runs/tiny_bert.",
    )
    add_recipe_arguments(finetune, "TASK.yaml")
    add_overwrite(finetune, "a fine-tuned model")
    finetune.set_defaults(run=cmd_finetune)

    baseline = commands.add_parser(
        "baseline",
        help="score a task's baseline that needs no pre-training (naive Bayes, most frequent tag...)",
    )
    baseline.add_argument("settings", nargs="*", metavar="[TASK.yaml] [key=value]")
    baseline.set_defaults(run=cmd_baseline)

    evaluate = commands.add_parser("evaluate", help="score a fine-tuned model on a split or another file")
    evaluate.add_argument("directory", type=Path, help="a `denoise finetune` output directory")
    evaluate.add_argument("--split", default="test", choices=["train", "dev", "test"])
    evaluate.add_argument("--data", help="a file of the same task to score instead of the recipe's split")
    evaluate.set_defaults(run=cmd_evaluate)

    compare = commands.add_parser(
        "compare",
        help="pre-train a grid of recipes and families on an equal budget, fine-tune each, tabulate and plot",
    )
    compare.add_argument("settings", nargs="*", metavar="GRID.yaml [key=value]")
    compare.add_argument("--out", type=Path, help="output directory; default: runs/NAME (rerun to resume)")
    compare.set_defaults(run=cmd_compare)

    embed = commands.add_parser(
        "embed", help="contextual vectors of a word in sentences (--demo: one word in two senses)"
    )
    embed.add_argument(
        "model", type=Path, help="a pre-training run, model directory or transformers checkpoint"
    )
    embed.add_argument("--word", help="the word whose vectors to compare")
    embed.add_argument("--sentence", action="append", default=[], help="a sentence holding the word (repeat)")
    embed.add_argument("--jsonl", action="store_true", help="print the vectors instead of their similarities")
    embed.add_argument("--demo", action="store_true", help="built-in words in two senses each")
    embed.set_defaults(run=cmd_embed)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse, letting `key=value` settings follow options too (`pretrain R.yaml --out X a=1`)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "settings") or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.settings += extra
    return args


def os_error_line(err: OSError) -> str:
    """One line for a failure of the system (a full disk, a folder that cannot be written): what failed, and
    that what was complete before is kept (every output is moved into place only once whole)."""
    if isinstance(err, FileNotFoundError) and not err.filename:
        return str(err)  # denoise's own "no such input" messages
    what = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
    if not err.strerror:
        what = str(err)
    advice = {
        errno.ENOSPC: "free some space and run the command again",
        errno.EACCES: "choose a folder you can write to, or change its permissions",
        errno.EROFS: "choose a folder on a writable disk",
    }.get(err.errno, "fix the cause and run the command again")
    return (
        f"{what}; outputs complete before this are kept and nothing half-written was left in place: {advice}"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    try:
        args.run(args)
    except DenoiseError as err:
        print(f"denoise: error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        again = " (with --resume, from the last checkpoint)" if args.command == "pretrain" else ""
        print(f"denoise: error: {os_error_line(err)}{again}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
