"""Real Django, driven by test/django-cookie.test.ts: makes signed session cookies and checks ours.

Reads one JSON request on stdin, writes one JSON answer on stdout. Run with Debian's /usr/bin/python3
(python3-django). Each request carries its own settings, so one process answers one request.

Requests:
  {"op": "save", "secret", "data", "now"?, "salt"?, "compress"?, "algorithm"?}
      -> {"cookie"}: signed_cookies.SessionStore().save() when no salt/compress/algorithm is given,
         else signing.dumps(...) with them (compress False = a plain payload).
  {"op": "load", "secret", "fallbacks"?, "cookie", "max_age"?, "salt"?, "now"?}
      -> {"ok": true, "value"} or {"ok": false, "error": "BadSignature" | "SignatureExpired" | ...}
  {"op": "session", "secret", "fallbacks"?, "cookie", "age"?, "now"?}
      -> {"data"}: signed_cookies.SessionStore(session_key=cookie).load(), what a Django view would see.
  {"op": "version"} -> {"version"}
"""
import json
import sys
import time


def main():
    request = json.load(sys.stdin)
    import django
    from django.conf import settings

    if request["op"] == "version":
        print(json.dumps({"version": django.get_version()}))
        return

    settings.configure(
        SECRET_KEY=request["secret"],
        SECRET_KEY_FALLBACKS=request.get("fallbacks", []),
        SESSION_COOKIE_AGE=request.get("age", 1209600),
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        SESSION_SERIALIZER="django.contrib.sessions.serializers.JSONSerializer",
        INSTALLED_APPS=["django.contrib.sessions"],
        USE_TZ=True,
    )
    django.setup()
    from django.core import signing

    if "now" in request:
        frozen = float(request["now"])
        time.time = lambda: frozen

    op = request["op"]
    if op == "save":
        if any(k in request for k in ("salt", "compress", "algorithm")):
            signer = signing.TimestampSigner(
                salt=request.get("salt", "django.contrib.sessions.backends.signed_cookies"),
                algorithm=request.get("algorithm", "sha256"),
            )
            cookie = signer.sign_object(request["data"], compress=request.get("compress", True))
        else:
            from django.contrib.sessions.backends.signed_cookies import SessionStore

            session = SessionStore()
            session.update(request["data"])
            session.save()
            cookie = session.session_key
        print(json.dumps({"cookie": cookie}))
    elif op == "load":
        kwargs = {}
        if request.get("fallbacks") and "fallback_keys" in signing.loads.__code__.co_varnames:
            kwargs["fallback_keys"] = request["fallbacks"]
        try:
            value = signing.loads(
                request["cookie"],
                salt=request.get("salt", "django.contrib.sessions.backends.signed_cookies"),
                max_age=request.get("max_age"),
                **kwargs,
            )
            print(json.dumps({"ok": True, "value": value}))
        except Exception as err:  # noqa: BLE001 - the class name is the answer
            print(json.dumps({"ok": False, "error": type(err).__name__}))
    elif op == "session":
        from django.contrib.sessions.backends.signed_cookies import SessionStore

        session = SessionStore(session_key=request["cookie"])
        print(json.dumps({"data": dict(session.load())}))
    else:
        raise SystemExit("unknown op %r" % op)


main()
