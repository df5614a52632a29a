"""Publish a build once, then switch production between published builds (S3 or local folders).

Both backends share one layout (AGENTS.md): builds live at `builds/<id>/`, a preview is served at
`<public>/previews/<id>/`, and production at `<public>/` serves whichever build id the one
`production` value names. Promotion and undo only switch that value: nothing is rebuilt or
re-uploaded, so production is exactly the build the requester looked at.
"""

from __future__ import annotations

import json
import mimetypes
import shutil
from pathlib import Path
from typing import Protocol

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from agent.state import write_json_atomic


class HostingError(Exception):
    """Publishing or switching production failed."""

    def __init__(self, build_id: str, problem: str) -> None:
        super().__init__(f"build {build_id}: {problem}")
        self.build_id = build_id
        self.problem = problem


class Hosting(Protocol):
    def publish(self, build_id: str, folder: Path) -> str: ...
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

    def preview_url(self, build_id: str) -> str:
        return f"{self.public_url}/previews/{build_id}/"

    @property
    def production_url(self) -> str:
        return f"{self.public_url}/"


class LocalHosting(_Urls):
    """Builds in a local folder, served by local/site_server.py."""

    def __init__(self, site_dir: Path, public_url: str) -> None:
        self.site_dir = site_dir
        self.public_url = public_url.rstrip("/")

    def publish(self, build_id: str, folder: Path) -> str:
        _files(folder)
        target = self.site_dir / "builds" / build_id
        if target.exists():
            raise HostingError(build_id, "a build with this id is already published")
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

    def __init__(self, bucket: str, kvs_arn: str, public_url: str, s3, kvs) -> None:
        self.bucket = bucket
        self.kvs_arn = kvs_arn
        self.public_url = public_url.rstrip("/")
        self.s3 = s3
        self.kvs = kvs

    def publish(self, build_id: str, folder: Path) -> str:
        files = _files(folder)
        # Builds are cached as immutable: re-uploading an id could mix two builds' files.
        if self.has_build(build_id):
            raise HostingError(build_id, "a build with this id is already published")
        try:
            self._upload(build_id, folder, files)
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
                ExtraArgs={
                    "ContentType": content_type,
                    # A build never changes after upload, so caches may keep it for good.
                    "CacheControl": "public, max-age=31536000, immutable",
                },
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
            try:
                self._put_production(build_id)
            except self.kvs.exceptions.ConflictException:
                # The ETag only guards against a concurrent writer; we mean to set the key
                # whatever it holds now, so one retry with a fresh ETag is safe.
                self._put_production(build_id)
        except (ClientError, BotoCoreError) as exc:
            # Callers handle HostingError (ship has already pushed main when this runs).
            raise HostingError(build_id, f"could not switch production: {exc}") from exc
        return self.production_url

    def _put_production(self, build_id: str) -> None:
        etag = self.kvs.describe_key_value_store(KvsARN=self.kvs_arn)["ETag"]
        self.kvs.put_key(KvsARN=self.kvs_arn, Key=self.KEY, Value=build_id, IfMatch=etag)

    def live_build(self) -> str | None:
        try:
            return self.kvs.get_key(KvsARN=self.kvs_arn, Key=self.KEY)["Value"]
        except self.kvs.exceptions.ResourceNotFoundException:
            return None
