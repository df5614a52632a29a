"""The VPC the runtime lives in: private subnets, one NAT for egress, and the runtime's security group."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct


class Network(Construct):
    """Two AZs, private subnets with a single NAT gateway, flow logs of rejected traffic."""

    def __init__(
        self, scope: Construct, construct_id: str, *, availability_zones: list[str] | None = None
    ) -> None:
        super().__init__(scope, construct_id)

        # AgentCore places its ENIs only in some AZs of each region; without a choice the VPC
        # takes the region's first two, and `-c availabilityZones=a,b` picks supported ones.
        placement = (
            {"availability_zones": availability_zones}
            if availability_zones
            # Two AZs: the S3 Files mount targets and the runtime's ENIs survive one AZ outage.
            else {"max_azs": 2}
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            **placement,
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
