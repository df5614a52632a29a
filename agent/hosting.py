"""Publish a build once, then switch production between published builds (S3 or local folders).

Both backends share one layout (AGENTS.md): builds live at `builds/<id>/`, a preview is served at
`<public>/previews/<id>/`, and production at `<public>/` serves whichever build id the one
`production` value names. Promotion and undo only switch that value: nothing is rebuilt or
re-uploaded, so production is exactly the build the requester looked at.

With a preview origin (SHIPIT_PREVIEW_URL), a preview is opened at
`<preview origin>/previews/<id>/`, which sets a cookie and serves the build at the same paths it
has in production (see infra/viewer_request.js). Browsers keep content-hashed files for good
and revalidate everything else (HTML, service workers, manifests) on every visit, so a switch
of production reaches an installed app on its next visit.
"""

from __future__ import annotations

import json
import mimetypes
import re
import shutil
from pathlib import Path
from typing import Protocol

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from agent.state import write_json_atomic

# A bundler's content hash in a file name: Vite/Rollup's 8 base64url characters after "-"
# (`index-CrQV-jUO.js`), or webpack/CRA's hex after "." (`main.3f2a9c1e[.chunk].js`). The Vite
# form also needs a digit or both cases: a plain word is not a hash, and a false match would
# pin a file whose content changes under the same name for a year.
ROLLUP_HASH = re.compile(r"-([A-Za-z0-9_-]{8})\.[A-Za-z0-9]+$")
HEX_HASH = re.compile(r"\.[a-f0-9]{8,32}(?:\.chunk)?\.[A-Za-z0-9]+$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# The friendly page CloudFront's error response serves for missing files (S3 answers 403).
ERROR_PAGE_KEY = "builds/_shipit-errors/404.html"
# The router's own not-found page (infra/viewer_request.js; a test keeps the two equal).
NOT_FOUND_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Page not found</title>"
    "<style>body{font-family:system-ui,sans-serif;margin:3rem;color:#333}</style></head>"
    "<body><h1>Page not found</h1><p>There is nothing at this address.</p></body></html>"
)


def cache_control(name: str) -> str:
    """Long caching only for content-hashed files; HTML and service workers always revalidate."""
    if name.endswith((".html", ".htm")) or "sw" in name.lower().split(".")[0].split("-"):
        return REVALIDATE
    if "service-worker" in name.lower() or "serviceworker" in name.lower():
        return REVALIDATE
    if HEX_HASH.search(name):
        return IMMUTABLE
    found = ROLLUP_HASH.search(name)
    if not found:
        return REVALIDATE
    tag = found.group(1)
    mixed = tag.lower() != tag and tag.upper() != tag
    return IMMUTABLE if mixed or any(c.isdigit() for c in tag) else REVALIDATE


class HostingError(Exception):
    """Publishing or switching production failed."""

    def __init__(self, build_id: str, problem: str) -> None:
        super().__init__(f"build {build_id}: {problem}")
        self.build_id = build_id
        self.problem = problem


class Hosting(Protocol):
    def publish(self, build_id: str, folder: Path, spa: bool = False) -> str: ...
    def promote(self, build_id: str) -> str: ...
    def live_build(self) -> str | None: ...
    def has_build(self, build_id: str) -> bool: ...
    def preview_url(self, build_id: str) -> str: ...
    @property
    def production_url(self) -> str: ...


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise HostingError(folder.name, f"build output folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise HostingError(folder.name, f"build output folder {folder} is empty")
    return files


class _Urls:
    public_url: str
    previews_url: str = ""  # the preview origin; without one, previews share production's

    def preview_url(self, build_id: str) -> str:
        return f"{self.previews_url or self.public_url}/previews/{build_id}/"

    @property
    def production_url(self) -> str:
        return f"{self.public_url}/"


class LocalHosting(_Urls):
    """Builds in a local folder, served by local/site_server.py."""

    def __init__(self, site_dir: Path, public_url: str, previews_url: str = "") -> None:
        self.site_dir = site_dir
        self.public_url = public_url.rstrip("/")
        self.previews_url = previews_url.rstrip("/")

    @staticmethod
    def spa_marker(site_dir: Path, build_id: str) -> Path:
        """Beside the build, not in it: the published folder stays exactly the build."""
        return site_dir / "spa" / build_id

    def publish(self, build_id: str, folder: Path, spa: bool = False) -> str:
        _files(folder)
        target = self.site_dir / "builds" / build_id
        if target.exists():
            raise HostingError(build_id, "a build with this id is already published")
        if spa:
            marker = self.spa_marker(self.site_dir, build_id)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("1")
        staging = target.with_name(f".{build_id}.staging")
        try:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(folder, staging)
            staging.rename(target)  # appears whole or not at all
        except OSError as exc:  # a full disk, a read-only or broken site folder
            raise HostingError(
                build_id, f"could not write the build into the site folder ({exc.strerror})"
            ) from exc
        return self.preview_url(build_id)

    def has_build(self, build_id: str) -> bool:
        return (self.site_dir / "builds" / build_id).is_dir()

    def promote(self, build_id: str) -> str:
        if not self.has_build(build_id):
            raise HostingError(build_id, "no such published build")
        write_json_atomic(self.site_dir / "production.json", {"build_id": build_id})
        return self.production_url

    def live_build(self) -> str | None:
        path = self.site_dir / "production.json"
        return json.loads(path.read_text())["build_id"] if path.exists() else None


class S3Hosting(_Urls):
    """Builds in S3 behind CloudFront; the live build id is a CloudFront KeyValueStore key."""

    KEY = "production"
    COMPLETE = ".shipit-complete"

    def __init__(
        self, bucket: str, kvs_arn: str, public_url: str, s3, kvs, previews_url: str = ""
    ) -> None:
        self.bucket = bucket
        self.kvs_arn = kvs_arn
        self.public_url = public_url.rstrip("/")
        self.previews_url = previews_url.rstrip("/")
        self.s3 = s3
        self.kvs = kvs

    def publish(self, build_id: str, folder: Path, spa: bool = False) -> str:
        files = _files(folder)
        # Builds are cached as immutable: re-uploading an id could mix two builds' files.
        if self.has_build(build_id):
            raise HostingError(build_id, "a build with this id is already published")
        try:
            self._upload(build_id, folder, files)
            self._put_error_page()
            if spa:  # read by the router before the build can be visited
                self._put_key(f"spa:{build_id}", "1")
            # Written last: a build that failed halfway is never taken for a published one.
            self.s3.put_object(Bucket=self.bucket, Key=self._marker(build_id), Body=b"")
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise HostingError(build_id, f"upload failed: {exc}") from exc
        return self.preview_url(build_id)

    def _marker(self, build_id: str) -> str:
        return f"builds/{build_id}/{self.COMPLETE}"

    def _upload(self, build_id: str, folder: Path, files: list[Path]) -> None:
        for path in files:
            key = f"builds/{build_id}/{path.relative_to(folder).as_posix()}"
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.s3.upload_file(
                str(path),
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type, "CacheControl": cache_control(path.name)},
            )

    def _put_error_page(self) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=ERROR_PAGE_KEY,
            Body=NOT_FOUND_PAGE.encode(),
            ContentType="text/html; charset=utf-8",
            CacheControl=REVALIDATE,
        )

    def has_build(self, build_id: str) -> bool:
        listed = self.s3.list_objects_v2(
            Bucket=self.bucket, Prefix=self._marker(build_id), MaxKeys=1
        )
        return bool(listed.get("KeyCount"))

    def promote(self, build_id: str) -> str:
        if not self.has_build(build_id):
            raise HostingError(build_id, "no such published build")
        try:
            self._put_key(self.KEY, build_id)
        except (ClientError, BotoCoreError) as exc:
            # Callers handle HostingError (ship has already pushed main when this runs).
            raise HostingError(build_id, f"could not switch production: {exc}") from exc
        return self.production_url

    def _put_key(self, key: str, value: str) -> None:
        try:
            self._put_key_once(key, value)
        except self.kvs.exceptions.ConflictException:
            # The ETag only guards against a concurrent writer; we mean to set the key
            # whatever it holds now, so one retry with a fresh ETag is safe.
            self._put_key_once(key, value)

    def _put_key_once(self, key: str, value: str) -> None:
        etag = self.kvs.describe_key_value_store(KvsARN=self.kvs_arn)["ETag"]
        self.kvs.put_key(KvsARN=self.kvs_arn, Key=key, Value=value, IfMatch=etag)

    def live_build(self) -> str | None:
        try:
            return self.kvs.get_key(KvsARN=self.kvs_arn, Key=self.KEY)["Value"]
        except self.kvs.exceptions.ResourceNotFoundException:
            return None
