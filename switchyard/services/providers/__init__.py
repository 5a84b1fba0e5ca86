"""The providers service: the one place that holds provider credentials and speaks their wire formats."""
