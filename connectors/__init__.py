"""Crisis Hub connectors: the institution client, bundle import, TAXII pull and push."""
