"""Previews and production: a private bucket behind two CloudFront distributions, one per origin.

Production has its own distribution, previews another (the preview origin, see
infra/viewer_request.js): a preview runs at the same paths as production, so apps with absolute
asset paths and client-side routers work, and browsers keep the two apart (service workers,
storage, cookies). Both serve the same immutable `builds/<id>/` objects.

Why not route a preview's absolute-path requests by their Referer on one origin: the app's
client-side router would still see `/previews/<id>/…` instead of its own routes; a stylesheet's
or module's own imports carry that file's URL as Referer, not the page's; production's service
worker (scope `/`) would answer preview navigations from its cache; and a preview's worker
registered at `/sw.js` would take over production pages. A second origin avoids all four by
browser rules rather than header heuristics, and needs no domain: the preview is picked by a
cookie that the preview link sets. Previews can never install a worker there (the function
refuses `Service-Worker: script` requests), since all previews share that origin.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.buckets import private_bucket
from infra.config import INFRA_DIR
from infra.nag import acknowledge

BUILDS_PREFIX = "builds/"
# The friendly 404 page agent/hosting.py uploads (ERROR_PAGE_KEY), served for missing files.
ERROR_PAGE = "/builds/_shipit-errors/404.html"


def viewer_request_code(kvs_id: str, mode: str = "site") -> str:
    """The router function's source with the KeyValueStore id and mode ("site"/"previews")."""
    source = (INFRA_DIR / "viewer_request.js").read_text(encoding="utf-8")
    return source.replace("__KVS_ID__", kvs_id).replace("__MODE__", mode)


class Hosting(Construct):
    """Site bucket, production KeyValueStore, router function, cache policies, distribution."""

    def __init__(self, scope: Construct, construct_id: str, *, log_bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)

        # Every build ever published, each under builds/<id>/. They are kept: production is a
        # pointer to one of them, and undo points it back at an earlier one.
        self.bucket = private_bucket(
            self, "SiteBucket", log_bucket=log_bucket, log_prefix="site-bucket/"
        )

        # Holds one key, "production": the build id the world sees. The agent rewrites it.
        self.production_store = cloudfront.KeyValueStore(
            self, "ProductionStore", comment="Shipit: key 'production' = live build id"
        )
        self.routers: dict[str, cloudfront.Function] = {}

        def router(name: str, mode: str) -> list[cloudfront.FunctionAssociation]:
            function = cloudfront.Function(
                self,
                name,
                runtime=cloudfront.FunctionRuntime.JS_2_0,
                key_value_store=self.production_store,
                code=cloudfront.FunctionCode.from_inline(
                    viewer_request_code(self.production_store.key_value_store_id, mode)
                ),
                comment=f"Shipit: {mode} origin to builds/<id>/",
            )
            self.routers[mode] = function
            return [
                cloudfront.FunctionAssociation(
                    function=function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ]

        # The cache key is the rewritten URI (builds/<id>/...), and a build never changes, so
        # edge copies live a year whatever the objects tell browsers (HTML says no-cache, so
        # browsers revalidate; hence the minimum). No cookies, headers or query strings: the
        # function has already turned the preview cookie into the path.
        cache_policy = cloudfront.CachePolicy(
            self,
            "ImmutableBuilds",
            comment="Shipit builds are immutable: cache by rewritten path only",
            min_ttl=Duration.days(365),
            default_ttl=Duration.days(365),
            max_ttl=Duration.days(365),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        security_headers = cloudfront.ResponseSecurityHeadersBehavior(
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.days(365), include_subdomains=True, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                override=True,
            ),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.SAMEORIGIN, override=True
            ),
        )
        # Browsers get each object's own Cache-Control (agent/hosting.py): a year for
        # content-hashed files, no-cache for HTML, service workers and other stable names, so
        # "ship it" and "undo" reach a phone on its next visit.
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Shipit: security headers; objects keep their own caching",
            security_headers_behavior=security_headers,
        )
        origin = origins.S3BucketOrigin.with_origin_access_control(self.bucket)

        def behaviour(function: list | None) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cache_policy,
                response_headers_policy=headers,
                function_associations=function,
                compress=True,
            )

        # S3 answers 403 for a missing key (no list permission): show the friendly page. The
        # page's own path bypasses the router, which would otherwise look for it in a build.
        errors = [
            cloudfront.ErrorResponse(
                http_status=status,
                response_http_status=404,
                response_page_path=ERROR_PAGE,
                ttl=Duration.seconds(10),
            )
            for status in (403, 404)
        ]

        def distribution(name: str, router_id: str, mode: str, comment: str):
            made = cloudfront.Distribution(
                self,
                name,
                comment=comment,
                default_behavior=behaviour(router(router_id, mode)),
                additional_behaviors={"/builds/_shipit-errors/*": behaviour(None)},
                error_responses=errors,
                # North America and Europe edges only: the cheapest class; others still served.
                price_class=cloudfront.PriceClass.PRICE_CLASS_100,
                http_version=cloudfront.HttpVersion.HTTP2_AND_3,
                enable_logging=True,
                log_bucket=log_bucket,
                log_file_prefix=f"cloudfront-{mode}/",
            )
            self._acknowledge(made)
            return made

        self.distribution = distribution("Distribution", "Router", "site", "Shipit production")
        self.previews = distribution("Previews", "PreviewsRouter", "previews", "Shipit previews")

    def _acknowledge(self, distribution: cloudfront.Distribution) -> None:
        acknowledge(
            distribution,
            "CFR1",
            "Previews and the owner's web app are meant for anyone the owner sends the link to; "
            "there is no country to exclude.",
        )
        acknowledge(
            distribution,
            "CFR2",
            "Static files only, no forms or APIs behind this distribution; a WAF web ACL would "
            "cost more per month than the whole idle stack and protect nothing here.",
        )
        acknowledge(
            distribution,
            "CFR4",
            "Uses the default *.cloudfront.net certificate (no custom domain), whose TLS policy "
            "CloudFront fixes; viewers are still HTTPS-only.",
        )

    @property
    def public_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

    @property
    def previews_url(self) -> str:
        return f"https://{self.previews.distribution_domain_name}"

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """Upload builds, check they exist, and switch production (the agent's hosting role)."""
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{BUILDS_PREFIX}*")],
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{BUILDS_PREFIX}*"]}},
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "cloudfront-keyvaluestore:DescribeKeyValueStore",
                    "cloudfront-keyvaluestore:GetKey",
                    "cloudfront-keyvaluestore:PutKey",
                ],
                resources=[self.production_store.key_value_store_arn],
            )
        )
