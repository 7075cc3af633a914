"""The live stream: WebSocket delivery of events with gap-free resume.

Pure, no I/O: ``protocol`` parses and builds messages; ``session`` is one
connection's protocol as a state machine (messages in, actions out) and a
subscription's replay; ``plan`` decides who gets which frames of a batch.
The aiohttp side carries them out: ``fanout`` is the one store subscription
per hub process and the dispatcher; ``connection`` is one client's bounded
queue, writer task and replays; ``handler`` is the endpoint.
"""
