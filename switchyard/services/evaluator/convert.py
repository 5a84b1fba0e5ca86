"""Pure conversions between the evaluator's protobuf messages and its core's dataclasses."""

from __future__ import annotations

from switchyard.evaluator.v1 import evaluator_pb2 as pb
from switchyard.services.evaluator.books import DeploymentSegments, Report
from switchyard.services.evaluator.core import Feedback, Sample
from switchyard.services.evaluator.stats import Estimate


def sample_of(message: pb.Sample) -> Sample:
    shadow = (message.shadow.target, message.shadow.answer) if message.HasField("shadow") else None
    return Sample(
        request_id=message.request_id,
        deployment_id=message.deployment_id,
        model=message.model,
        fingerprint=message.system_fingerprint,
        experiment=message.experiment,
        arm=message.arm,
        prompt=message.prompt,
        answer=message.answer,
        status=message.status,
        cost_usd=message.cost_usd,
        latency_ms=message.latency_ms,
        time_ms=message.time_ms,
        shadow=shadow,
        trace_id=message.trace_id,
        category=message.category,
    )


def feedback_of(message: pb.Feedback) -> Feedback:
    return Feedback(
        message.request_id,
        message.score,
        message.comment,
        message.deployment_id,
        message.model,
        message.experiment,
        message.arm,
        message.trace_id,
    )


def estimate_to(estimate: Estimate | None) -> pb.Estimate:
    if estimate is None:
        return pb.Estimate()
    return pb.Estimate(mean=estimate.mean, low=estimate.low, high=estimate.high, count=estimate.count)


def report_to(report: Report) -> pb.GetExperimentReportResponse:
    reply = pb.GetExperimentReportResponse(name=report.name, verdict=report.verdict)
    for arm in report.arms:
        reply.arms.append(
            pb.ArmReport(
                arm=arm.name,
                samples=arm.samples,
                judge=estimate_to(arm.judge),
                feedback=estimate_to(arm.feedback),
                cost_usd=estimate_to(arm.cost),
                latency_ms=estimate_to(arm.latency),
                error_rate=estimate_to(arm.error_rate),
            )
        )
    for target, (wins, losses, ties) in sorted(report.shadows.items()):
        reply.shadows.append(pb.ShadowReport(target=target, wins=wins, losses=losses, ties=ties))
    if report.difference is not None:
        reply.judge_difference.CopyFrom(estimate_to(report.difference))
        reply.significant = report.difference.excludes_zero()
    return reply


def quality_to(deployments: list[DeploymentSegments], experiments: list[str]) -> pb.GetQualityResponse:
    reply = pb.GetQualityResponse(experiments=experiments)
    for deployment_id, segments in deployments:
        entry = reply.deployments.add(deployment_id=deployment_id)
        for segment in segments:
            entry.segments.append(
                pb.QualitySegment(
                    model=segment.model,
                    system_fingerprint=segment.fingerprint,
                    started_ms=segment.started_ms,
                    judge=estimate_to(segment.judge),
                    feedback=estimate_to(segment.feedback),
                    alerts=segment.alerts,
                    alert_ms=segment.alerts_ms,
                    hours=[
                        pb.ScoreBucket(
                            start_ms=h.start_ms,
                            judge_mean=h.judge_mean,
                            judge_count=h.judge_count,
                            feedback_mean=h.feedback_mean,
                            feedback_count=h.feedback_count,
                        )
                        for h in segment.hours
                    ],
                )
            )
    return reply
