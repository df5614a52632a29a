"""Previews and production: a private bucket behind CloudFront, production switched by a KeyValueStore key."""

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


def viewer_request_code(kvs_id: str) -> str:
    """The router function's source with the KeyValueStore id filled in."""
    source = (INFRA_DIR / "viewer_request.js").read_text(encoding="utf-8")
    return source.replace("__KVS_ID__", kvs_id)


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
        self.router = cloudfront.Function(
            self,
            "Router",
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            key_value_store=self.production_store,
            code=cloudfront.FunctionCode.from_inline(
                viewer_request_code(self.production_store.key_value_store_id)
            ),
            comment="Shipit: previews/<id>/ and production to builds/<id>/",
        )
        router = [
            cloudfront.FunctionAssociation(
                function=self.router, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
            )
        ]

        # The cache key is the rewritten URI (builds/<id>/...), and a build never changes, so
        # edge copies may live a year. No cookies, headers or query strings: static files.
        cache_policy = cloudfront.CachePolicy(
            self,
            "ImmutableBuilds",
            comment="Shipit builds are immutable: cache by rewritten path only",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.days(1),
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
        # Production URLs stay the same while what they serve changes, so browsers must
        # revalidate them (a cheap 304 from the edge); otherwise a phone that cached
        # /index.html would keep showing the old release after "ship it" or "undo".
        production_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "ProductionHeaders",
            comment="Shipit production: security headers, browsers revalidate",
            security_headers_behavior=security_headers,
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Cache-Control", value="no-cache", override=True
                    )
                ]
            ),
        )
        # A preview URL names its build, so browsers may keep the build's own long caching.
        preview_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "PreviewHeaders",
            comment="Shipit previews: security headers",
            security_headers_behavior=security_headers,
        )

        origin = origins.S3BucketOrigin.with_origin_access_control(self.bucket)

        def behaviour(headers: cloudfront.IResponseHeadersPolicy) -> cloudfront.BehaviorOptions:
            # Previews and production differ only in what browsers may cache (the headers).
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cache_policy,
                response_headers_policy=headers,
                function_associations=router,
                compress=True,
            )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Shipit previews and production",
            default_behavior=behaviour(production_headers),
            additional_behaviors={"/previews/*": behaviour(preview_headers)},
            # North America and Europe edges only: the cheapest class; others still get served.
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
        )
        acknowledge(
            self.distribution,
            "CFR1",
            "Previews and the owner's web app are meant for anyone the owner sends the link to; "
            "there is no country to exclude.",
        )
        acknowledge(
            self.distribution,
            "CFR2",
            "Static files only, no forms or APIs behind this distribution; a WAF web ACL would "
            "cost more per month than the whole idle stack and protect nothing here.",
        )
        acknowledge(
            self.distribution,
            "CFR4",
            "Uses the default *.cloudfront.net certificate (no custom domain), whose TLS policy "
            "CloudFront fixes; viewers are still HTTPS-only.",
        )

    @property
    def public_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

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
