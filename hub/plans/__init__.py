"""National crisis plans: CACAO 2.0 playbooks the hub checks, stores as STIX course-of-action objects, and runs."""
