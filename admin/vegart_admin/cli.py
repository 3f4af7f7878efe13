"""``vegart-admin``: the command line over :mod:`vegart_admin.operations`.

Only argument parsing, printing and error reporting live here. Every failure an operator can
meet (an unknown key, a bad value, an AWS refusal, no credentials) ends as one line on stderr
and a non-zero status, never a traceback: the message is what matters, and a traceback of a
failed ``create`` could show values that should stay private.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import error_code
from vegart.errors import ContractError
from vegart.keys import MODELS, KeyExists, KeyNotFound, KeyRecord

from . import operations, views
from .errors import FAILURE, USAGE, AdminError
from .targets import ENDPOINT_ENV, Targets, resolve_targets

PROG = "vegart-admin"
#: Exit status after Ctrl-C, as a shell reports it.
INTERRUPTED = 130

_DESCRIPTION = """\
Manage the client API keys of a VegaRT Gateway deployment: the keys table, and the API
Gateway keys and usage plans that throttle each key.

Name the deployment with --stack (its outputs KeysTableName, ApiId, StageName and
DefaultUsagePlanId), or with --table and, to have API Gateway enforce rate limits, --api-id,
--stage and --default-plan. Options given explicitly override the stack's outputs."""

_EPILOG = f"""\
A key is named by its id (the SHA-256 of the key, as `keys list` shows), by a unique prefix
of at least 8 hex digits, or by the key itself; `-` reads the key from standard input, which
keeps it out of the shell's history (`keys disable - < leaked.txt`). The plain key is shown
once, by `keys create`, and stored nowhere.

--endpoint-url (or ${ENDPOINT_ENV}) points every AWS client at one endpoint, such as
moto's server in the local stack."""


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; separate from :func:`main` so that tests and docs can read it."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("deployment")
    where.add_argument("--stack", metavar="NAME", help="CloudFormation stack of the gateway")
    where.add_argument("--table", metavar="T", help="keys table (overrides the stack's)")
    where.add_argument("--api-id", metavar="ID", help="REST API id (overrides the stack's)")
    where.add_argument("--stage", metavar="S", help="API stage (overrides the stack's)")
    where.add_argument(
        "--default-plan", metavar="PLAN", help="default usage plan id (overrides the stack's)"
    )
    where.add_argument("--region", metavar="R", help="AWS region (default: boto3's)")
    where.add_argument(
        "--endpoint-url",
        metavar="URL",
        help=f"one endpoint for every AWS client (default: ${ENDPOINT_ENV})",
    )

    groups = parser.add_subparsers(dest="group", required=True, metavar="keys")
    keys = groups.add_parser("keys", help="manage client API keys")
    verbs = keys.add_subparsers(dest="verb", required=True, metavar="VERB")

    create = verbs.add_parser("create", help="make a key and print it (once)")
    create.add_argument("--label", required=True, help="who or what the key is for")
    create.add_argument("--credits", required=True, type=int, help="starting balance (images)")
    create.add_argument("--rate", type=float, help="requests per second (default: the stack's)")
    create.add_argument("--burst", type=int, help="burst above the rate (default: the stack's)")
    create.add_argument(
        "--models",
        nargs="+",
        metavar="M",
        default=list(MODELS),
        help=f"models the key may use (default: all: {' '.join(MODELS)})",
    )
    create.add_argument("--json", action="store_true", help="answer in JSON")

    listing = verbs.add_parser("list", help="every key, as a table")
    listing.add_argument("--json", action="store_true", help="answer in JSON")

    for verb, text in (
        ("show", "one key's record"),
        ("disable", "refuse a key's requests (table and API Gateway)"),
        ("enable", "accept a key's requests again"),
    ):
        sub = verbs.add_parser(verb, help=text)
        _key_argument(sub)
        sub.add_argument("--json", action="store_true", help="answer in JSON")

    top_up = verbs.add_parser("top-up", help="add credits to a key (atomically)")
    _key_argument(top_up)
    top_up.add_argument("--credits", required=True, type=int, help="credits to add")
    top_up.add_argument("--json", action="store_true", help="answer in JSON")

    rotate = verbs.add_parser(
        "rotate-webhook-secret",
        help="give a key a new webhook signing secret (the old one signs too, for a while)",
    )
    _key_argument(rotate)
    rotate.add_argument(
        "--grace-hours",
        type=float,
        default=24.0,
        help="hours during which events carry a signature by the old secret too (default 24)",
    )

    delete = verbs.add_parser("delete", help="remove a key and its API Gateway key")
    _key_argument(delete)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _key_argument(verb: argparse.ArgumentParser) -> None:
    verb.add_argument(
        "key",
        metavar="KEY",
        help="key id, a unique prefix of it (8+ hex digits), the key itself, or - to read "
        "the key from standard input",
    )


def _key_ref(args: argparse.Namespace) -> str:
    """The key the command names; ``-`` is the first line of standard input."""
    if args.key != "-":
        return str(args.key)
    line = sys.stdin.readline().strip()
    if not line:
        raise AdminError("`-` reads the key from standard input, which was empty", exit_code=USAGE)
    return line


def _targets(args: argparse.Namespace) -> Targets:
    if not args.stack and not args.table:
        raise AdminError("name the deployment: pass --stack NAME or --table T", exit_code=USAGE)
    return resolve_targets(
        stack=args.stack,
        table=args.table,
        api_id=args.api_id,
        stage=args.stage,
        default_plan_id=args.default_plan,
        region=args.region,
        endpoint_url=args.endpoint_url,
    )


def _confirm(record: KeyRecord) -> bool:
    """Ask on the terminal before a delete; anything but "y"/"yes" (or no input) is a no."""
    sys.stderr.write(
        f"Delete key {record.key_id[:16]} ({record.label}, {record.credits} credits)? [y/N] "
    )
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


def _one(record: KeyRecord, as_json: bool) -> str:
    return views.as_json(record.public()) if as_json else views.details(record)


def _run(args: argparse.Namespace) -> int:
    targets = _targets(args)
    verb = args.verb
    if verb == "create":
        plain, record = operations.create_key(
            targets,
            label=args.label,
            credits=args.credits,
            rate=args.rate,
            burst=args.burst,
            models=args.models,
        )
        print(views.created(plain, record, as_json_output=args.json), flush=True)
        if args.json:  # standard output is the JSON alone; the reminder goes beside it
            print(views.STORE_IT_NOW, file=sys.stderr)
        return 0
    if verb == "list":
        records = operations.list_keys(targets)
        print(views.as_json([r.public() for r in records]) if args.json else views.table(records))
        return 0
    if verb == "delete":
        record = operations.find_key(targets, _key_ref(args))
        if not args.yes and not _confirm(record):
            print(f"{PROG}: not deleted", file=sys.stderr)
            return FAILURE
        removed = operations.delete_key(targets, record.key_id)
        print(f"deleted {removed.key_id} ({removed.label})")
        return 0
    ref = _key_ref(args)
    if verb == "rotate-webhook-secret":
        until = operations.rotate_webhook_secret(targets, ref, grace_hours=args.grace_hours)
        ends = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
        print(f"rotated; the old secret also signs until {ends}")
        print("the key's owner reads the new one with GET /v2/webhooks/default/secret")
        return 0
    actions: dict[str, Callable[[], KeyRecord]] = {
        "show": lambda: operations.find_key(targets, ref),
        "disable": lambda: operations.set_enabled(targets, ref, enabled=False),
        "enable": lambda: operations.set_enabled(targets, ref, enabled=True),
        "top-up": lambda: operations.top_up(targets, ref, args.credits),
    }
    print(_one(actions[verb](), args.json))
    return 0


def _describe(error: BaseException) -> tuple[str, int]:
    """One line and an exit status for each failure an operator can meet."""
    if isinstance(error, AdminError):
        return str(error), error.exit_code
    if isinstance(error, KeyNotFound):
        return f"no key with id {str(error.args[0])[:16]}", FAILURE
    if isinstance(error, KeyExists):
        return "a key with that value already exists", FAILURE
    if isinstance(error, ContractError):  # the gateway's own answer, such as a store that is down
        return error.message, FAILURE
    if isinstance(error, ValueError):
        return str(error), USAGE
    return _aws_failure(error), FAILURE


def _aws_failure(error: BaseException) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = error_code(error) or "Error"
        message = " ".join(str(details.get("Message", "")).split())
        return f"AWS refused {error.operation_name}: {code}: {message}".rstrip(": ")
    return f"AWS: {error}"  # BotoCoreError: no credentials, no region, no connection


class _Warnings(logging.Handler):
    """Sends the operations' warnings to the current stderr as ``vegart-admin: warning: ...``.

    It looks ``sys.stderr`` up at each record (not at creation), so that a redirected stderr
    (pytest's capsys, a wrapper script) gets them.
    """

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{PROG}: warning: {record.getMessage()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (0, 1 for a failed operation, 2 for bad usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else USAGE
    logger = logging.getLogger("vegart_admin")
    handler = _Warnings(logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        return _run(args)
    except (
        AdminError,
        KeyNotFound,
        KeyExists,
        ValueError,
        ClientError,
        BotoCoreError,
        ContractError,
    ) as exc:
        message, status = _describe(exc)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        logger.removeHandler(handler)
