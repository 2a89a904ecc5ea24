"""The ``valhalla`` command: serve, verify, backup, restore, snapshot, seed-demo, dncl import,
deals import.

Every failure prints one clear line to stderr and exits non-zero (1 for a problem found,
2 for bad usage or configuration). The store and FastAPI are imported by the commands that use
them, so that `serve` listens (and answers /core/health) before they are loaded."""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from . import __version__
from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from .core_gov.errors import CoreError
    from .core_gov.storage import Storage

DATA_GITIGNORE = ".lock\n*.tmp\n.commit-*\n"


def _storage(settings: Settings) -> Storage:
    from .core_gov import core_router  # noqa: F401  (imports every module, registering its files)
    from .core_gov.storage import Storage

    return Storage(settings.data_dir, zone=settings.zone)


def _ensure_format(storage: Storage) -> None:
    """Bring the data format up to date (a migration backs the data dir up first)."""
    from .core_gov.storage import archive
    from .core_gov.storage.version import ensure_format

    for line in ensure_format(storage.data_dir, backup=lambda: archive.backup(storage)):
        print(line, file=sys.stderr)


@contextmanager
def _as_cli() -> Iterator[None]:
    """The audit trail names `cli` as the actor of what a command changes."""
    from .core_gov.storage import actor

    token = actor.set("cli")
    try:
        yield
    finally:
        actor.reset(token)


def _build_app(settings: Settings) -> Any:
    """The application, once the data format is up to date (run by the Launcher, in a thread)."""
    from .main import create_app

    with _as_cli():
        _ensure_format(_storage(settings))
    import anyio._backends._asyncio  # noqa: F401  (else imported by the first threadpool call: 10 ms of the first write)

    app = create_app(settings)
    app.state.storage.prepare()
    # The app's objects (routes, models: about 200,000) live as long as the process: the garbage
    # collector stops scanning them, which made every full collection, and so loading a large
    # collection, about twice as slow.
    gc.freeze()
    return app


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Listen at once (the Launcher answers /core/health) and build the application meanwhile."""
    import uvicorn

    from . import wire
    from .launch import Launcher

    settings.check_serve()
    print(f"Valhalla Core {__version__}: data dir {settings.data_dir.resolve()}, http://{settings.host}:{settings.port}/docs", file=sys.stderr)
    server: uvicorn.Server | None = None

    def stop(error: BaseException) -> None:
        if server is not None:
            server.should_exit = True

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            launcher.start()  # once listening: the build's imports no longer slow the start down

    launcher = Launcher(partial(_build_app, settings), settings.hosts, failed=stop)
    # No proxy stands in front of a local service: its forwarded headers are not read. The access
    # log is written at info and debug; above them its lines would be made only to be dropped.
    config = uvicorn.Config(launcher, host=settings.host, port=settings.port, log_level=args.log_level, http=wire.Protocol,
                            proxy_headers=False, access_log=args.log_level in ("info", "debug"))
    server = Server(config)
    server.run()
    if launcher.error is not None:
        raise launcher.error
    return 0


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    storage = _storage(settings)
    data_dir = settings.data_dir
    if not data_dir.is_dir() or not any(data_dir.iterdir()):
        print(f"{data_dir}: missing or empty; nothing to verify")
        return 0
    from .core_gov.errors import StoreCorrupt

    problems, warnings = [], []
    for d in storage.declared():
        try:
            warnings += storage.check(d, deep=True)
        except StoreCorrupt as e:
            problems.append(str(e))
    for leftover in sorted(data_dir.glob("*/.commit-*.json")):
        warnings.append(f"{leftover.relative_to(data_dir)}: an interrupted commit; it is completed on the next write to that module")
    for line in warnings:
        print(f"warning: {line}")
    for line in problems:
        print(f"CORRUPT: {line}")
    if problems:
        print(f"{len(problems)} corrupt file(s) in {data_dir}; fix them by hand or restore a backup (valhalla restore FILE)", file=sys.stderr)
        return 1
    print(f"{data_dir}: every file is valid")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from .core_gov.storage import archive

    storage = _storage(settings)
    if args.out and Path(args.out).exists() and not args.force:
        print(f"error: {args.out} already exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    out = archive.backup(storage, Path(args.out) if args.out else None, keep=args.keep)
    counts = archive.record_counts(settings.data_dir)
    print(f"backed up {settings.data_dir} to {out}")
    for module, n in counts.items():
        print(f"  {module}: {n} records")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from .core_gov.storage import archive

    storage = _storage(settings)
    source = Path(args.file)
    data_dir = settings.data_dir
    with archive.staged(storage, source) as (manifest, staging):  # refuses a tampered or malicious archive first
        modules = archive.partial_modules(manifest)
        if modules:
            print(f"{source} is a partial backup of {', '.join(modules)}: only {'that module' if len(modules) == 1 else 'those modules'} "
                  "will be restored; the other modules stay as they are")
        before, after = archive.record_counts(data_dir), archive.record_counts(staging)
        print(f"{'module':<16}{'current':>10}{'archive':>10}")
        for module in modules or sorted({*before, *after}):
            print(f"{module:<16}{before.get(module, 0):>10}{after.get(module, 0):>10}")
        if data_dir.is_dir() and any(data_dir.iterdir()):
            print(f"backed up the current data to {archive.backup(storage)}")
        aside = archive.swap_in(storage, staging, modules)
    print(f"restored {source} into {data_dir}" + (f"; the replaced data is in {aside}" if aside else ""))
    if (data_dir / ".git").exists():  # the snapshot history records the restore
        return _snapshot(storage, f"restore {source} (backup taken {manifest.get('created_at')})", always=True)
    return 0


GIT = ["git", "-c", "user.name=Valhalla Core", "-c", "user.email=valhalla@localhost"]


def _git(data_dir: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GIT, "-C", str(data_dir), *argv], check=True, text=True, capture_output=True)


def _snapshot(storage: Storage, message: str, *, always: bool = False) -> int:
    """Commit every change of the data dir under the module locks (a consistent set of files),
    initialising the repository the first time; ``always`` commits even when nothing changed."""
    from .core_gov.storage import archive

    data_dir = storage.data_dir
    try:
        if not (data_dir / ".git").exists():
            _git(data_dir, "init", "-q")
            print(f"initialised a git repository in {data_dir}")
        ignore = data_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text(DATA_GITIGNORE)
        with storage.locked(*archive.module_names(data_dir)):
            _git(data_dir, "add", "-A")
            if not always and not _git(data_dir, "status", "--porcelain").stdout.strip():
                print("nothing changed since the last snapshot")
                return 0
            _git(data_dir, "commit", "-q", "--allow-empty", "-m", message)
        print(f"snapshot {_git(data_dir, 'log', '-1', '--format=%h %s').stdout.strip()}")
    except FileNotFoundError:
        print("error: git is not installed", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"error: git {' '.join(e.cmd[len(GIT) + 2:])} failed: {(e.stderr or '').strip()}", file=sys.stderr)
        return 1
    return 0


def cmd_snapshot(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.data_dir.is_dir():
        print(f"error: {settings.data_dir} does not exist: nothing to snapshot", file=sys.stderr)
        return 1
    storage = _storage(settings)
    return _snapshot(storage, args.message or f"snapshot {storage.now():%Y-%m-%d %H:%M:%SZ}")


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from . import demo
    from .core_gov.errors import CoreError
    from .core_gov.storage import archive

    storage = _storage(settings)
    data_dir = settings.data_dir
    filled = any(archive.record_counts(data_dir).values())
    if filled and not args.force:
        print(f"error: {data_dir} already holds data; seed-demo fills an empty data dir (--force backs it up, then adds the demo data)", file=sys.stderr)
        return 1
    problems = demo.preflight(storage)
    if problems:
        print(f"error: cannot seed the demo data: {'; '.join(problems)}", file=sys.stderr)
        return 1
    if filled:
        print(f"backed up {data_dir} to {archive.backup(storage)}")
    _ensure_format(storage)
    try:
        counts = demo.seed(storage)
    except CoreError as e:
        detail = e.detail.get("message", e.detail) if isinstance(e.detail, dict) else e.detail
        print(f"error: the demo data stopped half-way: {detail}", file=sys.stderr)
        return 1
    print(f"seeded the demo data set into {data_dir}:")
    for module, files in counts.items():
        print(f"  {module:<12}{', '.join(f'{n} {name}' for name, n in files.items())}")
    print("go-live stays off: review GET /core/runbook/status, then POST /core/golive/enable")
    for deal_id in demo.ready_to_close(storage):
        print(f"deal {deal_id} is ready to close once go-live is on: POST /core/deals/{deal_id}/finalize")
    return 0


# ------------------------------------------------------------------ imports from a file


def _import_file(settings: Settings, path: str, run: Callable[[Storage, Iterator[bytes]], Any]) -> Any | None:
    """``run(storage, chunks)`` on the file read in chunks (never whole), the data format brought
    up to date first; None, the refusal printed, when the import is refused."""
    from .core_gov.errors import CoreError

    storage = _storage(settings)
    _ensure_format(storage)
    try:
        with open(path, "rb") as f:
            return run(storage, iter(partial(f.read, 1 << 20), b""))
    except CoreError as e:
        print(f"error: {path}: {_message(e)}", file=sys.stderr)
        return None


def _print_outcome(problems: list[str], backup: str | None) -> None:
    """The first 10 invalid rows of an import and the backup taken before it."""
    for problem in problems[:10]:
        print(f"  {problem}")
    if backup:
        print(f"  backed up the data dir first to {backup}")


def _message(e: CoreError) -> str:
    """The sentence of a refusal (a 422's first message, a 409's message)."""
    if isinstance(e.detail, list):
        return e.detail[0]["msg"]
    return e.detail.get("message", str(e.detail)) if isinstance(e.detail, dict) else str(e.detail)


# ------------------------------------------------------------------ valhalla deals import FILE


def cmd_deals_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a lead list from a CSV file, as POST /core/deals/import does."""
    from .core_gov.deals import service as deals_service

    result = _import_file(settings, args.file, deals_service.import_csv)
    if result is None:
        return 1
    print(f"imported {args.file}: added {result.added}, duplicates {result.duplicates}, invalid rows {result.invalid_count}")
    _print_outcome([f"line {p.row}: {p.field}: {p.message}" for p in result.invalid], result.backup)
    return 0


def _add_deals_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    deals = sub.add_parser("deals", help="the deal pipeline").add_subparsers(dest="deals_command", required=True)
    load = deals.add_parser("import", parents=[common], help="import leads from a CSV file (as POST /core/deals/import)")
    load.add_argument("file", help="CSV, UTF-8, header row first (required columns: address, city, province)")
    load.set_defaults(func=cmd_deals_import)


# ------------------------------------------------------------------


def _keep(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (the archive just written is always kept), not {text}")
    return int(text)


# ------------------------------------------------------------------ valhalla dncl import FILE --list-date D


def cmd_dncl_import(settings: Settings, args: argparse.Namespace) -> int:
    """Replace the National DNCL copy of every area code in FILE (read in chunks, never whole)."""
    from datetime import date

    from .core_gov.comms import service as comms_service

    try:
        list_date = date.fromisoformat(args.list_date)
    except ValueError:
        print(f"error: --list-date {args.list_date!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    result = _import_file(settings, args.file, lambda storage, chunks: comms_service.import_dncl(storage, list_date=list_date, chunks=chunks))
    if result is None:
        return 1
    copies = ", ".join(f"{area} ({c.count} numbers)" for area, c in result.area_codes.items())
    print(f"imported the {list_date} National DNCL list from {args.file}: {copies}")
    print(f"  added {result.added}, removed {result.removed} (left the registry), duplicates {result.duplicates}, invalid rows {result.invalid_count}")
    _print_outcome([f"line {p.row}: {p.message}" for p in result.invalid], result.backup)
    return 0


def _add_dncl_parser(sub: argparse._SubParsersAction) -> None:
    dncl = sub.add_parser("dncl", help="the National Do Not Call List").add_subparsers(dest="dncl_command", required=True)
    load = dncl.add_parser("import", help="replace the DNCL copy of every area code in FILE (one number a line)")
    load.add_argument("file", help="a DNCL download: one number a line, an optional header line")
    load.add_argument("--list-date", required=True, help="the date of the list (YYYY-MM-DD); calls need it at most 31 days old")
    load.set_defaults(func=cmd_dncl_import)


# ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    data_dir_help = "data dir (default: VALHALLA_DATA_DIR or ./data)"
    parser = argparse.ArgumentParser(prog="valhalla", description="Valhalla Core: the operator's back office on local JSON files.")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--data-dir", help=data_dir_help)
    common = argparse.ArgumentParser(add_help=False)  # the global option, also accepted after the subcommand
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_dir_help)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", parents=[common], help="start the HTTP service (VALHALLA_HOST:VALHALLA_PORT)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)
    verify = sub.add_parser("verify", parents=[common], help="check every data file; exit 1 listing each corrupt one")
    verify.set_defaults(func=cmd_verify)
    backup = sub.add_parser("backup", parents=[common], help="archive the data dir (tar.gz with a sha256 manifest)")
    backup.add_argument("--out", help="archive path (default: backups/valhalla-<UTC time>.tar.gz beside the data dir)")
    backup.add_argument("--force", action="store_true", help="overwrite the --out file if it exists")
    backup.add_argument("--keep", type=_keep, metavar="N", help="keep only the newest N (1 or more) valhalla-*.tar.gz archives in the archive's folder")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", parents=[common], help="verify an archive, back up the current data, then swap the archive in")
    restore.add_argument("file")
    restore.set_defaults(func=cmd_restore)
    snapshot = sub.add_parser("snapshot", parents=[common], help="commit the data dir to git (initialised if needed)")
    snapshot.add_argument("-m", "--message")
    snapshot.set_defaults(func=cmd_snapshot)
    seed = sub.add_parser("seed-demo", parents=[common], help="write a realistic Canadian demo data set into an empty data dir")
    seed.add_argument("--force", action="store_true", help="seed a data dir that already holds data (backed up first)")
    seed.set_defaults(func=cmd_seed_demo)
    _add_dncl_parser(sub)
    _add_deals_parser(sub, common)
    return parser


def _refused(e: Exception) -> bool:
    """A refusal by the store: a data format it cannot serve, an archive it will not restore."""
    from .core_gov.storage.archive import ArchiveError
    from .core_gov.storage.version import DataVersionError

    return isinstance(e, (ArchiveError, DataVersionError))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.data_dir:
            settings = Settings(**{**settings.__dict__, "data_dir": Path(args.data_dir)})
        if args.func is cmd_serve:  # the store is imported once the server listens
            return cmd_serve(settings, args)
        with _as_cli():
            return args.func(settings, args)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except Exception as e:
        if not _refused(e):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
