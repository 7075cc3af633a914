"""Federation: the hub's connectors to partner TAXII servers, run by the hub or beside it.

``runner`` holds one connector's lease and restarts its worker; ``pull`` and
``push`` are the workers; ``partner`` is the partner TAXII server's client;
``endpoints`` are where a worker reads and writes (the hub's store through the
one ingest path, or a remote hub over HTTP); ``routes`` reports them to admins.
"""
