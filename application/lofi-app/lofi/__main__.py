"""Entry point: `python -m lofi` serves; `python -m lofi render OUT.gif` writes the animation."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from lofi import scene
from lofi.config import ConfigError, from_env
from lofi.metrics import Metrics
from lofi.server import LOGGER, Artwork, configure_logging, make_server


def render(target: str) -> int:
    data = scene.render_gif()
    Path(target).write_bytes(data)
    print(f"wrote {target}: {len(data)} bytes, {scene.FRAMES} frames, sha256 {scene.digest(data)}")
    return 0


def serve() -> int:
    try:
        config = from_env()
    except ConfigError as error:
        print(f"lofi: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    artwork = Artwork()
    metrics = Metrics(config.version)
    server = make_server(config, artwork, metrics)

    def stop(signum: int, _frame: FrameType | None) -> None:
        LOGGER.info("shutting down", extra={"fields": {"signal": signum}})
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=artwork.load, args=(config.gif_path,), daemon=True).start()
    LOGGER.info("listening", extra={"fields": {"port": config.port, "version": config.version}})
    server.serve_forever()
    server.server_close()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "render":
        return render(argv[1])
    if not argv or argv == ["serve"]:
        return serve()
    print("usage: python -m lofi [serve | render OUT.gif]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
