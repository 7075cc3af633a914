"""Tests of hub.plans: the national crisis plan as CACAO playbooks."""
