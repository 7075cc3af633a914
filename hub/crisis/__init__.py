"""The crisis workflow: crises, situation updates, sitreps, acknowledgments, action items.

``model`` builds and reads the STIX objects (pure); ``service`` stores and
queries them through the same ingest path and policy as everything else;
``sitrep`` renders a briefing and ``wording`` says times and names as people
hear them (both pure); ``routes`` is the HTTP API;
``escalation`` raises overdue action items.
"""
