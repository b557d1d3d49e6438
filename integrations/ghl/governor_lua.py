"""The rate governor's Lua script and its wire format (arguments in, typed replies out): every
decision about one (app, resource) runs inside Redis.

One script with three entry points (``acquire``, ``observe``, ``stats``) so a single SHA is loaded
and every worker on every machine runs the same code against the same clock (Redis ``TIME``).

KEYS[1]  window  sorted set: one member per request GHL may still be counting; the score is the
                 Redis time (ms, µs precision) the slot was taken. ``g:<n>`` = a grant we handed
                 out, ``p:<n>`` = a phantom slot reserved because GHL's headers said it counted
                 more than we did.
KEYS[2]  meta    hash: ``seq`` member counter, ``day``/``used`` daily counter (UTC day of Redis
                 time), ``block`` (ms until which a 429 blocks the resource), and the tighter
                 limits GHL's headers announced: ``max``, ``win`` (ms), ``dlim``.

ARGV: op, now_ms ('' = Redis TIME), the configuration packed as
``limit|window_ms|safety_ms|daily_limit|interactive_reserve|daily_bulk_fraction``, and for
``acquire`` is_bulk ('1'/'0'), for ``observe``
``status|remaining|max|interval_ms|daily_remaining|daily_limit|slot|granted_at|used_at_grant``
(fields '' when absent; the last three describe the grant the answer belongs to), and for
``observe_acquire`` (a caller's previous answer reported with its next turn, one round trip
instead of two) the observe argument then is_bulk: it replies acquire's fields then observe's.
Replies are one '|'-joined string. Packing keeps the client's per-call cost (encoding
arguments, parsing replies) low: it is most of the cost.

Times travel formatted with ``%.3f``: Lua's own number-to-string keeps only 14 significant
digits, too few for epoch milliseconds with a fraction.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Priority(enum.IntEnum):
    INTERACTIVE = 0  # a person is waiting for the answer
    WEBHOOK = 1  # reacting to a GHL event
    BULK = 2  # sync, backfills, reports: whatever the others leave


@dataclass(frozen=True, slots=True)
class Grant:
    """A turn, or the exact time to wait for one."""

    resource: str
    priority: Priority
    granted: bool
    reason: str  # "ok", or why not: "window", "blocked" (after a 429), "daily"
    wait_ms: float  # 0 when granted
    at_ms: float | None  # Redis time of the grant
    window_used: int  # after this grant
    window_limit: int  # the cap that applied to this priority
    daily_remaining: int
    waited_s: float = 0.0  # set by wait_turn: time spent waiting for this turn
    slot: str | None = None  # the grant's member in the window log

    @property
    def wait_s(self) -> float:
        return self.wait_ms / 1000


@dataclass(frozen=True, slots=True)
class Observation:
    """GHL's answer to a granted request, packed when it arrived (bound to its grant), to be
    reported later: alone, or with the same caller's next turn in one round trip."""

    resource: str
    status: int
    arg: str  # the script's observe argument


@dataclass(frozen=True, slots=True)
class GovernorStats:
    resource: str
    window_used: int  # grants and phantoms in the current window
    phantoms: int
    window_limit: int  # effective: the configured one, or lower if GHL said so
    bulk_limit: int
    window_ms: float  # effective, without the safety margin
    daily_used: int
    daily_limit: int
    blocked_ms: float  # what is left of a 429 block
    now_ms: float  # Redis time

    @property
    def daily_remaining(self) -> int:
        return max(0, self.daily_limit - self.daily_used)


class GovernorError(RuntimeError):
    pass


class DailyBudgetExhausted(GovernorError):
    """No budget left today for this priority; ``retry_after_s`` is the wait until the next day."""

    def __init__(self, resource: str, priority: Priority, retry_after_s: float) -> None:
        super().__init__(
            f"GHL daily budget of {resource} is spent for {priority.name} work; "
            f"retry in {retry_after_s:.0f} s"
        )
        self.resource, self.priority, self.retry_after_s = resource, priority, retry_after_s


class GovernorTimeout(GovernorError, TimeoutError):
    """The next turn comes later than the caller's timeout allows."""

    def __init__(self, resource: str, wait_s: float, timeout: float) -> None:
        super().__init__(f"next GHL turn of {resource} is {wait_s:.3f} s away (> {timeout} s)")
        self.resource, self.wait_s, self.timeout = resource, wait_s, timeout


# The five headers in the script's argument order, with the least value that makes sense.
HEADERS = (
    ("x-ratelimit-remaining", 0),
    ("x-ratelimit-max", 1),
    ("x-ratelimit-interval-milliseconds", 1),
    ("x-ratelimit-daily-remaining", 0),
    ("x-ratelimit-limit-daily", 1),
)

SCRIPT = r"""
local DAY_MS = 86400000
local META_TTL_MS = 2 * DAY_MS

local function fmt(x) return string.format('%.3f', x) end

local function split(packed)
  local out = {}
  for field in string.gmatch(packed .. '|', '([^|]*)|') do out[#out + 1] = field end
  return out
end

local op = ARGV[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local cfg = split(ARGV[3])
local cfg_limit, cfg_window, safety = tonumber(cfg[1]), tonumber(cfg[2]), tonumber(cfg[3])
local cfg_daily, reserve, bulk_fraction = tonumber(cfg[4]), tonumber(cfg[5]), tonumber(cfg[6])
local function reply(...) return table.concat({...}, '|') end

-- One operation; `observe_acquire` runs two in one round trip, each reading the state afresh.
local function run(op, arg)
local m = redis.call('HMGET', KEYS[2], 'day', 'used', 'block', 'max', 'win', 'dlim')
local today = math.floor(now / DAY_MS)
local used = 0
if tonumber(m[1]) == today then used = tonumber(m[2]) or 0 end
local block = tonumber(m[3]) or 0

-- Headers may only tighten: the configured values are the ceiling for max and daily limit and
-- the floor for the interval.
local function effective(hmax, hwin, hdlim)
  local limit, window, daily = cfg_limit, cfg_window, cfg_daily
  if hmax and hmax < limit then limit = hmax end
  if hwin and hwin > window then window = hwin end
  if hdlim and hdlim < daily then daily = hdlim end
  return limit, window, daily
end

local function trim(span)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - span))
  return redis.call('ZCARD', KEYS[1])
end

-- BULK keeps out of the reserved slots; the reserve shrinks with the limit if GHL lowered it.
local function bulk_cap(limit)
  local r = math.floor(reserve * limit / cfg_limit)
  return math.max(1, limit - r)
end

local function next_slot(m1)
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  return m1 .. seq
end

local function touch(span)
  redis.call('PEXPIRE', KEYS[1], math.ceil(span) + 1000)
  redis.call('PEXPIRE', KEYS[2], META_TTL_MS)
end

if op == 'acquire' then
  local bulk = arg == '1'
  local limit, window, daily = effective(tonumber(m[4]), tonumber(m[5]), tonumber(m[6]))
  local span = window + safety
  local remaining = daily - used
  if block > now then
    return reply(0, fmt(block - now), 'blocked', 0, limit, remaining, '')
  end
  local daily_floor = 0
  if bulk then daily_floor = math.ceil(daily * bulk_fraction) end
  if remaining <= daily_floor then
    return reply(0, fmt((today + 1) * DAY_MS - now), 'daily', 0, limit, remaining, '')
  end
  local count = trim(span)
  local cap = limit
  if bulk then cap = bulk_cap(limit) end
  if count >= cap then
    -- The slot that frees this caller's turn is the (count - cap + 1)-th oldest.
    local idx = count - cap
    local entry = redis.call('ZRANGE', KEYS[1], idx, idx, 'WITHSCORES')
    local wait = tonumber(entry[2]) + span - now
    if wait < 0 then wait = 0 end
    return reply(0, fmt(wait), 'window', count, cap, remaining, '')
  end
  local slot = next_slot('g:')
  redis.call('ZADD', KEYS[1], fmt(now), slot)
  redis.call('HSET', KEYS[2], 'day', today, 'used', used + 1)
  touch(span)
  return reply(1, fmt(now), 'ok', count + 1, cap, remaining - 1, slot)
end

if op == 'observe' then
  local a = split(arg)
  local status, h_remaining, h_max = tonumber(a[1]) or 0, tonumber(a[2]), tonumber(a[3])
  local h_interval, h_daily_remaining = tonumber(a[4]), tonumber(a[5])
  local h_daily_limit = tonumber(a[6])
  -- GHL's count is from when it saw the request, ours must be too: the window at our grant plus
  -- every turn taken since (the window now would miss turns that expired meanwhile).
  local ours = nil
  local granted_at, used_at_grant = tonumber(a[8]), tonumber(a[9])
  if granted_at and used_at_grant then
    ours = used_at_grant + redis.call('ZCOUNT', KEYS[1], '(' .. fmt(granted_at), '+inf')
  end
  -- GHL counted the request at some time a <= now. A slot stamped s leaves our window at
  -- s + window + safety, so s >= now - safety keeps it there until a + window at least: restamp
  -- to that when the grant stamp is earlier (a slow answer), or back in if it already left.
  if a[7] ~= '' then
    local at = now - safety
    local stamp = tonumber(redis.call('ZSCORE', KEYS[1], a[7]))
    if stamp == nil or stamp < at then redis.call('ZADD', KEYS[1], fmt(at), a[7]) end
  end
  local function remember(field, value, tighter)
    if value == nil then return end
    if tighter then redis.call('HSET', KEYS[2], field, value)
    else redis.call('HDEL', KEYS[2], field) end
  end
  remember('max', h_max, h_max and h_max < cfg_limit)
  remember('win', h_interval, h_interval and h_interval > cfg_window)
  remember('dlim', h_daily_limit, h_daily_limit and h_daily_limit < cfg_daily)
  -- A header present now replaces what was remembered; effective() clamps it to the config.
  local limit, window, daily = effective(
    h_max or tonumber(m[4]), h_interval or tonumber(m[5]), h_daily_limit or tonumber(m[6]))
  local span = window + safety
  local count = trim(span)
  local phantoms = 0
  if h_remaining then
    ours = ours or count
    phantoms = math.min((h_max or limit) - h_remaining - ours, limit - count)
    for _ = 1, phantoms do
      redis.call('ZADD', KEYS[1], fmt(now), next_slot('p:'))
    end
    phantoms = math.max(phantoms, 0)
  end
  if h_daily_remaining and h_daily_remaining < daily - used then
    used = daily - h_daily_remaining
    redis.call('HSET', KEYS[2], 'day', today, 'used', used)
  end
  local blocked = 0
  if status == 429 then
    local until_ms = now + span
    if until_ms > block then
      redis.call('HSET', KEYS[2], 'block', fmt(until_ms))
      block = until_ms
    end
    blocked = block - now
  end
  touch(span)
  return reply(phantoms, fmt(blocked), count + phantoms, daily - used)
end

if op == 'stats' then
  local limit, window, daily = effective(tonumber(m[4]), tonumber(m[5]), tonumber(m[6]))
  local span = window + safety
  local count = trim(span)
  local phantoms = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(member, 1, 2) == 'p:' then phantoms = phantoms + 1 end
  end
  local blocked = 0
  if block > now then blocked = block - now end
  return reply(count, phantoms, limit, bulk_cap(limit), fmt(window), used, daily, fmt(blocked),
    fmt(now))
end

return nil
end

if ARGV[1] == 'observe_acquire' then
  local observed = run('observe', ARGV[4])
  return run('acquire', ARGV[5]) .. '|' .. observed
end
local result = run(ARGV[1], ARGV[4])
if result == nil then return redis.error_reply('unknown governor op ' .. tostring(ARGV[1])) end
return result
"""

SHA = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()


def fields(reply: Any) -> list[str]:
    return (reply.decode() if isinstance(reply, bytes) else str(reply)).split("|")


def observe_arg(headers: Mapping[str, str], status: int, grant: Grant | None) -> str:
    """The answer as the script's argument: status, the five headers ('' when missing or
    nonsensical, any case) and the grant it answers."""
    lowered = {name.lower(): value for name, value in headers.items()}
    parts = [str(status)]
    for name, least in HEADERS:
        try:
            number = int(str(lowered.get(name, "")).strip())
        except ValueError:
            number = least - 1
        parts.append(str(number) if number >= least else "")
    if grant is None or grant.at_ms is None:
        parts += ["", "", ""]
    else:
        parts += [grant.slot or "", f"{grant.at_ms:.3f}", str(grant.window_used)]
    return "|".join(parts)


def decode_grant(resource: str, priority: Priority, reply: Any) -> Grant:
    r = fields(reply)
    granted, value = r[0] == "1", float(r[1])
    return Grant(
        resource=resource,
        priority=priority,
        granted=granted,
        reason=r[2],
        wait_ms=0.0 if granted else value,
        at_ms=value if granted else None,
        window_used=int(r[3]),
        window_limit=int(r[4]),
        daily_remaining=int(r[5]),
        slot=r[6] or None,
    )


def decode_stats(resource: str, reply: Any) -> GovernorStats:
    r = fields(reply)
    return GovernorStats(
        resource=resource,
        window_used=int(r[0]),
        phantoms=int(r[1]),
        window_limit=int(r[2]),
        bulk_limit=int(r[3]),
        window_ms=float(r[4]),
        daily_used=int(r[5]),
        daily_limit=int(r[6]),
        blocked_ms=float(r[7]),
        now_ms=float(r[8]),
    )
