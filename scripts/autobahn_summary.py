#!/usr/bin/env python3
"""Drive the Autobahn WebSocket conformance cases with kosoku and summarise them.

Used by scripts/autobahn.sh; run it with the python of the venv that has
kosoku installed (``.venv-autobahn/bin/python``).

Sub-commands:

``run --url ws://HOST:PORT --outdir DIR [--include GLOB]... [--exclude GLOB]...``
    Runs the selected cases one at a time through kosoku's public Python API
    (``kosoku.run_fuzzingclient(url, [case_id])``) with a timeout per case and
    an overall deadline, writes kosoku's usual Autobahn-format report into DIR
    (``index.json``, ``index.html`` and one ``<agent>_case_<id>.json/.html`` per
    case), then writes ``summary.json`` / ``summary.txt`` and prints the summary.

    Why not one plain ``kosoku`` CLI call: kosoku 0.1.0 has no opening- or
    closing-handshake timeout, so a server that never answers the upgrade or
    never answers a close frame hangs the whole run and the CLI writes no report
    at all. Running case by case under ``asyncio.wait_for`` turns such a hang
    into a TIMEOUT verdict for that one case and keeps every other result.

``summarize DIR [--include GLOB]... [--exclude GLOB]...``
    Reads an existing report directory (also one written by the plain
    ``kosoku -o DIR`` CLI) and prints the same summary.

Verdicts (kosoku's own convention, ``CaseResult.passed`` in kosoku 0.1.0):
a case passes iff ``behavior`` is OK, NON-STRICT or INFORMATIONAL *and*
``behaviorClose`` is OK or INFORMATIONAL. Everything else fails: behavior
FAILED / UNIMPLEMENTED / ERROR, behaviorClose FAILED / WRONG CODE / UNCLEAN /
FAILED BY CLIENT, plus the synthetic TIMEOUT / NOT RUN / MISSING this script
adds for cases without a verdict.

Exit status: 0 if every selected case passed, 1 if any did not, 2 on a usage or
setup error (e.g. kosoku missing, or no report found).
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import html
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

PASS_BEHAVIOR = ("OK", "NON-STRICT", "INFORMATIONAL")
PASS_BEHAVIOR_CLOSE = ("OK", "INFORMATIONAL")

# Display order of the verdict counters; unknown labels are appended.
BEHAVIOR_ORDER = (
    "OK",
    "NON-STRICT",
    "INFORMATIONAL",
    "FAILED",
    "UNIMPLEMENTED",
    "ERROR",
    "TIMEOUT",
    "NOT RUN",
    "MISSING",
)
BEHAVIOR_CLOSE_ORDER = (
    "OK",
    "INFORMATIONAL",
    "WRONG CODE",
    "FAILED BY CLIENT",
    "UNCLEAN",
    "FAILED",
    "-",
)

# Per-case wall-clock limits. Every case finishes within ~11 s against a
# conforming echo server; the 9.* (limits/performance) cases wait up to 100 s
# (9.5/9.6: 1000 s) for a slow echo before giving up on their own.
DEFAULT_CASE_TIMEOUT = 30.0
DEFAULT_SLOW_CASE_TIMEOUT = 120.0
SLOW_CASE_GLOBS = ("9.*",)


def case_sort_key(case_id: str) -> list[int]:
    try:
        return [int(p) for p in case_id.split(".")]
    except ValueError:
        return [1 << 30]


def selected(case_id: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(case_id, g) for g in include):
        return False
    return not any(fnmatch.fnmatchcase(case_id, g) for g in exclude)


def one_line(text: Any, limit: int = 160) -> str:
    """Case descriptions carry HTML (<br>) and hex dumps: flatten and cut."""
    if text is None:
        return ""
    flat = html.unescape(re.sub(r"<[^>]+>", " ", str(text)))
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def kosoku_cases() -> dict[str, type] | None:
    """The case index shipped with kosoku (id -> case class), if importable."""
    try:
        from kosoku.cases import CASES  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - kosoku is optional for `summarize`
        return None
    return dict(CASES)


def kosoku_version() -> str:
    try:
        from importlib.metadata import version

        return version("kosoku")
    except Exception:  # noqa: BLE001
        return "unknown"


# --------------------------------------------------------------------------
# Verdict records: one dict per case, shared by `run` and `summarize`.
# --------------------------------------------------------------------------


def record_from_report(case: dict[str, Any]) -> dict[str, Any]:
    behavior = case.get("behavior", "MISSING")
    behavior_close = case.get("behaviorClose", "-")
    return {
        "id": case.get("id"),
        "behavior": behavior,
        "behaviorClose": behavior_close,
        "passed": behavior in PASS_BEHAVIOR and behavior_close in PASS_BEHAVIOR_CLOSE,
        "description": case.get("description", ""),
        "expectation": case.get("expectation", ""),
        "result": case.get("result", ""),
        "resultClose": case.get("resultClose", ""),
        "remoteCloseCode": case.get("remoteCloseCode"),
        "remoteCloseReason": case.get("remoteCloseReason"),
        "duration": case.get("duration"),
    }


def synthetic_record(
    case_id: str, behavior: str, result: str, cases: dict[str, type] | None
) -> dict[str, Any]:
    cls = (cases or {}).get(case_id)
    return {
        "id": case_id,
        "behavior": behavior,
        "behaviorClose": "-",
        "passed": False,
        "description": getattr(cls, "DESCRIPTION", "") if cls else "",
        "expectation": getattr(cls, "EXPECTATION", "") if cls else "",
        "result": result,
        "resultClose": "",
        "remoteCloseCode": None,
        "remoteCloseReason": None,
        "duration": None,
    }


def read_report_dir(outdir: Path) -> dict[str, dict[str, Any]]:
    """Per-case records from a kosoku report directory (all agents merged)."""
    index_path = outdir / "index.json"
    if not index_path.is_file():
        return {}
    index = json.loads(index_path.read_text())
    records: dict[str, dict[str, Any]] = {}
    for agent_cases in index.values():
        for case_id, entry in agent_cases.items():
            case_path = outdir / entry.get("reportfile", "")
            if case_path.is_file():
                case = json.loads(case_path.read_text())
            else:
                case = {
                    "id": case_id,
                    "behavior": entry.get("behavior"),
                    "behaviorClose": entry.get("behaviorClose"),
                    "remoteCloseCode": entry.get("remoteCloseCode"),
                    "duration": entry.get("duration"),
                    "result": f"(per-case report {entry.get('reportfile')} missing)",
                }
            case.setdefault("id", case_id)
            rec = record_from_report(case)
            prev = records.get(case_id)
            # Several agents in one index: a case passes only if it passed for all.
            if prev is None or (prev["passed"] and not rec["passed"]):
                records[case_id] = rec
    return records


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------


def ordered_counts(counter: Counter[str], order: tuple[str, ...]) -> str:
    keys = [k for k in order if counter.get(k)] + sorted(
        k for k in counter if k not in order
    )
    return "  ".join(f"{k}={counter[k]}" for k in keys) or "(none)"


def summarize_records(
    records: dict[str, dict[str, Any]],
    expected_ids: list[str] | None,
    cases: dict[str, type] | None,
    header: str,
) -> tuple[dict[str, Any], str, bool]:
    """Fill in MISSING cases, build summary dict + text; return all-passed flag."""
    records = dict(records)
    if expected_ids is not None:
        for case_id in expected_ids:
            if case_id not in records:
                records[case_id] = synthetic_record(
                    case_id, "MISSING", "No result in the report.", cases
                )
    ids = sorted(records, key=case_sort_key)
    failing = [records[i] for i in ids if not records[i]["passed"]]
    passed = len(ids) - len(failing)
    behavior_counts = Counter(records[i]["behavior"] for i in ids)
    close_counts = Counter(records[i]["behaviorClose"] for i in ids)
    timed = [records[i] for i in ids if isinstance(records[i].get("duration"), int)]
    slowest = sorted(timed, key=lambda r: r["duration"], reverse=True)[:5]

    lines = [header]
    lines.append(f"cases:          {len(ids)}")
    lines.append(f"behavior:       {ordered_counts(behavior_counts, BEHAVIOR_ORDER)}")
    lines.append(f"behaviorClose:  {ordered_counts(close_counts, BEHAVIOR_CLOSE_ORDER)}")
    if slowest:
        lines.append(
            "slowest:        "
            + ", ".join(f"{r['id']} {r['duration']}ms" for r in slowest)
        )
    non_strict = [i for i in ids if records[i]["behavior"] in ("NON-STRICT", "INFORMATIONAL")]
    if non_strict:
        lines.append(
            "non-strict/informational (pass): "
            + ", ".join(f"{i}={records[i]['behavior']}" for i in non_strict)
        )
    if failing:
        lines.append(f"failing cases ({len(failing)}):")
        for r in failing:
            close = ""
            if r.get("remoteCloseCode") is not None:
                reason = r.get("remoteCloseReason")
                close = f"  remote close {r['remoteCloseCode']}" + (
                    f" {reason!r}" if reason else ""
                )
            lines.append(
                f"  {r['id']:<8} behavior={r['behavior']} "
                f"behaviorClose={r['behaviorClose']}{close}"
            )
            lines.append(f"           case:   {one_line(r.get('description'))}")
            if r.get("expectation"):
                lines.append(f"           expect: {one_line(r.get('expectation'))}")
            why = one_line(r.get("result"), 200)
            why_close = one_line(r.get("resultClose"), 200)
            if why_close and why_close != why:
                why = f"{why} | close: {why_close}" if why else f"close: {why_close}"
            lines.append(f"           why:    {why}")
    lines.append(f"autobahn: {passed} passed, {len(failing)} failed")
    text = "\n".join(lines)

    summary = {
        "kosoku": kosoku_version(),
        "total": len(ids),
        "passed": passed,
        "failed": len(failing),
        "behavior": dict(behavior_counts),
        "behaviorClose": dict(close_counts),
        "pass_rule": {
            "behavior": list(PASS_BEHAVIOR),
            "behaviorClose": list(PASS_BEHAVIOR_CLOSE),
        },
        "failing": [
            {k: r.get(k) for k in ("id", "behavior", "behaviorClose", "description",
                                   "result", "resultClose", "remoteCloseCode",
                                   "remoteCloseReason")}
            for r in failing
        ],
        "cases": {i: records[i] for i in ids},
    }
    return summary, text, not failing


def expected_case_ids(
    cases: dict[str, type] | None, include: list[str], exclude: list[str]
) -> list[str] | None:
    if cases is None:
        return None
    return [c for c in cases if selected(c, include, exclude)]


# --------------------------------------------------------------------------
# Sub-commands
# --------------------------------------------------------------------------


async def run_cases(
    url: str,
    case_ids: list[str],
    case_timeout: float,
    slow_case_timeout: float,
    deadline: float,
    cases: dict[str, type],
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    from kosoku import FailureError, run_fuzzingclient  # type: ignore[import-not-found]

    results: list[Any] = []
    synthetic: dict[str, dict[str, Any]] = {}
    end = time.monotonic() + deadline
    group = None
    group_start = time.monotonic()
    group_n = group_ok = 0

    def close_group() -> None:
        if group is not None:
            print(
                f"  group {group}: {group_ok}/{group_n} passed "
                f"({time.monotonic() - group_start:.1f}s)",
                flush=True,
            )

    for case_id in case_ids:
        major = case_id.split(".")[0]
        if major != group:
            close_group()
            group, group_start, group_n, group_ok = major, time.monotonic(), 0, 0
        group_n += 1
        remaining = end - time.monotonic()
        if remaining <= 0:
            synthetic[case_id] = synthetic_record(
                case_id, "NOT RUN", f"Overall deadline of {deadline:.0f}s reached.", cases
            )
            continue
        limit = slow_case_timeout if any(
            fnmatch.fnmatchcase(case_id, g) for g in SLOW_CASE_GLOBS
        ) else case_timeout
        limit = min(limit, remaining)
        try:
            got = await asyncio.wait_for(run_fuzzingclient(url, [case_id]), limit)
        except FailureError as failure:
            got = failure.results
        except asyncio.TimeoutError:
            synthetic[case_id] = synthetic_record(
                case_id,
                "TIMEOUT",
                f"No verdict within {limit:.0f}s (kosoku waits forever for an "
                "unanswered opening handshake or close frame).",
                cases,
            )
            print(f"  {case_id}: TIMEOUT after {limit:.0f}s", flush=True)
            continue
        if not got:
            synthetic[case_id] = synthetic_record(
                case_id, "MISSING", "kosoku returned no result.", cases
            )
            continue
        for res in got:
            results.append(res)
            if res.passed:
                group_ok += 1
            else:
                print(
                    f"  {res.case_id}: {res.behavior.value} / {res.behavior_close.value}",
                    flush=True,
                )
    close_group()
    return results, synthetic


def write_kosoku_reports(
    results: list[Any], outdir: Path, cases: dict[str, type] | None
) -> dict[str, dict[str, Any]]:
    """Write kosoku's Autobahn-format report; return per-case records."""
    records: dict[str, dict[str, Any]] = {}
    try:
        # kosoku's own report writer (the one its CLI uses). Private module, but
        # the kosoku version is pinned by scripts/autobahn.sh.
        from kosoku._report import case_to_dict, write_reports  # type: ignore[import-not-found]
    except Exception as exc:  # noqa: BLE001
        print(f"warning: kosoku report writer unavailable ({exc}); JSON only", file=sys.stderr)
        write_reports = None
        case_to_dict = None
    if write_reports is not None and results:
        write_reports(results, str(outdir))
    for res in results:
        if case_to_dict is not None:
            rec = record_from_report(case_to_dict(res))
        else:
            rec = record_from_report(
                {
                    "id": res.case_id,
                    "behavior": res.behavior.value,
                    "behaviorClose": res.behavior_close.value,
                    "description": res.description,
                    "expectation": res.expectation,
                    "result": res.result,
                    "resultClose": res.result_close,
                    "remoteCloseCode": res.remote_close_code,
                    "remoteCloseReason": res.remote_close_reason,
                    "duration": res.duration,
                }
            )
        rec["passed"] = bool(res.passed)  # kosoku's own verdict
        # ERROR results (e.g. connection refused) carry no case text.
        cls = (cases or {}).get(res.case_id)
        for key, attr in (("description", "DESCRIPTION"), ("expectation", "EXPECTATION")):
            if not rec.get(key) and cls is not None:
                rec[key] = getattr(cls, attr, "")
        records[res.case_id] = rec
    return records


def emit(summary: dict[str, Any], text: str, outdir: Path | None) -> None:
    print(text, flush=True)
    if outdir is not None:
        (outdir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        (outdir / "summary.txt").write_text(text + "\n")


def cmd_run(args: argparse.Namespace) -> int:
    cases = kosoku_cases()
    if cases is None:
        print("error: cannot import kosoku; run with the venv's python", file=sys.stderr)
        return 2
    include, exclude = args.include or [], args.exclude or []
    case_ids = expected_case_ids(cases, include, exclude) or []
    if not case_ids:
        print("error: the include/exclude globs select no case", file=sys.stderr)
        return 2
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    print(
        f"kosoku {kosoku_version()}: running {len(case_ids)} cases against {args.url} "
        f"(exclude: {' '.join(exclude) or '-'}; include: {' '.join(include) or 'all'})",
        flush=True,
    )
    started = time.monotonic()
    results, synthetic = asyncio.run(
        run_cases(
            args.url,
            case_ids,
            args.case_timeout,
            args.slow_case_timeout,
            args.deadline,
            cases,
        )
    )
    elapsed = time.monotonic() - started
    records = write_kosoku_reports(results, outdir, cases)
    records.update(synthetic)
    header = (
        f"== Autobahn summary (kosoku {kosoku_version()}, {args.url}, "
        f"{elapsed:.1f}s) report: {outdir}/index.html =="
    )
    summary, text, ok = summarize_records(records, case_ids, cases, header)
    summary["url"] = args.url
    summary["elapsed_seconds"] = round(elapsed, 1)
    summary["include"], summary["exclude"] = include, exclude
    emit(summary, text, outdir)
    return 0 if ok else 1


def cmd_summarize(args: argparse.Namespace) -> int:
    outdir = Path(args.outdir)
    records = read_report_dir(outdir)
    if not records:
        print(f"error: no kosoku report (index.json) in {outdir}", file=sys.stderr)
        return 2
    cases = kosoku_cases()
    include, exclude = args.include or [], args.exclude or []
    records = {k: v for k, v in records.items() if selected(k, include, exclude)}
    expected = expected_case_ids(cases, include, exclude)
    header = f"== Autobahn summary (kosoku {kosoku_version()}) report: {outdir}/index.html =="
    summary, text, ok = summarize_records(records, expected, cases, header)
    emit(summary, text, outdir if args.write else None)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("-i", "--include", action="append", metavar="GLOB",
                       help="case id or glob to select, e.g. 6.4.* (repeatable; default all)")
        p.add_argument("-x", "--exclude", action="append", metavar="GLOB",
                       help="case id or glob to leave out, e.g. 12.* (repeatable)")

    run = sub.add_parser("run", help="run the cases and write report + summary")
    run.add_argument("--url", required=True, help="ws://HOST:PORT of the echo server")
    run.add_argument("--outdir", required=True, help="report directory")
    run.add_argument("--case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT,
                     help="seconds before a case without verdict counts as TIMEOUT")
    run.add_argument("--slow-case-timeout", type=float, default=DEFAULT_SLOW_CASE_TIMEOUT,
                     help="same, for the 9.* limits/performance cases")
    run.add_argument("--deadline", type=float, default=600.0,
                     help="overall seconds; cases not started by then are NOT RUN")
    selection(run)
    run.set_defaults(func=cmd_run)

    summ = sub.add_parser("summarize", help="summarise an existing report directory")
    summ.add_argument("outdir", help="directory holding kosoku's index.json")
    summ.add_argument("--write", action="store_true",
                      help="also write summary.json / summary.txt into the directory")
    selection(summ)
    summ.set_defaults(func=cmd_summarize)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into `head`
        sys.exit(1)
