"""Summaries, tables and the plot for bench.py (no measuring here)."""

import statistics

MODE_NAMES = {"copy": "copy=True", "zerocopy": "copy=False"}


def size_name(size):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return "%d %s" % (size // scale, unit)
    return "%d B" % size


def si(x):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return "%.3g%s" % (x / scale, unit)
    return "%.3g" % x


def gb(x):
    return "%.3g" % x if x < 100 else "%.0f" % x


NOISY = 0.05  # other processes used > 5% of the machine while a point was measured


def load_note(share):
    if share is None:
        return ""
    return " (others used %.0f%% CPU%s)" % (100 * share, ", noisy" if share > NOISY else "")


def load_warning(env):
    """A note when other processes were keeping the CPUs busy."""
    share = env.get("other_load")
    if share is not None and share > NOISY:
        return (
            "WARNING: other processes used %.0f%% of the CPUs during the measurements "
            "(load average %.1f at the start, %.1f at the end): expect noise, see the "
            "'others' CPU' column.\n"
            % (100 * share, env["loadavg_start"][0], env["loadavg_end"][0])
        )
    if share is None and env["loadavg_start"][0] > 0.7:
        return "WARNING: load average %.2f at the start: expect noise.\n" % env["loadavg_start"][0]
    return ""


def versions_and_machine(env):
    """What was compared, on what: the first line of every report."""
    return "zmqipc %s (libzmq %s) vs pyzmq %s (libzmq %s); numpy %s, Python %s; %s, %d CPUs, %s" % (
        env["zmqipc"],
        env["zmqipc_libzmq"],
        env["pyzmq"],
        env["pyzmq_libzmq"],
        env["numpy"],
        env["python"],
        env["cpu"],
        env["cpus"],
        env["platform"],
    )


def header(env, cfg, quick):
    return load_warning(env) + (
        "%s\n%s run: median of %d repeats, ~%.2f s per repeat per variant\n"
        % (versions_and_machine(env), "quick" if quick else "full", cfg["repeats"], cfg["target_s"])
    )


def progress_line(variants, elapsed):
    v0 = variants[0]
    parts = [
        "%s %s GB/s" % (v.label, gb(statistics.median(v.rates) * v.size / 1e9)) for v in variants
    ]
    return "  [%4.0f s] %-10s %-7s %s%s" % (
        elapsed,
        v0.section
        if v0.section != "throughput"
        else v0.transport
        if v0.transport != "raw"
        else "ipc",
        size_name(v0.size),
        " | ".join(parts),
        load_note(v0.other_load),
    )


# --- summary (what goes to results.json) ---------------------------------------------------


def _transport(v):
    return "ipc" if v.transport == "raw" else v.transport


def _ratio(num, den):
    """Ratio of medians, plus the spread of the per-repeat (paired) ratios."""
    paired = [a / b for a, b in zip(num, den)]
    return {
        "ratio": statistics.median(num) / statistics.median(den),
        "paired_min": min(paired),
        "paired_max": max(paired),
    }


def _median_or_none(values):
    values = [x for x in values if x is not None]
    return statistics.median(values) if values else None


def summarise(env, cfg, variants, latency, memory, elapsed_s, quick):
    rows = []
    for v in variants:
        rates = v.rates
        rows.append(
            {
                "section": v.section,
                "transport": _transport(v),
                "size": v.size,
                "label": v.label,
                "lib": v.lib,
                "mode": v.mode,
                "bufsize": v.bufsize,
                "buffers": v.buffers,
                "n": v.n,
                "other_load": v.other_load,
                "rx_faults_per_msg": _median_or_none(f[0] for f in v.faults),
                "tx_faults_per_msg": _median_or_none(f[1] for f in v.faults),
                "seconds": v.samples,
                "msgs_per_s": statistics.median(rates),
                "gb_per_s": statistics.median(rates) * v.size / 1e9,
                "gb_per_s_min": min(rates) * v.size / 1e9,
                "gb_per_s_max": max(rates) * v.size / 1e9,
            }
        )
    by_key = {(r["section"], r["transport"], r["size"], r["label"]): r for r in rows}

    def rates(section, transport, size, label):
        r = by_key.get((section, transport, size, label))
        return None if r is None else [r["n"] / s for s in r["seconds"]]

    ratios = []
    for r in rows:
        if r["section"] == "throughput" and r["lib"] == "zmqipc":
            den = rates("throughput", r["transport"], r["size"], "pyzmq " + MODE_NAMES[r["mode"]])
            ratios.append(
                dict(
                    section="throughput",
                    transport=r["transport"],
                    size=r["size"],
                    what=MODE_NAMES[r["mode"]],
                    **_ratio(rates("throughput", r["transport"], r["size"], r["label"]), den),
                )
            )
        if r["section"] == "multipart" and r["lib"] == "zmqipc":
            den = rates("multipart", "ipc", r["size"], "pyzmq multipart")
            ratios.append(
                dict(
                    section="multipart",
                    transport="ipc",
                    size=r["size"],
                    what=r["label"] + " / pyzmq multipart",
                    **_ratio(rates("multipart", "ipc", r["size"], r["label"]), den),
                )
            )

    raw_ratios = []
    for size in sorted({r["size"] for r in rows if r["lib"] == "raw"}):
        for lib_label, raw_label in CEILING:
            num = rates("throughput", "ipc", size, lib_label)
            den = rates("throughput", "ipc", size, raw_label)
            if num and den:
                what = "%s / %s" % (lib_label, raw_label)
                raw_ratios.append(dict(size=size, what=what, **_ratio(num, den)))

    lat = []
    for entry in latency:
        reps = entry["repeats"]
        lat.append(
            {
                "size": entry["size"],
                "lib": entry["lib"],
                "repeats": reps,
                "other_load": entry["other_load"],
                **{
                    k: statistics.median(rep[k] for rep in reps)
                    for k in ("rtt_p50_us", "rtt_p99_us", "rtt_mean_us")
                },
            }
        )
    lat_ratios = []
    for size in sorted({e["size"] for e in lat}):
        p, z = (
            [e for e in lat if e["size"] == size and e["lib"] == lib][0]
            for lib in ("pyzmq", "zmqipc")
        )
        for k in ("rtt_p50_us", "rtt_p99_us"):
            lat_ratios.append(
                dict(
                    size=size,
                    what=k,
                    **_ratio([r[k] for r in z["repeats"]], [r[k] for r in p["repeats"]]),
                )
            )

    mem_ratios = []
    for mode in ("zerocopy", "copy"):
        found = {m["lib"]: m for m in memory if m["mode"] == mode}
        if len(found) == 2:
            mem_ratios.append(
                {
                    "mode": mode,
                    **{
                        k: found["zmqipc"][k] / found["pyzmq"][k]
                        for k in ("sender_peak_mib", "receiver_peak_mib")
                    },
                }
            )
    return {
        "environment": env,
        "quick": quick,
        "elapsed_s": elapsed_s,
        "config": {k: v for k, v in cfg.items()},
        "throughput": rows,
        "ratios": ratios,
        "raw_ratios": raw_ratios,
        "latency": lat,
        "latency_ratios": lat_ratios,
        "memory": memory,
        "memory_ratios": mem_ratios,
    }


# --- markdown ---------------------------------------------------------------------------------


def _table(head, body):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _ratio_cell(r):
    if r is None:
        return "–"
    return "**%.2f** [%.2f–%.2f]" % (r["ratio"], r["paired_min"], r["paired_max"])


def _load_cell(rows):
    shares = [r["other_load"] for r in rows if r and r.get("other_load") is not None]
    if not shares:
        return "–"
    share = max(shares)
    return "%.0f%%%s" % (100 * share, " ⚠" if share > NOISY else "")


def _tput_cell(r):
    if r is None:
        return "–"
    return "%s (%s/s)" % (gb(r["gb_per_s"]), si(r["msgs_per_s"]))


# Raw AF_UNIX rows: the system's default buffers (what pyzmq's libzmq 4.3.4 uses on ipc)
# and zmqipc's ipc default (libzmq patch 0030).
RAW_LABELS = ("default", "zmqipc")
RAW_NAMES = {"default": "default buffers", "zmqipc": "zmqipc's buffers"}
# (library row, the raw row with the same socket buffers)
CEILING = [
    ("pyzmq copy=False", "raw default"),
    ("zmqipc copy=False", "raw zmqipc"),
    ("zmqipc copy=True", "raw zmqipc"),
]


def _ceiling_table(res):
    r = {(x["size"], x["what"]): x for x in res["raw_ratios"]}
    head = ["size"] + ["%s / %s" % pair for pair in CEILING]
    body = [
        [size_name(s)] + [_ratio_cell(r.get((s, "%s / %s" % pair))) for pair in CEILING]
        for s in sorted({x["size"] for x in res["raw_ratios"]})
    ]
    return (
        "Share of the raw AF_UNIX ceiling with the same socket buffers (library / raw, "
        "1.0 = the kernel's copy rate):\n\n" + _table(head, body)
    )


def _faults_table(res, sizes):
    labels = [
        "%s %s" % (lib, MODE_NAMES[m]) for m in ("copy", "zerocopy") for lib in ("pyzmq", "zmqipc")
    ]
    rows = {
        (r["size"], r["label"]): r
        for r in res["throughput"]
        if r["section"] == "throughput" and r["transport"] == "ipc"
    }

    def cell(r):
        if r is None or r["rx_faults_per_msg"] is None:
            return "–"
        return "%.0f / %.0f" % (r["rx_faults_per_msg"], r["tx_faults_per_msg"])

    body = [
        [size_name(s)] + [cell(rows.get((s, l))) for l in labels] for s in sizes if s >= 64 * 1024
    ]
    return (
        "Minor page faults per message, receiver / sender (ipc; 4 KiB pages, so size/4096 "
        "means every message lands in fresh memory):\n\n" + _table(["size"] + labels, body)
    )


def markdown(res):
    env = res["environment"]
    out = [
        "# zmqipc vs pyzmq benchmark",
        "",
        "%s. %s run, %.0f s. Each figure is the median of %d repeats; both libraries ran in the same "
        "run, alternating. Ratios are zmqipc / pyzmq (ratio of medians; brackets: range of the "
        "per-repeat ratios). GB/s = 1e9 bytes/s, end to end (sender's first send to the receiver "
        'holding the last message as an ndarray). "others\' CPU": share of the machine used '
        "by other processes while that row was measured (⚠ above %d%%: treat as noisy)."
        % (
            versions_and_machine(env),
            "Quick" if res["quick"] else "Full",
            res["elapsed_s"],
            res["config"]["repeats"],
            100 * NOISY,
        ),
        "",
    ]
    if env.get("zmqipc_extension"):
        out += [
            "Measured zmqipc extension: %(file)s, sha256 %(sha256)s..., built %(mtime)s."
            % env["zmqipc_extension"],
            "",
        ]
    if load_warning(env):
        out += ["**" + load_warning(env).strip() + "**", ""]
    rows = {(r["section"], r["transport"], r["size"], r["label"]): r for r in res["throughput"]}
    ratios = {(r["section"], r["transport"], r["size"], r["what"]): r for r in res["ratios"]}

    for transport in ("ipc", "tcp", "inproc"):
        sizes = sorted(
            {
                r["size"]
                for r in res["throughput"]
                if r["section"] == "throughput" and r["transport"] == transport
            }
        )
        if not sizes:
            continue
        has_raw = transport == "ipc" and any(r["lib"] == "raw" for r in res["throughput"])
        head = ["size"]
        for mode in ("copy", "zerocopy"):
            head += [
                "pyzmq " + MODE_NAMES[mode],
                "zmqipc " + MODE_NAMES[mode],
                "ratio " + MODE_NAMES[mode],
            ]
        if has_raw:
            head += ["raw AF_UNIX, %s" % RAW_NAMES[b] for b in RAW_LABELS]
        head.append("others' CPU")
        body = []
        for size in sizes:
            row = [size_name(size)]
            for mode in ("copy", "zerocopy"):
                row += [
                    _tput_cell(
                        rows.get(("throughput", transport, size, lib + " " + MODE_NAMES[mode]))
                    )
                    for lib in ("pyzmq", "zmqipc")
                ]
                row.append(
                    _ratio_cell(ratios.get(("throughput", transport, size, MODE_NAMES[mode])))
                )
            if has_raw:
                row += [
                    _tput_cell(rows.get(("throughput", "ipc", size, "raw " + b)))
                    for b in RAW_LABELS
                ]
            row.append(
                _load_cell(
                    [
                        r
                        for r in res["throughput"]
                        if r["section"] == "throughput"
                        and r["transport"] == transport
                        and r["size"] == size
                    ]
                )
            )
            body.append(row)
        what = {
            "ipc": "ipc://, two processes",
            "tcp": "tcp://127.0.0.1, two processes",
            "inproc": "inproc://, two threads of one process",
        }[transport]
        out += [
            "## PUSH/PULL throughput, %s" % what,
            "",
            "GB/s (messages/s)",
            "",
            _table(head, body),
            "",
        ]
        if transport == "ipc":
            out += [_faults_table(res, sizes), ""]
        if has_raw and res.get("raw_ratios"):
            out += [_ceiling_table(res), ""]
        if has_raw:
            bufs = {r["label"]: r["buffers"] for r in res["throughput"] if r["lib"] == "raw"}
            out += [
                "Raw AF_UNIX: socketpair between two processes, sendall / recv_into a preallocated "
                'buffer; "zmqipc\'s buffers" requests SO_SNDBUF and SO_RCVBUF of %s bytes on both '
                "ends, as zmqipc's ipc sockets do by default (pyzmq's keep the system default; "
                "net.core.wmem_max %s, rmem_max %s). Effective SO_SNDBUF, SO_RCVBUF (bytes, as the "
                "kernel reports them): "
                % (env.get("zmqipc_ipc_buffers"), env.get("wmem_max"), env.get("rmem_max"))
                + "; ".join("%s %s" % (k, v) for k, v in bufs.items())
                + ".",
                "",
            ]

    mp_sizes = sorted({r["size"] for r in res["throughput"] if r["section"] == "multipart"})
    if mp_sizes:
        labels = ["pyzmq multipart", "zmqipc multipart", "zmqipc send_array"]
        head = (
            ["size"] + labels + ["ratio zmqipc multipart", "ratio zmqipc send_array", "others' CPU"]
        )
        body = [
            [size_name(s)]
            + [_tput_cell(rows.get(("multipart", "ipc", s, l))) for l in labels]
            + [
                _ratio_cell(ratios.get(("multipart", "ipc", s, l + " / pyzmq multipart")))
                for l in labels[1:]
            ]
            + [_load_cell([rows.get(("multipart", "ipc", s, l)) for l in labels])]
            for s in mp_sizes
        ]
        out += [
            "## Header + array (two frames), ipc",
            "",
            "multipart = `send_multipart([json header, arr], copy=False)`; receive "
            "`recv_multipart(copy=False)` + `json.loads` + `np.frombuffer(...).reshape`. "
            "send_array = zmqipc `send_array(arr, copy=False)` / `recv_array()`. Ratios against "
            "pyzmq multipart. GB/s (messages/s).",
            "",
            _table(head, body),
            "",
        ]

    if res["latency"]:
        lat = {(e["size"], e["lib"]): e for e in res["latency"]}
        lr = {(r["size"], r["what"]): r for r in res["latency_ratios"]}
        head = [
            "size",
            "pyzmq RTT p50",
            "zmqipc RTT p50",
            "ratio p50",
            "pyzmq RTT p99",
            "zmqipc RTT p99",
            "ratio p99",
            "one-way p50 pyzmq / zmqipc",
            "others' CPU",
        ]
        body = []
        for size in sorted({e["size"] for e in res["latency"]}):
            p, z = lat[(size, "pyzmq")], lat[(size, "zmqipc")]
            body.append(
                [
                    size_name(size),
                    "%.1f µs" % p["rtt_p50_us"],
                    "%.1f µs" % z["rtt_p50_us"],
                    _ratio_cell(lr[(size, "rtt_p50_us")]),
                    "%.1f µs" % p["rtt_p99_us"],
                    "%.1f µs" % z["rtt_p99_us"],
                    _ratio_cell(lr[(size, "rtt_p99_us")]),
                    "%.1f / %.1f µs" % (p["rtt_p50_us"] / 2, z["rtt_p50_us"] / 2),
                    _load_cell([p, z]),
                ]
            )
        out += [
            "## REQ/REP latency, ipc (round trip; ratio < 1 favours zmqipc)",
            "",
            "%d round trips per repeat after a warm-up; p50/p99 are medians over repeats."
            % res["config"]["latency_n"],
            "",
            _table(head, body),
            "",
        ]

    if res["memory"]:
        head = [
            "case",
            "sender peak RSS",
            "receiver peak RSS",
            "sender / receiver RSS before",
            "seconds",
        ]
        body = [
            [
                "%s %s" % (m["lib"], MODE_NAMES[m["mode"]]),
                "%.0f MiB" % m["sender_peak_mib"],
                "%.0f MiB" % m["receiver_peak_mib"],
                "%.0f / %.0f MiB" % (m["sender_base_mib"], m["receiver_base_mib"]),
                "%.2f" % m["seconds"],
            ]
            for m in res["memory"]
        ]
        body += [
            [
                "ratio zmqipc/pyzmq %s" % MODE_NAMES[r["mode"]],
                "**%.2f**" % r["sender_peak_mib"],
                "**%.2f**" % r["receiver_peak_mib"],
                "",
                "",
            ]
            for r in res["memory_ratios"]
        ]
        out += [
            "## Peak memory, one 1 GiB float64 array over ipc (fresh processes, ru_maxrss)",
            "",
            "The sender's peak includes the 1 GiB array itself; the receiver holds the received "
            "array (np.frombuffer of the frame, or of the bytes for copy=True).",
            "",
            _table(head, body),
            "",
        ]
    return "\n".join(out)


# --- plot -------------------------------------------------------------------------------------


def plot(res, path):
    """Throughput vs size (ipc) and zmqipc/pyzmq ratios; returns False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker  # noqa: F401
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    tput = [
        r for r in res["throughput"] if r["section"] == "throughput" and r["transport"] == "ipc"
    ]
    styles = {
        "pyzmq copy=True": ("C0", ":"),
        "zmqipc copy=True": ("C0", "-"),
        "pyzmq copy=False": ("C1", ":"),
        "zmqipc copy=False": ("C1", "-"),
        "raw default": ("0.55", "--"),
        "raw zmqipc": ("k", "--"),
    }
    for label, (color, style) in styles.items():
        pts = sorted((r["size"], r["gb_per_s"]) for r in tput if r["label"] == label)
        if pts:
            left.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                style,
                color=color,
                marker="o",
                label=label,
            )
    left.set(
        xscale="log",
        yscale="log",
        xlabel="message size (bytes)",
        ylabel="GB/s (1e9 B/s)",
        title="PUSH/PULL throughput, ipc, end to end",
    )
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    for transport, color in (("ipc", "C0"), ("tcp", "C2"), ("inproc", "C3")):
        for what, style in (("copy=True", ":"), ("copy=False", "-")):
            pts = sorted(
                (r["size"], r["ratio"])
                for r in res["ratios"]
                if r["section"] == "throughput"
                and r["transport"] == transport
                and r["what"] == what
            )
            if pts:
                right.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    style,
                    color=color,
                    marker="o",
                    label="%s %s" % (transport, what),
                )
    right.axhline(1.0, color="k", lw=0.8)
    right.set(
        xscale="log",
        yscale="log",
        xlabel="message size (bytes)",
        ylabel="zmqipc / pyzmq throughput",
        title="ratio (> 1: zmqipc faster)",
    )
    right.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
