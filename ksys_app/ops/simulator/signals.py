"""Simulated readings as pure functions of (seed, tag, timestamp); no I/O.

Every value, every dropout and every excursion is a function of the seed, the
tag and the instant only, so generating a span twice gives identical rows: a
gap-fill or a re-run writes exactly what a continuous run would have written.

Timestamps are UTC epoch seconds on a fixed grid (multiples of the interval).

A value is
    base + daily cycle (Asia/Seoul local time, peak ~14:00)
         + smooth noise (three sines with seed/tag-derived periods and phases)
         + jitter (per-reading hash noise)
blended, in hours selected by a hash of (seed, tag, hour), towards a target past
a warning or critical limit (15-minute ramps in and out), and clamped to the
tag's min_val..max_val. FEED_FLOW drops to ~0 in plant-stop hours (a hash of
(seed, hour), the same for all tags); PRODUCT_FLOW is FEED_FLOW x recovery (~0.7).

Alarms worth showing (issue 16): ~3 hours a week a tag sits on a warning limit
(a value hovering on a limit with its jitter: it chatters where the rule has no
deadband, DEADBAND_FREE_TAGS in tags.py, and not where it has one), and the tags of DRIFT_TAGS
read past their high warning limit for DRIFT_HOURS once a week (a drifting
sensor nobody recalibrates: a stale alarm, active more than 24 hours).

Dropouts per (seed, tag, hour): ~1% of hours silent, ~1% degraded (every third
minute missing: red on /comm), ~4% with two missing minutes (amber: 96.7%).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from hashlib import blake2b
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from ksys_app.ops.simulator.tags import BY_NAME, TagSpec

HOUR_S = 3600
DAY_S = 86400
LOCAL_TZ = ZoneInfo("Asia/Seoul")
_T0 = 1577836800  # 2020-01-01 UTC: keeps sine arguments small
_TWO_PI = 2.0 * math.pi
_M64 = (1 << 64) - 1
_INV53 = 1.0 / (1 << 53)

# Per-hour probabilities (hash of seed, tag, hour).
P_CRIT_EXCURSION = 2 / 168      # ~2 hours a week past a critical limit
P_WARN_EXCURSION = 4 / 168      # ~4 hours a week past a warning limit
P_HOVER_EXCURSION = 3 / 168     # ~3 hours a week hovering on a warning limit
DRIFT_TAGS = ("D201",)
DRIFT_HOURS = 30                # once a week, past the high warning limit
WEEK_H = 168
P_PLANT_STOP = 3 / 168          # ~3 hours a week with the plant stopped (all flows)
P_DROP_SILENT = 0.010           # whole hour without readings
P_DROP_DEGRADED = 0.010         # every third minute missing (success 67%)
P_DROP_AMBER = 0.040            # two consecutive minutes missing (success 96.7%)
EXCURSION_RAMP_S = 900
STOP_RAMP_S = 300

EXC_WARN, EXC_CRIT, EXC_HOVER = "warn", "crit", "hover"
DROP_SILENT, DROP_DEGRADED, DROP_AMBER = "silent", "degraded", "amber"

_S_EXC, _S_DIR, _S_DROP, _S_DROP_AT, _S_STOP, _S_DRIFT = 1, 2, 3, 4, 5, 6
PLANT = "__plant__"


# --- hashing ---------------------------------------------------------------

def _mix(x: int) -> int:
    """splitmix64 finalizer: a well-spread 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


@lru_cache(maxsize=4096)
def _key(seed: int, name: str) -> int:
    return int.from_bytes(blake2b(f"ksys-sim|{seed}|{name}".encode(), digest_size=8).digest(), "big")


def _unit(seed: int, name: str, salt: int, n: int) -> float:
    """Uniform [0, 1) from (seed, name, salt, n)."""
    return (_mix(_key(seed, name) ^ _mix((n << 4) ^ salt)) >> 11) * _INV53


# --- time and grid ---------------------------------------------------------

def epoch(ts: datetime | int | float) -> float:
    """UTC epoch seconds of an aware datetime (numbers pass through)."""
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise ValueError(f"naive datetime {ts.isoformat()}: pass a timezone-aware UTC time")
        return ts.timestamp()
    return float(ts)


def to_datetime(t: int | float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=t)


def grid_floor(t: int | float | datetime, interval_s: int) -> int:
    """The newest grid point at or before t."""
    return int(math.floor(epoch(t) / interval_s)) * interval_s


def grid_range(lower_excl: int | float | datetime, upper_incl: int | float | datetime, interval_s: int) -> range:
    """Grid points g with lower_excl < g <= upper_incl."""
    lo = grid_floor(lower_excl, interval_s) + interval_s
    hi = grid_floor(upper_incl, interval_s)
    return range(lo, max(lo, hi + interval_s), interval_s)


@lru_cache(maxsize=1 << 16)
def _local_offset_s(hour: int) -> int:
    return int(to_datetime(hour * HOUR_S).astimezone(LOCAL_TZ).utcoffset().total_seconds())


# --- per-hour events -------------------------------------------------------

@lru_cache(maxsize=1 << 16)
def excursion(seed: int, tag: str, hour: int) -> tuple[str, str] | None:
    """(kind 'warn'|'crit'|'hover', direction 'high'|'low') when this UTC hour (epoch // 3600) has an excursion."""
    u = _unit(seed, tag, _S_EXC, hour)
    if u >= P_CRIT_EXCURSION + P_WARN_EXCURSION + P_HOVER_EXCURSION:
        return None
    kind = (EXC_CRIT if u < P_CRIT_EXCURSION else EXC_WARN if u < P_CRIT_EXCURSION + P_WARN_EXCURSION
            else EXC_HOVER)
    return kind, ("high" if _unit(seed, tag, _S_DIR, hour) < 0.5 else "low")


def drift_envelope(seed: int, tag: str, t: int) -> float:
    """0..1: how far a DRIFT_TAGS tag has drifted toward past its high warning limit at
    epoch second t (15-minute ramps at both ends of its weekly DRIFT_HOURS)."""
    if tag not in DRIFT_TAGS:
        return 0.0
    start_h = int(_unit(seed, tag, _S_DRIFT, 0) * WEEK_H)
    pos = (t - start_h * HOUR_S) % (WEEK_H * HOUR_S)
    if pos >= DRIFT_HOURS * HOUR_S:
        return 0.0
    return min(1.0, pos / EXCURSION_RAMP_S, (DRIFT_HOURS * HOUR_S - pos) / EXCURSION_RAMP_S)


def disturbed(seed: int, tag: str, hour: int) -> bool:
    """An excursion or a drift touches this hour (the tag may leave its normal range)."""
    h0 = hour * HOUR_S
    return excursion(seed, tag, hour) is not None or any(
        drift_envelope(seed, tag, h0 + s) > 0 for s in (0, HOUR_S // 2, HOUR_S - 1))


@lru_cache(maxsize=1 << 16)
def plant_stopped(seed: int, hour: int) -> bool:
    """The plant is stopped during this UTC hour: FEED_FLOW and PRODUCT_FLOW ramp to ~0."""
    return _unit(seed, PLANT, _S_STOP, hour) < P_PLANT_STOP


@lru_cache(maxsize=1 << 16)
def dropout(seed: int, tag: str, hour: int) -> tuple[str, int] | None:
    """('silent'|'degraded'|'amber', parameter) when readings are missing in this UTC hour.

    silent: none at all; degraded: minutes m with m % 3 == parameter; amber:
    minutes parameter and parameter + 1.
    """
    u = _unit(seed, tag, _S_DROP, hour)
    v = _mix(_key(seed, tag) ^ _mix((hour << 4) ^ _S_DROP_AT))
    if u < P_DROP_SILENT:
        return DROP_SILENT, 0
    if u < P_DROP_SILENT + P_DROP_DEGRADED:
        return DROP_DEGRADED, v % 3
    if u < P_DROP_SILENT + P_DROP_DEGRADED + P_DROP_AMBER:
        return DROP_AMBER, v % 59
    return None


def _dropped_in(drop: tuple[str, int] | None, t: int) -> bool:
    if drop is None:
        return False
    kind, p = drop
    if kind == DROP_SILENT:
        return True
    minute = (t % HOUR_S) // 60
    if kind == DROP_DEGRADED:
        return minute % 3 == p
    return p <= minute <= p + 1


def is_dropped(seed: int, tag: str, ts: datetime | int | float) -> bool:
    """No reading of `tag` at `ts` (communication dropout)."""
    t = int(math.floor(epoch(ts)))
    return _dropped_in(dropout(seed, tag, t // HOUR_S), t)


# --- values ----------------------------------------------------------------

@lru_cache(maxsize=4096)
def _shape(seed: int, tag: str) -> tuple[float, ...]:
    """Per (seed, tag) constants: angular speeds, phases and weights of the sines."""
    u = [_unit(seed, tag, 7, i) for i in range(8)]
    periods = (2400 + 1200 * u[0], 3 * HOUR_S + 2 * HOUR_S * u[1], 9 * HOUR_S + 6 * HOUR_S * u[2])
    w = tuple(_TWO_PI / p for p in periods)
    ph = (u[3] * _TWO_PI, u[4] * _TWO_PI, u[5] * _TWO_PI)
    # daily peak at 14:00 local +- 1 h
    daily_phase = -_TWO_PI * (14 * HOUR_S + (u[6] - 0.5) * 2 * HOUR_S) / DAY_S
    recovery_phase = u[7] * _TWO_PI
    jitter_phase = _unit(seed, tag, 8, 0) * 1000.0
    return (*w, *ph, daily_phase, recovery_phase, jitter_phase)


def _target(spec: TagSpec, kind: str, direction: str) -> float:
    if kind == EXC_HOVER:
        return spec.warn_max if direction == "high" else spec.warn_min
    if kind == EXC_WARN:
        return (spec.warn_max + spec.crit_max) / 2 if direction == "high" else (spec.warn_min + spec.crit_min) / 2
    if direction == "high":
        return spec.crit_max + 0.3 * (spec.max_val - spec.crit_max)
    return spec.crit_min - 0.3 * (spec.crit_min - spec.min_val)


def _raw_values(seed: int, spec: TagSpec, hour: int, ts: Sequence[int],
                with_excursion: bool = True, finish: bool = False) -> list[float]:
    """Values of one tag at timestamps within one UTC hour (clamped and rounded if `finish`)."""
    w1, w2, w3, p1, p2, p3, pd, _, kf = _shape(seed, spec.name)
    a1, a2, a3 = 0.25 * spec.noise_amp, 0.35 * spec.noise_amp, 0.40 * spec.noise_amp
    base, da, jit = spec.base, spec.daily_amp, 2.0 * spec.jitter
    wd = _TWO_PI / DAY_S
    off = _local_offset_s(hour)
    exc = excursion(seed, spec.name, hour) if with_excursion else None
    target = _target(spec, *exc) if exc else 0.0
    drifts = with_excursion and spec.name in DRIFT_TAGS
    drift_target = _target(spec, EXC_WARN, "high")
    h0 = hour * HOUR_S
    lo, hi, scale = spec.min_val, spec.max_val, 10.0 ** spec.decimals
    sin, cos, floor = math.sin, math.cos, math.floor
    out = []
    add = out.append
    for t in ts:
        x = t - _T0
        v = (base + da * cos(wd * ((t + off) % DAY_S) + pd)
             + a1 * sin(w1 * x + p1) + a2 * sin(w2 * x + p2) + a3 * sin(w3 * x + p3))
        if exc:
            tau = t - h0
            e = min(1.0, tau / EXCURSION_RAMP_S, (HOUR_S - tau) / EXCURSION_RAMP_S)
            v += e * (target - v)
        if drifts:
            v += drift_envelope(seed, spec.name, t) * (drift_target - v)
        # per-reading noise: fractional part of a scaled sine of the timestamp (a cheap hash)
        h = sin(x * 12.9898 + kf) * 43758.5453
        v += jit * (h - floor(h) - 0.5)
        if finish:
            v = floor((lo if v < lo else hi if v > hi else v) * scale + 0.5) / scale
        add(v)
    return out


def _finish(spec: TagSpec, vals: Iterable[float]) -> list[float]:
    """Clamp to min_val..max_val and round to the tag's decimals (half up)."""
    lo, hi, scale = spec.min_val, spec.max_val, 10.0 ** spec.decimals
    floor = math.floor
    return [floor((lo if v < lo else hi if v > hi else v) * scale + 0.5) / scale for v in vals]


def _stop_envelope(seed: int, hour: int, ts: Sequence[int]) -> list[float] | None:
    if not plant_stopped(seed, hour):
        return None
    h0 = hour * HOUR_S
    return [max(0.0, min(1.0, (t - h0) / STOP_RAMP_S, (h0 + HOUR_S - t) / STOP_RAMP_S)) for t in ts]


def hour_values(seed: int, tag: str, hour: int, ts: Sequence[int]) -> list[float]:
    """Final values (clamped, rounded) of `tag` at grid timestamps `ts`, all inside UTC hour `hour`.

    Dropouts are not applied here (see is_dropped / hour_rows).
    """
    spec = BY_NAME[tag]
    if tag == "PRODUCT_FLOW":
        feed = _feed(seed, hour, ts)
        pr = _shape(seed, tag)[7]
        own = _raw_values(seed, spec, hour, ts, with_excursion=False)
        env = _stop_envelope(seed, hour, ts)
        exc = excursion(seed, tag, hour)
        out = []
        for i, t in enumerate(ts):
            r = 0.70 + 0.02 * math.sin(_TWO_PI * (t - _T0) / (7 * HOUR_S) + pr)
            v = feed[i] * r
            dev = own[i] - spec.base  # daily/noise/jitter of PRODUCT_FLOW's own shape, scaled down
            v += 0.25 * dev
            if exc:
                tau = t - hour * HOUR_S
                e = min(1.0, tau / EXCURSION_RAMP_S, (HOUR_S - tau) / EXCURSION_RAMP_S)
                v += e * (_target(spec, *exc) - v)
            if env is not None:
                v *= 1.0 - env[i]
            out.append(v)
        return _finish(spec, out)
    if tag == "FEED_FLOW":
        return _finish(spec, _feed(seed, hour, ts))
    return _raw_values(seed, spec, hour, ts, finish=True)


def _feed(seed: int, hour: int, ts: Sequence[int]) -> list[float]:
    spec = BY_NAME["FEED_FLOW"]
    vals = _raw_values(seed, spec, hour, ts)
    env = _stop_envelope(seed, hour, ts)
    if env is None:
        return vals
    jit = spec.jitter
    return [v * (1.0 - e) + e * jit * 0.5 for v, e in zip(vals, env)]


def value(seed: int, tag: str, ts: datetime | int | float) -> float:
    """The reading of `tag` at `ts` (ignoring dropouts); pure and deterministic."""
    t = int(math.floor(epoch(ts)))
    if tag not in BY_NAME:
        raise KeyError(f"not a simulated tag: {tag}")
    return hour_values(seed, tag, t // HOUR_S, [t])[0]


def hour_rows(seed: int, tag: str, hour: int, ts: Sequence[int]) -> list[float | None]:
    """hour_values with dropped readings as None."""
    vals = hour_values(seed, tag, hour, ts)
    drop = dropout(seed, tag, hour)
    if drop is None:
        return vals
    return [None if _dropped_in(drop, t) else v for t, v in zip(ts, vals)]


def generate(seed: int, tags: Sequence[str], start_excl: int | float | datetime,
             end_incl: int | float | datetime, interval_s: int,
             lower_excl: dict[str, float] | None = None):
    """Readings in (start_excl, end_incl] hour by hour, timestamp-major.

    Yields (ts_list, {tag: [value or None per ts]}) per UTC hour. `lower_excl`
    optionally raises the lower bound per tag (readings at or before it are None).
    """
    grid = grid_range(start_excl, end_incl, interval_s)
    if not grid:
        return
    first, last = grid[0], grid[-1]
    hour = first // HOUR_S
    while hour * HOUR_S <= last:
        lo = max(first, hour * HOUR_S + (-(hour * HOUR_S) % interval_s))
        hi = min(last, hour * HOUR_S + HOUR_S - 1)
        ts = list(range(lo, hi + 1, interval_s))
        if ts:
            block: dict[str, list[float | None]] = {}
            for tag in tags:
                vals = hour_rows(seed, tag, hour, ts)
                lim = None if lower_excl is None else lower_excl.get(tag)
                if lim is not None and ts[0] <= lim:
                    vals = [None if t <= lim else v for t, v in zip(ts, vals)]
                block[tag] = vals
            yield ts, block
        hour += 1


def expected_count(seed: int, tags: Sequence[str], start_excl, end_incl, interval_s: int) -> int:
    """Number of readings generate() yields (grid points minus dropouts)."""
    return sum(sum(v is not None for v in vals)
               for _, block in generate(seed, tags, start_excl, end_incl, interval_s)
               for vals in block.values())
