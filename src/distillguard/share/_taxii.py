"""TAXII 2.1 push and pull through ``taxii2-client``.

Pull pages the way TAXII 2.1 says (section 3.4): ask with ``limit``, then follow ``next``
while ``more`` is true, repeating the SAME filters on every request (servers such as
medallion reject a ``next`` whose filters changed). It is resumable: the server's
``X-TAXII-Date-Added-Last`` header is kept in a state file and passed as
``added_after`` next time. The state is saved only after a pull completes, because
objects added in one request share one ``date_added`` and a page boundary can split
them; resuming from a mid-pull page would skip the rest of that batch.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from distillguard.errors import DistillguardError
from distillguard.share._config import ShareConfig, load_config

#: Objects per page we ask for (servers may cap it lower; we follow what they return).
DEFAULT_PAGE_SIZE = 100
#: Share of the API root's max_content_length one pushed envelope may use (JSON overhead).
ENVELOPE_FILL = 0.8
#: Object types push leaves out by default. medallion 3.0.0 reads any object's ``version``
#: property as its manifest version and then fails every GET of the collection; STIX
#: extension-definitions carry a ``version`` (e.g. "1.0.0"). distillguard's definition has a
#: fixed id every member knows, so leaving it out loses nothing.
DEFAULT_SKIP_TYPES: tuple[str, ...] = ("extension-definition",)
#: Fallback envelope size when the API root does not say (bytes).
DEFAULT_MAX_CONTENT = 1_000_000
_HEADER_LAST = "X-TAXII-Date-Added-Last"


@dataclass
class PushResult:
    """What the server accepted."""

    objects: int
    succeeded: int
    failed: int  # includes objects the server already holds in the same version
    envelopes: int
    skipped: int  # objects of ``skip_types`` left out


@dataclass
class PullResult:
    """What a pull fetched and where it put it."""

    objects: int
    pages: int
    path: Path | None
    added_after: str | None
    date_added_last: str | None


def _api_root_url(server: str, conn: Any) -> str:
    url = server if server.endswith("/") else server + "/"
    if urlparse(url).path.rstrip("/").endswith("taxii2"):  # a discovery URL: use its default root
        from taxii2client.v21 import Server

        srv = Server(url, conn=conn)
        root = srv.default or (srv.api_roots[0] if srv.api_roots else None)
        if root is None:
            raise DistillguardError(f"TAXII server {server} advertises no API root")
        return root.url
    return url


def _connect(server: str, collection: str, user: str | None, password: str | None) -> tuple[Any, Any, dict]:
    """(Collection, ApiRoot, last-response-headers) sharing one HTTP session.

    taxii2-client returns only JSON bodies; a response hook on its session keeps the
    ``X-TAXII-*`` headers of the latest response so pull can read Date-Added-Last.
    """
    from taxii2client.common import _HTTPConnection
    from taxii2client.v21 import ApiRoot, Collection

    conn = _HTTPConnection(user=user, password=password, version="2.1")
    seen: dict[str, str] = {}

    def remember(resp: Any, *args: Any, **kwargs: Any) -> None:
        seen.clear()
        seen.update({k: v for k, v in resp.headers.items() if k.lower().startswith("x-taxii-")})

    conn.session.hooks["response"].append(remember)
    root_url = _api_root_url(server, conn)
    coll = Collection(f"{root_url}collections/{collection}/", conn=conn)
    return coll, ApiRoot(root_url, conn=conn), seen


def _fail(op: str, server: str, err: Exception) -> DistillguardError:
    response = getattr(err, "response", None)
    status = f"HTTP {response.status_code}" if response is not None else type(err).__name__
    detail = str(err).splitlines()[0] if str(err) else ""
    return DistillguardError(f"TAXII {op} at {server} failed: {status} {detail}".strip())


def _creds(config: ShareConfig | str | os.PathLike[str] | None, user: str | None, password: str | None):
    cfg = config if isinstance(config, ShareConfig) else load_config(config)
    cfg_user, cfg_password = cfg.credentials()
    return user or cfg_user, password or cfg_password


def _objects_of(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DistillguardError(f"cannot read bundle {path}: {err}") from None
    except RecursionError:
        raise DistillguardError(f"cannot read bundle {path}: JSON nested too deeply") from None
    if (
        not isinstance(data, dict)
        or data.get("type") != "bundle"
        or not isinstance(data.get("objects"), list)
    ):
        raise DistillguardError(f"{path} is not a STIX bundle")
    return data["objects"]


def push(
    bundles: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    server: str,
    collection: str,
    user: str | None = None,
    password: str | None = None,
    config: ShareConfig | str | os.PathLike[str] | None = None,
    skip_types: Sequence[str] = DEFAULT_SKIP_TYPES,
) -> PushResult:
    """Add every object of ``bundles`` to the collection, in envelopes the server accepts."""
    import requests
    from taxii2client.exceptions import TAXIIServiceException

    if isinstance(bundles, str | os.PathLike):
        bundles = [bundles]
    every = [o for b in bundles for o in _objects_of(Path(b))]
    objects = [o for o in every if o.get("type") not in set(skip_types)]
    user, password = _creds(config, user, password)
    try:
        coll, root, _ = _connect(server, collection, user, password)
        limit = int((root.max_content_length or DEFAULT_MAX_CONTENT) * ENVELOPE_FILL)
        envelopes: list[list[dict[str, Any]]] = [[]]
        size = 0
        for obj in objects:
            n = len(json.dumps(obj, ensure_ascii=False).encode("utf-8")) + 2
            if envelopes[-1] and size + n > limit:
                envelopes.append([])
                size = 0
            envelopes[-1].append(obj)
            size += n
        ok = failed = 0
        for env in envelopes:
            if not env:
                continue
            status = coll.add_objects({"objects": env}, wait_for_completion=True, poll_interval=1, timeout=60)
            ok += int(status.success_count or 0)
            failed += int(status.failure_count or 0)
    except (requests.RequestException, TAXIIServiceException) as err:
        raise _fail("push", server, err) from None
    return PushResult(len(objects), ok, failed, sum(1 for e in envelopes if e), len(every) - len(objects))


def _load_state(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        state = json.loads(path.read_text())
    except ValueError:
        raise DistillguardError(
            f"state file {path} is not valid JSON (delete it to pull everything)"
        ) from None
    return state if isinstance(state, dict) else {}


def _later(a: str | None, b: str | None) -> str | None:
    def parse(x: str) -> datetime:
        return datetime.fromisoformat(x.replace("Z", "+00:00"))

    if a is None or b is None:
        return a or b
    return a if parse(a) >= parse(b) else b


def pull(
    *,
    server: str,
    collection: str,
    out: str | os.PathLike[str],
    user: str | None = None,
    password: str | None = None,
    config: ShareConfig | str | os.PathLike[str] | None = None,
    state_file: str | os.PathLike[str] | None = None,
    added_after: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    types: Sequence[str] | None = None,
) -> PullResult:
    """Fetch new objects of a collection into one bundle file under ``out``."""
    import requests
    from taxii2client.exceptions import TAXIIServiceException

    user, password = _creds(config, user, password)
    state_path = Path(state_file) if state_file else None
    state = _load_state(state_path)
    objects: list[dict[str, Any]] = []
    pages = 0
    last: str | None = None
    try:
        coll, root, seen = _connect(server, collection, user, password)
        state_key = f"{root.url}|{collection}"
        since = added_after or (state.get(state_key) or {}).get("added_after")
        filters: dict[str, Any] = {}
        if since:
            filters["added_after"] = since
        if types:
            filters["type"] = list(types)
        envelope = coll.get_objects(limit=page_size, **filters)
        while True:
            pages += 1
            objects.extend(envelope.get("objects", []))
            last = _later(last, seen.get(_HEADER_LAST) or seen.get(_HEADER_LAST.lower()))
            if not envelope.get("more") or not envelope.get("next"):
                break
            envelope = coll.get_objects(limit=page_size, next=envelope["next"], **filters)
    except (requests.RequestException, TAXIIServiceException) as err:
        raise _fail("pull", server, err) from None
    except RecursionError:  # a hostile or broken server's deeply nested JSON
        raise DistillguardError(f"pull from {server}: the server sent JSON nested too deeply") from None

    path: Path | None = None
    if objects:
        target = Path(out)
        if target.suffix != ".json":
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = target / f"taxii-{collection[:8]}-{stamp}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
        target.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
        path = target
    if state_path is not None and last is not None:
        state[state_key] = {"added_after": last, "pulled_at": datetime.now(UTC).isoformat()}
        state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_name(state_path.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, state_path)
    return PullResult(len(objects), pages, path, since, last)
