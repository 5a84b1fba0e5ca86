"""The evaluator service: grades sampled answers with a judge model, joins feedback, tracks quality, reports A/B."""
