"""Hosting end to end: local folders + site server, S3Hosting on real boto3 (moto S3, KVS stand-in)."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from agent.hosting import ERROR_PAGE_KEY, HostingError, LocalHosting, S3Hosting, cache_control
from local import kvs_standin, site_server
from local.servers import ServerHandle, serve_in_thread
from tests.cloudfront_function import NODE, run_viewer_function

REPO_ROOT = Path(__file__).resolve().parents[2]
KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/6f1c2a8e-0d4b-4c3e-9a57-2b8f0e1d7c11"
BUCKET = "shipit-site-test"
PUBLIC = "https://site.example"
IMMUTABLE = "public, max-age=31536000, immutable"
SIGV4A = "AWS4-ECDSA-P256-SHA256"

BUILD_A = {
    "index.html": "<!doctype html><h1>Build A</h1>",
    "app.js": "console.log('a');",
    "styles/site.css": "body { color: red }",
    "docs/index.html": "<p>A docs</p>",
    "img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "data.bin-blob": "opaque",
}
BUILD_B = {"index.html": "<!doctype html><h1>Build B</h1>", "docs/index.html": "<p>B docs</p>"}


def make_build(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / "out" / name
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


# ---------------------------------------------------------------- local folders + site server


@pytest.fixture
def local_site(tmp_path: Path) -> Iterator[tuple[LocalHosting, httpx.Client]]:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    handle = serve_in_thread(site_server.create_app(site_dir), name="site")
    try:
        with httpx.Client(base_url=handle.url, follow_redirects=False) as client:
            yield LocalHosting(site_dir, handle.url + "/"), client
    finally:
        handle.stop()


def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    # http.client sends the path byte for byte; httpx would normalise "..", hiding the attack.
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_local_previews_serve_each_build(local_site, tmp_path: Path) -> None:
    hosting, client = local_site
    url_a = hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    url_b = hosting.publish("b-b", make_build(tmp_path, "b", BUILD_B))
    assert url_a == str(client.base_url).rstrip("/") + "/previews/b-a/"
    assert (hosting.has_build("b-a"), hosting.has_build("b-b")) == (True, True)
    assert not hosting.has_build("b-zzz")

    for url, build in ((url_a, BUILD_A), (url_b, BUILD_B)):
        page = client.get(url)
        assert (page.status_code, page.text) == (200, build["index.html"])
        assert page.headers["cache-control"] == "no-cache"  # HTML: revalidated on every visit
        assert client.get(url + "docs/").text == build["docs/index.html"]
    assert client.get(url_a + "styles/site.css").text == BUILD_A["styles/site.css"]
    assert client.get(url_b + "app.js").status_code == 404  # only build A has it
    moved = client.get("/previews/b-a")
    assert (moved.status_code, moved.headers["location"]) == (301, "/previews/b-a/")


def test_local_production_switches_on_promote(local_site, tmp_path: Path) -> None:
    hosting, client = local_site
    hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    hosting.publish("b-b", make_build(tmp_path, "b", BUILD_B))

    before = client.get("/")
    assert before.status_code == 503
    assert "Nothing is live yet" in before.text
    assert hosting.live_build() is None

    assert hosting.promote("b-a") == hosting.production_url
    assert client.get("/").text == BUILD_A["index.html"]
    assert client.get("/app.js").text == BUILD_A["app.js"]
    assert hosting.live_build() == "b-a"

    # No restart, no copy: the very next request sees the other build.
    hosting.promote("b-b")
    assert client.get("/").text == BUILD_B["index.html"]
    assert client.get("/docs/").text == BUILD_B["docs/index.html"]
    assert hosting.live_build() == "b-b"
    hosting.promote("b-a")  # undo is the same switch
    assert client.get("/").text == BUILD_A["index.html"]


def test_local_promote_of_unknown_build_changes_nothing(local_site, tmp_path: Path) -> None:
    hosting, client = local_site
    hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    with pytest.raises(HostingError, match="no such published build"):
        hosting.promote("b-missing")
    assert hosting.live_build() is None
    assert client.get("/").status_code == 503


def test_local_publish_is_once_per_id(local_site, tmp_path: Path) -> None:
    hosting, client = local_site
    hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    with pytest.raises(HostingError, match="already published"):
        hosting.publish("b-a", make_build(tmp_path, "b", BUILD_B))
    assert client.get(hosting.preview_url("b-a")).text == BUILD_A["index.html"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(HostingError, match="empty"):
        hosting.publish("b-empty", tmp_path / "empty")
    with pytest.raises(HostingError, match="does not exist"):
        hosting.publish("b-none", tmp_path / "nowhere")
    assert not hosting.has_build("b-empty")


@pytest.mark.parametrize(
    "path",
    [
        "/previews/../production.json",
        "/previews/%2e%2e/production.json",
        "/previews/b-a/../../production.json",
        "/previews/b-a/%2e%2e/%2e%2e/production.json",
        "/previews/b-a/%2E%2E%2F%2E%2E%2F..%2Foutside.txt",
        "/previews/b-a%2F..%2F..%2F..%2Foutside.txt",
        "/previews/b-a//etc/hostname",
        "/../../outside.txt",
        "/%2e%2e/%2e%2e/production.json",
    ],
)
def test_local_path_traversal_is_refused(local_site, tmp_path: Path, path: str) -> None:
    hosting, client = local_site
    hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    hosting.promote("b-a")  # so production.json exists and "/" paths reach the file lookup
    (tmp_path / "outside.txt").write_text("SECRET")
    status, body = raw_get(str(client.base_url), path)
    assert status == 404, (path, body)
    assert b"SECRET" not in body and b"build_id" not in body


# ---------------------------------------------------------------- S3 (moto) + KVS stand-in


@pytest.fixture
def kvs_server() -> Iterator[tuple[kvs_standin.KvsStandIn, ServerHandle]]:
    app = kvs_standin.create_app(KVS_ARN)
    handle = serve_in_thread(app, name="kvs")
    try:
        yield app.state.kvs, handle
    finally:
        handle.stop()


@pytest.fixture
def s3_hosting(aws_env, kvs_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Hosting]:
    # The KVS client finds the stand-in through the standard variable, as the agent's would.
    loopback = urlsplit(kvs_server[1].url).netloc
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE", kvs_standin.endpoint_url(kvs_server[1].url)
    )
    # moto in-process, not ThreadedMotoServer: server mode needs moto[server] (flask), which the
    # dev group does not install. mock_aws sees every botocore request, so the stand-in's URL is
    # passed through explicitly and only S3 may be mocked: a KVS call moto tried to answer would
    # fail loudly instead of being faked.
    config: dict = {
        "core": {
            "mock_credentials": False,  # keep aws_env's credentials
            "passthrough": {"urls": [rf"http://[^/]*@{re.escape(loopback)}/"]},
            "reset_boto3_session": True,
            "service_whitelist": ["s3"],
        }
    }
    with mock_aws(config=config):
        # Plain clients, as agent/__main__.py makes them.
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield S3Hosting(BUCKET, KVS_ARN, PUBLIC, s3, boto3.client("cloudfront-keyvaluestore"))


@pytest.fixture
def store(kvs_server) -> kvs_standin.KvsStandIn:
    return kvs_server[0]


def ops(store: kvs_standin.KvsStandIn) -> list[tuple[str, str | None]]:
    return [(c["operation"], c.get("error")) for c in store.calls]


def test_s3_publish_uploads_every_file_with_its_caching(
    s3_hosting: S3Hosting, tmp_path: Path
) -> None:
    url = s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    assert url == f"{PUBLIC}/previews/b-a/"
    s3 = s3_hosting.s3
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    expected = [f"builds/b-a/{rel}" for rel in BUILD_A] + [f"builds/b-a/{S3Hosting.COMPLETE}"]
    expected.append(ERROR_PAGE_KEY)  # the friendly 404 page CloudFront's error response shows
    assert sorted(o["Key"] for o in listed) == sorted(expected)
    types = {
        "index.html": "text/html",
        "app.js": "text/javascript",
        "styles/site.css": "text/css",
        "docs/index.html": "text/html",
        "img/logo.svg": "image/svg+xml",
        "data.bin-blob": "application/octet-stream",
    }
    for rel, text in BUILD_A.items():
        obj = s3.get_object(Bucket=BUCKET, Key=f"builds/b-a/{rel}")
        assert obj["ContentType"] == types[rel], rel
        # Long caching only for content-hashed names; these all keep their names across builds.
        assert obj["CacheControl"] == "no-cache", rel
        assert obj["Body"].read().decode() == text
    assert s3_hosting.has_build("b-a")
    assert not s3_hosting.has_build("b-")  # a prefix of an id is not that build


def test_s3_publish_is_once_per_id(s3_hosting: S3Hosting, tmp_path: Path) -> None:
    s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    with pytest.raises(HostingError, match="already published"):
        s3_hosting.publish("b-a", make_build(tmp_path, "b", BUILD_B))
    index = s3_hosting.s3.get_object(Bucket=BUCKET, Key="builds/b-a/index.html")
    assert index["Body"].read().decode() == BUILD_A["index.html"]


def test_s3_live_build_and_promote(s3_hosting: S3Hosting, store, tmp_path: Path) -> None:
    s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    s3_hosting.publish("b-b", make_build(tmp_path, "b", BUILD_B))
    assert s3_hosting.live_build() is None
    assert ops(store) == [("GetKey", "ResourceNotFoundException")]

    etag = store.etag
    assert s3_hosting.promote("b-a") == f"{PUBLIC}/"
    assert store.items == {"production": "b-a"}
    describe, put = store.calls[1:]
    assert describe["operation"] == "DescribeKeyValueStore"
    assert (put["operation"], put["key"], put["value"]) == ("PutKey", "production", "b-a")
    assert put["if_match"] == etag != store.etag  # the ETag it read; the write made a new one
    # Real boto3 signing path: SigV4A through awscrt, sent to the ARN's account endpoint.
    assert {c["auth_scheme"] for c in store.calls} == {SIGV4A}
    assert s3_hosting.live_build() == "b-a"

    s3_hosting.promote("b-b")
    assert s3_hosting.live_build() == "b-b"
    s3_hosting.promote("b-a")  # undo
    assert store.items == {"production": "b-a"}


def test_s3_promote_of_unknown_build_leaves_kvs_alone(s3_hosting: S3Hosting, store) -> None:
    with pytest.raises(HostingError, match="no such published build"):
        s3_hosting.promote("b-missing")
    assert store.calls == []
    assert store.items == {}


def test_stale_etag_is_a_conflict(s3_hosting: S3Hosting, store) -> None:
    kvs = s3_hosting.kvs
    etag = kvs.describe_key_value_store(KvsARN=KVS_ARN)["ETag"]
    store.set_out_of_band("production", "b-other")
    with pytest.raises(kvs.exceptions.ConflictException):
        kvs.put_key(KvsARN=KVS_ARN, Key="production", Value="b-a", IfMatch=etag)
    assert store.items == {"production": "b-other"}


def test_standin_list_and_delete_keys(s3_hosting: S3Hosting, store) -> None:
    kvs = s3_hosting.kvs
    for n in range(3):
        store.set_out_of_band(f"k{n}", f"v{n}")
    pages = kvs.get_paginator("list_keys").paginate(KvsARN=KVS_ARN, MaxResults=2)
    assert [[i["Key"] for i in page["Items"]] for page in pages] == [["k0", "k1"], ["k2"]]
    etag = kvs.describe_key_value_store(KvsARN=KVS_ARN)["ETag"]
    deleted = kvs.delete_key(KvsARN=KVS_ARN, Key="k1", IfMatch=etag)
    assert (deleted["ItemCount"], deleted["ETag"]) == (2, store.etag)
    with pytest.raises(kvs.exceptions.ResourceNotFoundException):
        kvs.delete_key(KvsARN=KVS_ARN, Key="k1", IfMatch=store.etag)
    with pytest.raises(kvs.exceptions.ResourceNotFoundException):
        kvs.describe_key_value_store(KvsARN=KVS_ARN[:-4] + "ffff")
    assert store.items == {"k0": "v0", "k2": "v2"}


def race_on_describe(hosting: S3Hosting, store, times: int) -> list[str]:
    """Another writer gets in between each of the next `times` describes and the put."""
    raced: list[str] = []

    def writer(**_kwargs) -> None:
        if len(raced) < times:
            raced.append(store.set_out_of_band("production", f"b-other-{len(raced)}"))

    hosting.kvs.meta.events.register(
        "after-call.cloudfront-keyvaluestore.DescribeKeyValueStore", writer
    )
    return raced


def test_s3_promote_retries_once_on_conflict(s3_hosting: S3Hosting, store, tmp_path) -> None:
    s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    race_on_describe(s3_hosting, store, times=1)
    s3_hosting.promote("b-a")
    assert store.items == {"production": "b-a"}
    assert ops(store) == [
        ("DescribeKeyValueStore", None),
        ("PutKey", "ConflictException"),
        ("DescribeKeyValueStore", None),
        ("PutKey", None),
    ]


def test_s3_promote_gives_up_after_second_conflict(s3_hosting: S3Hosting, store, tmp_path) -> None:
    s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    race_on_describe(s3_hosting, store, times=2)
    with pytest.raises(HostingError, match="ConflictException"):
        s3_hosting.promote("b-a")
    assert store.items == {"production": "b-other-1"}
    assert [op for op in ops(store) if op[0] == "PutKey"] == [("PutKey", "ConflictException")] * 2


def test_s3_kvs_failure_is_a_hosting_error(s3_hosting: S3Hosting, store, tmp_path) -> None:
    s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    wrong = S3Hosting(BUCKET, KVS_ARN[:-4] + "ffff", PUBLIC, s3_hosting.s3, s3_hosting.kvs)
    with pytest.raises(HostingError, match="ResourceNotFoundException"):
        wrong.promote("b-a")
    assert store.items == {}


# ---------------------------------------------------------------- the CloudFront Function on top


def run_router(workdir: Path, store: dict[str, str], uris: list[str]) -> list[dict]:
    source = (REPO_ROOT / "infra" / "viewer_request.js").read_text(encoding="utf-8")
    return run_viewer_function(workdir, source.replace("__KVS_ID__", "kvs-test"), store, uris)[
        "results"
    ]


@pytest.mark.skipif(NODE is None, reason="node is needed to run the CloudFront Function")
def test_viewer_function_serves_what_s3hosting_published_and_promoted(
    s3_hosting: S3Hosting, store, tmp_path: Path
) -> None:
    s3_hosting.publish("b-a", make_build(tmp_path, "a", BUILD_A))
    s3_hosting.publish("b-b", make_build(tmp_path, "b", BUILD_B))
    nothing = run_router(tmp_path / "before", store.items, ["/"])[0]
    assert nothing["statusCode"] == 503

    s3_hosting.promote("b-b")
    uris = ["/", "/docs/", "/previews/b-a/", "/previews/b-a/styles/site.css"]
    results = run_router(tmp_path / "after", store.items, uris)
    rewritten = [r["uri"] for r in results]
    assert rewritten == [
        "/builds/b-b/index.html",
        "/builds/b-b/docs/index.html",
        "/builds/b-a/index.html",
        "/builds/b-a/styles/site.css",
    ]
    # The origin request is the rewritten URI: each names an object S3Hosting uploaded.
    expected = [BUILD_B["index.html"], BUILD_B["docs/index.html"]]
    expected += [BUILD_A["index.html"], BUILD_A["styles/site.css"]]
    for uri, text in zip(rewritten, expected, strict=True):
        body = s3_hosting.s3.get_object(Bucket=BUCKET, Key=uri.removeprefix("/"))["Body"]
        assert body.read().decode() == text


def test_s3_build_that_failed_halfway_is_not_published(s3_hosting, tmp_path):
    """A failed upload leaves no completion marker, so it is neither previewable nor promotable."""
    hosting = s3_hosting
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "index.html").write_text("<p>half</p>")
    original = hosting.s3.put_object

    def refuse_marker(**kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "throttled"}}, "PutObject")

    hosting.s3.put_object = refuse_marker
    with pytest.raises(HostingError):
        hosting.publish("halfway", folder)
    hosting.s3.put_object = original
    assert not hosting.has_build("halfway")
    with pytest.raises(HostingError):
        hosting.promote("halfway")
    assert hosting.publish("halfway", folder).endswith("/previews/halfway/")  # a retry completes


# ---------------------------------------------------------------- caching, SPA, preview origin


@pytest.mark.parametrize(
    ("name", "long"),
    [
        ("index-D7bDuV68.js", True),  # Vite
        ("index-CrQV-jUO.js", True),  # base64url hashes have "-" and "_" too
        ("workbox-window.prod.es5-Bd17z0YL.js", True),
        ("index-D64VDMd1.css", True),
        ("hero-CLDdwZDr.png", True),  # a hash without digits, mixed case
        ("workbox-2fbc6a65.js", True),
        ("main.3f2a9c1e.chunk.js", True),  # Create React App
        ("main.3f2a9c1e.js", True),  # webpack
        ("index.html", False),
        ("sw.js", False),
        ("service-worker.js", False),
        ("firebase-messaging-sw.js", False),
        ("registerSW.js", False),
        ("manifest.webmanifest", False),
        ("favicon.svg", False),
        ("my-component.js", False),  # a plain word is not a hash
        ("index-abcdefgh.js", False),
    ],
)
def test_only_content_hashed_files_are_cached_for_good(name: str, long: bool) -> None:
    expected = "public, max-age=31536000, immutable" if long else "no-cache"
    assert cache_control(name) == expected


HASHED_BUILD = {
    "index.html": "<!doctype html><script src='/assets/index-D7bDuV68.js'></script>",
    "assets/index-D7bDuV68.js": "document.title = 'v1'",
    "sw.js": "self.addEventListener('fetch', () => {})",
}


def test_s3_hashed_assets_are_immutable_and_spa_is_a_store_key(
    s3_hosting: S3Hosting, store, tmp_path: Path
) -> None:
    s3_hosting.publish("b-spa", make_build(tmp_path, "h", HASHED_BUILD), spa=True)
    s3 = s3_hosting.s3
    head = {
        rel: s3.get_object(Bucket=BUCKET, Key=f"builds/b-spa/{rel}")["CacheControl"]
        for rel in HASHED_BUILD
    }
    assert head == {
        "index.html": "no-cache",
        "assets/index-D7bDuV68.js": IMMUTABLE,
        "sw.js": "no-cache",
    }
    page = s3.get_object(Bucket=BUCKET, Key=ERROR_PAGE_KEY)
    assert page["ContentType"].startswith("text/html")
    assert "Page not found" in page["Body"].read().decode()
    assert s3_hosting.kvs.get_key(KvsARN=KVS_ARN, Key="spa:b-spa")["Value"] == "1"
    s3_hosting.publish("b-plain", make_build(tmp_path, "p", HASHED_BUILD))
    with pytest.raises(s3_hosting.kvs.exceptions.ResourceNotFoundException):
        s3_hosting.kvs.get_key(KvsARN=KVS_ARN, Key="spa:b-plain")


def test_local_preview_origin_deep_links_spa_and_friendly_404(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site = serve_in_thread(site_server.create_app(site_dir), name="site")
    previews = serve_in_thread(site_server.create_app(site_dir, "previews"), name="previews")
    try:
        hosting = LocalHosting(site_dir, site.url, previews.url)
        spa_url = hosting.publish("b-spa", make_build(tmp_path, "s", HASHED_BUILD), spa=True)
        plain_url = hosting.publish("b-plain", make_build(tmp_path, "p", BUILD_B))
        assert spa_url == f"{previews.url}/previews/b-spa/"
        hosting.promote("b-plain")
        with httpx.Client(follow_redirects=True) as browser:
            deep = browser.get(spa_url + "crew/today")
            assert str(deep.url) == f"{previews.url}/crew/today"  # the app sees its own path
            assert deep.text == HASHED_BUILD["index.html"]
            asset = browser.get(f"{previews.url}/assets/index-D7bDuV68.js")
            assert asset.headers["cache-control"] == IMMUTABLE
            missing = browser.get(f"{previews.url}/assets/gone.js")
            assert missing.status_code == 404 and "Page not found" in missing.text
            # Production is untouched by the preview cookie, and has no SPA fallback.
            assert browser.get(f"{site.url}/").text == BUILD_B["index.html"]
            assert browser.get(f"{site.url}/crew").status_code == 404
            # Opening another preview switches this browser's preview origin to it.
            assert browser.get(plain_url).text == BUILD_B["index.html"]
        stranger = httpx.get(f"{previews.url}/")
        assert stranger.status_code == 404 and "Open your preview" in stranger.text
    finally:
        previews.stop()
        site.stop()
