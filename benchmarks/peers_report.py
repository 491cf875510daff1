"""The figures of ``benchmarks/peers.py``, from its measured runs: per server and cell, the ratios
to vidmock, issue 18's targets, a flat table and what looked wrong."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from benchmarks.serverproc import percentile, ratio, target
from benchmarks.wrkload import WrkRun

WRK_SHARE_WARNING = 0.5  # of one core: above it, wrk itself may be what limits the req/s
SHARE_MIN_WALL_S = 0.2  # wrk's start-up (~6 ms of CPU) would add more than 0.03 of a core to a shorter run


@dataclass
class CellRecord:
    """One server in one (workload, clients) cell: its measured runs and what they cost."""
    rss_before_kib: int | None
    rss_after_kib: int | None = None
    warmup: WrkRun | None = None
    runs: list[WrkRun] = field(default_factory=list)
    cpu_s: list[float | None] = field(default_factory=list)

    def rps_by_round(self) -> list[float]:
        return [round(run.answered / run.wall_s, 1) if run.wall_s else 0.0 for run in self.runs]

    def summary(self) -> dict:
        answered = sum(run.answered for run in self.runs)
        wall = sum(run.wall_s for run in self.runs)
        histogram = sum((Counter(run.histogram) for run in self.runs), Counter())
        cpu = None if None in self.cpu_s else sum(self.cpu_s)
        shares = [run.wrk_cpu_s / run.wall_s for run in self.runs if run.wall_s >= SHARE_MIN_WALL_S]
        return {
            "requests": answered, "rps": round(answered / wall, 1) if wall else None,
            "p50_ms": _ms(percentile(histogram, 50)), "p99_ms": _ms(percentile(histogram, 99)),
            "cpu_us_per_request": round(cpu / answered * 1e6, 1) if cpu is not None and answered else None,
            # cores the server kept busy: one-threaded servers top out at 1.0, below it others took the CPU
            "server_cpu_share": round(cpu / wall, 3) if cpu is not None and wall else None,
            "rss_before_kib": self.rss_before_kib, "rss_after_kib": self.rss_after_kib,
            "non_2xx": sum(run.non_2xx for run in self.runs),
            "unexpected_2xx": sum(run.unexpected for run in self.runs),
            "socket_errors": sum(sum(run.socket_errors.values()) for run in self.runs),
            "first_bad_answer": next((run.first_bad for run in self.runs if run.first_bad), None),
            "rps_by_round": self.rps_by_round(),
            "stopped_by": sorted({run.stopped_by for run in self.runs}),
            "wrk_cpu_share_max": round(max(shares), 3) if shares else None,
            "wrk_cpu_share_by_round": [round(run.wrk_cpu_s / run.wall_s, 3) if run.wall_s else None for run in self.runs],
            "synthetic_samples_removed": sum(run.synthetic_removed for run in self.runs),
            "warmup": None if self.warmup is None else brief(self.warmup),
        }


def brief(run: WrkRun) -> dict:
    return {"requests": run.answered, "failures": run.failures,
            "rps": round(run.answered / run.wall_s, 1) if run.wall_s else None}


def _ms(micros: int | None) -> float | None:
    return None if micros is None else round(micros / 1000, 3)


def progress(run: WrkRun, cpu: float | None) -> str:
    """One run in one line, for stderr while the benchmark runs."""
    per_request = f"{cpu / max(run.answered, 1) * 1e6:7.1f}" if cpu is not None else "      -"
    return (f"{run.answered / run.wall_s:9.1f} req/s p50 {_ms(percentile(run.histogram, 50))} ms "
            f"cpu {per_request} us/req wrk {run.wrk_cpu_s / run.wall_s:.2f} core, {run.failures} failures")


def ratios_to_vidmock(records: dict[str, CellRecord]) -> dict:
    """vidmock / each other server in one cell: req/s (above 1: vidmock faster), per round too, and
    CPU per request (below 1: vidmock cheaper)."""
    mine = records["vidmock"]
    return {f"vidmock/{name}": {
        "rps": ratio(mine.summary()["rps"], theirs.summary()["rps"]),
        "rps_by_round": [ratio(a, b) for a, b in zip(mine.rps_by_round(), theirs.rps_by_round())],
        "cpu_per_request": ratio(mine.summary()["cpu_us_per_request"], theirs.summary()["cpu_us_per_request"]),
    } for name, theirs in records.items() if name != "vidmock"}


def targets(workloads: dict) -> list[dict]:
    """Issue 18's targets, as ratios in this run."""
    checks = []
    for name, workload in workloads.items():
        for cell in workload["cells"]:
            bounds = [("wiremock", 1.0), ("prism", 1.5), ("prism-silent", 1.5)]
            if name == "submit" and cell["clients"] == 16:
                bounds.append(("floor", 0.5))
            for server, bound in bounds:
                found = cell["ratios"].get(f"vidmock/{server}", {}).get("rps")
                if found is not None:
                    checks.append(target(f"{name} {cell['clients']} clients: vidmock req/s >= {bound} x {server}",
                                         bound, found, key="ratio", workload=name, clients=cell["clients"],
                                         server=server))
    return checks


def table(workloads: dict) -> list[dict]:
    """One flat row per (workload, clients, server): the figures docs/performance.md shows."""
    rows = []
    for name, workload in workloads.items():
        for cell in workload["cells"]:
            for server, figures in cell["servers"].items():
                ratios = cell["ratios"].get(f"vidmock/{server}", {})
                rows.append({"workload": name, "clients": cell["clients"], "server": server,
                             **{key: figures[key] for key in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request",
                                                              "server_cpu_share", "rss_before_kib", "rss_after_kib",
                                                              "non_2xx", "wrk_cpu_share_max")},
                             "vidmock_rps_ratio": ratios.get("rps"), "vidmock_cpu_ratio": ratios.get("cpu_per_request")})
    return rows


def warnings(workloads: dict) -> list[str]:
    found = []
    for name, workload in workloads.items():
        for server, info in workload["servers"].items():
            if info.get("validates") is False:
                found.append(f"{name}: {server} does not validate (probes: {info['probes']})")
        for cell in workload["cells"]:
            for server, figures in cell["servers"].items():
                where = f"{name} {cell['clients']} clients {server}"
                if figures["non_2xx"] or figures["unexpected_2xx"] or figures["socket_errors"]:
                    found.append(f"{where}: {figures['non_2xx']} non-2xx, {figures['unexpected_2xx']} unexpected "
                                 f"2xx, {figures['socket_errors']} socket errors; first: {figures['first_bad_answer']}")
                if (figures["wrk_cpu_share_max"] or 0) > WRK_SHARE_WARNING:
                    found.append(f"{where}: wrk used {figures['wrk_cpu_share_max']} of a core")
                if "time" in figures["stopped_by"]:
                    found.append(f"{where}: a run hit the time cap before its request count")
    return found


# --- Markdown, for docs/performance.md -----------------------------------------------------------

TITLES = {"getResponse": "getResponse of one finished task", "submit": "Submit, 1280x720 2 s seed 4242 (a cached "
          "video), a fresh taskUUID each"}
TARGET_COLUMNS = (("getResponse", 1), ("getResponse", 16), ("submit", 1), ("submit", 16))


def markdown(result: dict) -> str:
    """The figures tables and issue 18's targets of one ``peers.py`` report, as docs/performance.md
    shows them: ``python -m benchmarks.peers_report REPORT.json``."""
    parts = []
    for name in result["workloads"]:
        lines = [f"{TITLES.get(name, name)}:", "",
                 "| server | clients | req/s | p50 / p99 ms | CPU µs/req | cores busy | RSS MiB before → after "
                 "| vidmock/server req/s | vidmock/server CPU |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {row['server']} | {row['clients']} | {_whole(row['rps'])} | {_short(row['p50_ms'])} / "
                  f"{_short(row['p99_ms'])} | {_whole(row['cpu_us_per_request'])} | {_fixed(row['server_cpu_share'])} "
                  f"| {_mib(row['rss_before_kib'])} → {_mib(row['rss_after_kib'])} | "
                  f"{_fixed(row['vidmock_rps_ratio'])} | {_fixed(row['vidmock_cpu_ratio'])} |"
                  for row in table(result["workloads"]) if row["workload"] == name]
        parts.append("\n".join(lines))
    found = {(check["workload"], check["clients"], check["server"]): check for check in targets(result["workloads"])}
    rows = ["| target | " + " | ".join(f"{name}, {clients} client{'s' if clients > 1 else ''}"
                                       for name, clients in TARGET_COLUMNS) + " |", "|---|---|---|---|---|"]
    for peer, label in (("wiremock", ">= 1 x WireMock (journal on)"), ("prism", ">= 1.5 x Prism"),
                        ("prism-silent", ">= 1.5 x Prism, `--verboseLevel silent`"), ("floor", ">= 0.5 x the floor")):
        cells = [found.get((name, clients, peer)) for name, clients in TARGET_COLUMNS]
        if any(cells):
            rows.append(f"| {label} | " + " | ".join(_target(check) for check in cells) + " |")
    parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"


def _target(check: dict | None) -> str:
    if check is None:
        return ""
    return f"{check['ratio']:.2f} met" if check["met"] else f"**{check['ratio']:.2f}**"


def _whole(value) -> str:
    return "-" if value is None else f"{round(value):,}"


def _fixed(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _short(value) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.1f}"


def _mib(kib) -> str:
    return "-" if kib is None else str(round(kib / 1024))


if __name__ == "__main__":
    import json
    import sys

    with open(sys.argv[1]) as report:
        print(markdown(json.load(report)), end="")
