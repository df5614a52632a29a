"""The VPC the runtime lives in: private subnets, one NAT for egress, and the runtime's security group."""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.rules import require_region
from infra.zones import AGENTCORE_AZ_IDS, SOURCE, ZONE_COUNT


class Network(Construct):
    """Two AZs by ID, private subnets with a single NAT gateway, flow logs of rejected traffic.

    `zone_ids`: two AZ IDs fixed at synth (an override, or the table entry of the region known
    at synth); None places by the deploy region's row of the table, looked up by CloudFormation.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, zone_ids: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(scope, construct_id)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=ZONE_COUNT,
            # One NAT gateway, not one per AZ: it is the largest idle cost of the whole stack, and
            # an AZ outage only delays a chat's reply; nothing is lost (Telegram retries).
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
            ],
            # The default security group of a new VPC allows all traffic between its members.
            restrict_default_security_group=True,
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Rejected traffic only: that is what answers "why can't the agent reach X", at a
        # fraction of the volume (and cost) of logging every accepted flow.
        self.vpc.add_flow_log(
            "RejectedFlows",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        self.private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.zone_ids = list(zone_ids) if zone_ids else self._zones_of_deploy_region()
        self._place_by_zone_id()

        # Nothing may connect to the runtime (AgentCore reaches it through its own control
        # plane), and it may only open the connections listed here.
        self.runtime_sg = ec2.SecurityGroup(
            self,
            "RuntimeSecurityGroup",
            vpc=self.vpc,
            description="Shipit agent runtime: HTTPS, SSH to git hosts, NFS to its workspace",
            allow_all_outbound=False,
        )
        # HTTPS to anywhere: Bedrock, Secrets Manager, S3, CloudFront KeyValueStore, Telegram,
        # GitHub over HTTPS and the npm registry. These are public AWS and SaaS endpoints whose
        # addresses change, so no narrower CIDR stays correct.
        self.runtime_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs, Telegram, GitHub, npm"
        )
        # SSH for `git push` with the deploy key; GitHub publishes its ranges but they change.
        self.runtime_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(22), "git over SSH with the deploy key"
        )
        self._retain_what_agentcore_holds()

    def _zones_of_deploy_region(self) -> list[str]:
        """The table as a CloudFormation mapping, so one template places correctly per region."""
        mapping = CfnMapping(
            self,
            "AgentCoreZones",
            mapping={
                region: {f"Zone{i}": ids[i] for i in range(ZONE_COUNT)}
                for region, ids in AGENTCORE_AZ_IDS.items()
            },
        )
        # A region missing from the table stops the deploy before anything is created.
        require_region(
            self,
            "SupportedRegion",
            AGENTCORE_AZ_IDS,
            "Shipit does not know which Availability Zones AgentCore Runtime "
            f"supports in this region (see {SOURCE}); redeploy with "
            "-c availabilityZoneIds=<id1>,<id2> or use a listed region.",
        )
        return [mapping.find_in_map(Aws.REGION, f"Zone{i}") for i in range(ZONE_COUNT)]

    def _place_by_zone_id(self) -> None:
        """Subnets by AZ ID: AgentCore accepts IDs, and names map to different IDs per account.

        ec2.Vpc only knows names, so each subnet's AvailabilityZone is swapped for the ID of
        its zone (the Vpc builds subnet i of every tier in zone i).
        """
        for tier in (self.vpc.public_subnets, self.vpc.private_subnets):
            assert len(tier) == ZONE_COUNT, "one subnet per zone and tier"
            for subnet, zone_id in zip(tier, self.zone_ids, strict=True):
                cfn: ec2.CfnSubnet = subnet.node.default_child  # type: ignore[assignment]
                cfn.add_property_deletion_override("AvailabilityZone")
                cfn.availability_zone_id = zone_id

    def _retain_what_agentcore_holds(self) -> None:
        """Teardown completes although AgentCore's ENIs linger for up to 8 hours.

        Those ENIs sit in the private subnets with the runtime's security group and cannot be
        deleted by us (AgentCore manages them), so CloudFormation would fail deleting exactly
        these pieces, and the VPC that holds them. They cost nothing while kept; README's
        teardown section says how to remove them once AgentCore has released its ENIs.
        """
        held = [self.vpc, self.runtime_sg, *self.vpc.private_subnets]
        for construct in held:
            child = construct.node.default_child
            child.apply_removal_policy(RemovalPolicy.RETAIN)  # type: ignore[union-attr]
