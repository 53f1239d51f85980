"""The duty books (SPEC §11 v3): roster and on-duty routing, rounds, handover, work orders,
food samples and visitors, kept as append-only, hash-chained records."""
