"""Real Django as the oracle for test/django-differential.test.ts.

One long-lived process (Debian's /usr/bin/python3 with python3-django 3.2): reads one operation
sequence per line of JSON on stdin, runs it on Django's own session code (the cache engine over
locmem, or signed_cookies) behind Django's own SessionMiddleware, with a frozen clock the sequence
advances, and writes one line of JSON per sequence: the observations after every step, in the same
form the TypeScript driver (test/django/ours.ts) produces for our engines.

The wire format and the operations are described in test/django/protocol.ts.

Django is used unmodified. The only things replaced are the clock (time.time and
django.utils.timezone.now) and, for observation only, a wrapper around each store's load() that
records whether the store had the record.
"""
import json
import sys
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="differential-test secret: at least thirty-two bytes",
    INSTALLED_APPS=["django.contrib.sessions"],
    USE_TZ=True,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "differential"}},
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    # Pickle, not JSON: with Django's JSONSerializer set_expiry(datetime) cannot be saved at all (Django's docs
    # say so). For every value the generator makes (str-keyed dicts, lists, str, int, float, bool, None) pickle
    # and Django's JSONSerializer give back exactly the same Python values; pickle also keeps the datetime.
    SESSION_SERIALIZER="django.contrib.sessions.serializers.PickleSerializer",
    SESSION_COOKIE_AGE=1209600,
    LOGGING_CONFIG=None,
)
django.setup()

import warnings  # noqa: E402

warnings.simplefilter("ignore")

from django.contrib.sessions.exceptions import SessionInterrupted  # noqa: E402
from django.contrib.sessions.backends.base import UpdateError  # noqa: E402
from django.contrib.sessions.middleware import SessionMiddleware  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
import django.utils.timezone  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
clock_ms = [0]


def now_dt():
    return EPOCH + timedelta(milliseconds=clock_ms[0])


time.time = lambda: clock_ms[0] / 1000
django.utils.timezone.now = now_dt

ENGINES = {
    "cache": "django.contrib.sessions.backends.cache",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}
MIDDLEWARE = {}
for name, path in ENGINES.items():
    settings.SESSION_ENGINE = path
    MIDDLEWARE[name] = SessionMiddleware(lambda request: HttpResponse())


# ---- canonical text: the same rendering as canon() in test/django/protocol.ts ----------------------


def canon_float(x):
    if x != x:
        return "f:nan"
    if x in (float("inf"), float("-inf")):
        return "f:inf" if x > 0 else "f:-inf"
    if x == 0:
        return "f:-0" if str(x).startswith("-") else "f:0"
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    return "f:%s%se%d" % ("-" if sign else "", "".join(map(str, digits)), exponent)


def iso_ms(value):
    utc = value.astimezone(dt_timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (utc.microsecond // 1000)


def canon(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return "i:%d" % value
    if isinstance(value, float):
        return canon_float(value)
    if isinstance(value, str):
        return json.dumps(value)
    # Django keeps set_expiry(datetime) as a datetime; we store its ISO string (README difference 7).
    if isinstance(value, datetime):
        return json.dumps(iso_ms(value))
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canon(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + canon(v) for k, v in value.items()) + "}"
    return "?" + type(value).__name__


def error_name(err):
    if isinstance(err, (UpdateError, SessionInterrupted)):
        return "!Interrupted"
    return "!" + type(err).__name__


# ---- running a sequence ------------------------------------------------------------------------------


class Run:
    def __init__(self, seq):
        self.seq = seq
        self.mw = MIDDLEWARE[seq["engine"]]
        self.cookie = None
        self.handles = {}
        self.key_ids = {}
        self.misses = []

    def key_id(self, key):
        """Session keys are random: each distinct key is named by its order of first appearance."""
        if not key:
            return None
        if key not in self.key_ids:
            self.key_ids[key] = len(self.key_ids)
        return self.key_ids[key]

    def watch(self, session):
        """Records whether the store held the record the session was opened with (observation only)."""
        original = session.load
        original_create = session.create

        def create():
            self.misses.append(True)
            return original_create()

        def load():
            before = len(self.misses)
            session.create = create
            try:
                data = original()
            finally:
                del session.create
            if len(self.misses) == before and session.session_key is None:
                self.misses.append(True)
            return data

        session.load = load
        return session

    def open(self, h):
        request = HttpRequest()
        if self.cookie is not None:
            request.COOKIES[settings.SESSION_COOKIE_NAME] = self.cookie
        self.mw.process_request(request)
        self.watch(request.session)
        self.handles[h] = request
        return "ok"

    def commit(self, request, status):
        response = self.mw.process_response(request, HttpResponse(status=status))
        vary = "true" if "Cookie" in response.get("Vary", "") else "false"
        morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
        if morsel is None:
            return "none vary=%s" % vary
        if morsel.value == "" and morsel["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT":
            self.cookie = None
            return "delete vary=%s" % vary
        self.cookie = morsel.value
        max_age = morsel["max-age"]
        expires = morsel["expires"]
        expires_s = int(parsedate_to_datetime(expires).timestamp()) if expires else None
        # A signed cookie's value is its data: compared by what a new request loads from it (peek), not by spelling.
        key = "set" if self.seq["engine"] == "signed_cookies" else self.key_id(morsel.value)
        return "set key=%s maxAge=%s expires=%s vary=%s" % (key, max_age if max_age != "" else None, expires_s, vary)

    def peek(self):
        """What a new request with the client's cookie finds: the data and its expiry age."""
        store = self.watch(self.mw.SessionStore(self.cookie))
        items = dict(store.items())
        return "%s age=%s" % (canon(items), canon(store.get_expiry_age()))

    def step(self, step):
        op = step["op"]
        if op == "advance":
            clock_ms[0] += step["ms"]
            return "ok"
        if op == "open":
            return self.open(step["h"])
        if op == "peek":
            return self.peek()
        if op == "config":
            return "ok"
        if step["h"] not in self.handles:
            return "!NoHandle"
        request = self.handles[step["h"]]
        s = request.session
        if op == "commit":
            return self.commit(request, step.get("status", 200))
        if op == "get":
            if "default" in step:
                return canon(s.get(step["key"], json.loads(step["default"])))
            return canon(s.get(step["key"]))
        if op == "set":
            s[step["key"]] = json.loads(step["value"])
            return "ok"
        if op == "del":
            del s[step["key"]]
            return "ok"
        if op == "has":
            return canon(step["key"] in s)
        if op == "pop":
            if "default" in step:
                return canon(s.pop(step["key"], json.loads(step["default"])))
            return canon(s.pop(step["key"]))
        if op == "setdefault":
            return canon(s.setdefault(step["key"], json.loads(step["value"])))
        if op == "update":
            s.update(json.loads(step["value"]))
            return "ok"
        if op == "mutate":
            # An in-place change of a nested value, as a view does with request.session['cart'].append(x).
            target = s.get(step["key"])
            value = json.loads(step["value"])
            if isinstance(target, list):
                target.append(value)
                return "appended"
            if isinstance(target, dict):
                target[step["field"]] = value
                return "assigned"
            return "skipped"
        if op == "markModified":
            s.modified = True
            return "ok"
        if op == "setExpiry":
            s.set_expiry(expiry_value(step["expiry"]))
            return "ok"
        if op == "getExpiryAge":
            return canon(s.get_expiry_age(**expiry_kwargs(step)))
        if op == "getExpiryDate":
            return canon(s.get_expiry_date(**expiry_kwargs(step)))
        if op in QUERIES:
            return canon(QUERIES[op](s))
        if op in ACTIONS:
            getattr(s, ACTIONS[op])()
            return "ok"
        raise ValueError("unknown op %r" % op)

    def observe(self, step, result):
        obs = {"r": result, "miss": len(self.misses)}
        self.misses.clear()
        h = step.get("h")
        if h is not None and h in self.handles and step["op"] != "peek":
            s = self.handles[h].session
            obs["m"] = bool(s.modified)
            obs["a"] = bool(s.accessed)
            if self.seq["engine"] != "signed_cookies":
                obs["k"] = self.key_id(s.session_key)
            else:
                obs["k"] = None if not s.session_key else "set"
        return obs

    def run(self):
        config = self.seq["config"]
        settings.SESSION_COOKIE_AGE = config["cookieAge"]
        settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = config["expireAtBrowserClose"]
        settings.SESSION_SAVE_EVERY_REQUEST = config["saveEveryRequest"]
        cache.clear()
        clock_ms[0] = self.seq["start"]
        trace = []
        for step in self.seq["steps"]:
            try:
                result = self.step(step)
            except Exception as err:  # every error is an observation: its class is compared
                result = error_name(err)
            trace.append(self.observe(step, result))
        return trace


# Operations without arguments, as in test/django/ours.ts: answered with their result...
QUERIES = {
    "keys": lambda s: list(s.keys()),
    "values": lambda s: list(s.values()),
    "items": lambda s: [list(item) for item in s.items()],
    "isEmpty": lambda s: s.is_empty(),
    "getExpireAtBrowserClose": lambda s: s.get_expire_at_browser_close(),
    "testCookieWorked": lambda s: s.test_cookie_worked(),
}
# ...or with "ok".
ACTIONS = {
    "clear": "clear",
    "flush": "flush",
    "cycle": "cycle_key",
    "save": "save",
    "setTestCookie": "set_test_cookie",
    "deleteTestCookie": "delete_test_cookie",
}


def expiry_value(expiry):
    kind = expiry["kind"]
    if kind == "seconds":
        return expiry["n"]
    if kind == "date":
        return now_dt() + timedelta(milliseconds=expiry["offsetMs"])
    if kind == "zero":
        return 0
    return None


def expiry_kwargs(step):
    kwargs = {}
    if "modificationOffsetMs" in step:
        kwargs["modification"] = now_dt() + timedelta(milliseconds=step["modificationOffsetMs"])
    if "expiry" in step:
        kwargs["expiry"] = expiry_value(step["expiry"]) if step["expiry"]["kind"] != "garbage" else "garbage"
    return kwargs


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("op") == "version":
            answer = {"version": django.get_version()}
        else:
            answer = {"id": request["id"], "trace": Run(request).run()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
